import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { type PrivateRsyncd, startRsyncd } from '../support/rsyncd.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * The backup methods other than netfs, in the rescue system (QEMU), one guest for all of them
 * (netfs's recoveries are the drill's and test/recover/destinations.test.ts's). Each method's
 * behaviour on a host, in detail, is its own test file's; here the rescue system's own programs
 * run them as in a recovery:
 *
 * - rsync: a small tree backed up and restored with the rescue system's rsync, over ssh (this
 *   machine's OpenSSH sshd on loopback, the host key pinned) and to an `rsync --daemon` with a
 *   password, both at 10.0.2.2; the password reaches no log.
 * - external: the site's commands are tar here, as a site would call its own tool.
 *   `lifeboat mkbackuponly` backs a small tree up with external.backup, `lifeboat recover --into`
 *   restores it with external.restore, every file the same; a check that fails (the backup
 *   system does not answer) stops recovery before anything is written, one sentence naming the
 *   key and the program, exit 1. That the capture takes these programs from the host is
 *   test/capture/capture-cli.test.ts's.
 * - tsm and networker: `lifeboat recover --into` runs the vendor's client as on a host, and the
 *   files come back the same. The clients are the STAND-INS of test/support/standins (no IBM
 *   Storage Protect or Dell NetWorker client can exist here), given to the guest as files and
 *   named by tsm.dsmc and networker.recover, serving the guest's small tree.
 *   test/backup/tsm.test.ts and networker.test.ts prove the calls in detail.
 * - requestrestore: `lifeboat recover --into` says the target is ready (the ready file) and
 *   waits; the other side, played by a background job in the guest, restores the tree there with
 *   tar and creates the finished file, and recovery goes on, the tree in place with every file
 *   the same and lifeboat's signal files gone. The abort file gives the recovery up: one
 *   sentence, exit 1. With them, recovery.preScripts (LIFEBOAT_TARGET) and recovery.notifyUrl (a
 *   small HTTP server in the guest hears both results) are tested end to end; the rehearsal runs
 *   no postScripts (no wrapup), the layout tier's recoveries would.
 */
const why =
  (await engineMissing()) ??
  qemuMissing() ??
  (existsSync('/usr/bin/rsync') ? undefined : 'rsync is not installed (ci/setup installs it)');

const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
# rsync, over ssh and to the daemon (files named ssh-* and daemon-*).
for transport in ssh daemon; do
  lifeboat mkbackuponly --root $tree -c /tmp/in/$transport.yaml >$transport-backup.log 2>&1
  echo $? >$transport-backup.exit
  lifeboat recover --into /tmp/restored-$transport --unattended -c /tmp/in/$transport.yaml >$transport-recover.log 2>&1
  echo $? >$transport-recover.exit
  fingerprint /tmp/restored-$transport >$transport.fp
done
# The daemon's password, looked for in every log lifeboat wrote.
grep -rlF -f /tmp/in/password /var/log/lifeboat >leaked.txt 2>&1

mkdir -p /tmp/store
# The site's commands; a later --set of the caller's wins.
external() {
  lifeboat "$1" --set backup.method=external \\
    --set 'external.backup=[tar, -C, "{root}", -cf, "/tmp/store/{hostname}.tar", .]' \\
    --set 'external.restore=[tar, -C, "{target}", -xpf, "/tmp/store/{hostname}.tar"]' \\
    --set 'external.check=[test, -d, /tmp/store]' "\${@:2}"
}
external mkbackuponly --root $tree >backup.log 2>&1; echo $? >backup.exit
external recover --into /tmp/restored --unattended >recover.log 2>&1; echo $? >recover.exit
fingerprint /tmp/restored >restored.fp
# The backup system does not answer: recovery stops at verify, before the target is made.
external recover --into /tmp/never --unattended --set 'external.check=[test, -d, /srv/unreachable]' >refused.log 2>&1
echo $? >refused.exit
[ -e /tmp/never ] && echo yes >never-made.txt

# The vendor clients' stand-ins, each serving the tree as its one filespace or save set.
chmod 755 /tmp/in/dsmc /tmp/in/recover
serve() {
  export STANDIN_DIR=/tmp/standin-$1
  mkdir -p $STANDIN_DIR/store/_
  cp -a $tree/. $STANDIN_DIR/store/_/
  echo / >$STANDIN_DIR/filespaces
  echo 10.0.2.2 >$STANDIN_DIR/server
}
serve tsm
lifeboat recover --into /tmp/restored-tsm --unattended --set backup.method=tsm --set tsm.dsmc=/tmp/in/dsmc >tsm.log 2>&1
echo $? >tsm.exit
cp $STANDIN_DIR/calls tsm.calls
serve networker
lifeboat recover --into /tmp/restored-networker --unattended --set backup.method=networker \\
  --set networker.recover=/tmp/in/recover --set networker.server=10.0.2.2 >networker.log 2>&1
echo $? >networker.exit
cp $STANDIN_DIR/calls networker.calls
for client in tsm networker; do fingerprint /tmp/restored-$client >$client.fp; done

# requestrestore: the other side restores from a tar of the tree (files named rr-*).
tar -C $tree -cf /tmp/other-system.tar .
# A monitoring endpoint for recovery.notifyUrl: each POSTed result is one line of notified.jsonl.
node -e "require('http').createServer((q, s) => { let b = ''; q.on('data', (d) => { b += d; });
  q.on('end', () => { require('fs').appendFileSync('/tmp/out/rr-notified.jsonl', b + '\\n'); s.end('ok'); });
}).listen(8099, '127.0.0.1')" &
notifier=$!
for i in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/8099) 2>/dev/null && break; sleep 0.5; done
requested() {
  lifeboat recover --unattended --set backup.method=requestrestore --set requestrestore.pollSeconds=1 \\
    --set recovery.notifyUrl=http://127.0.0.1:8099/recovered \\
    --set 'recovery.preScripts=[echo "pre $LIFEBOAT_TARGET" >>/tmp/out/rr-pre-scripts.txt]' "$@"
}
# The other side: waits for the ready file, restores, says it is done.
( for i in $(seq 120); do [ -e /tmp/requested/.lifeboat-restore-ready ] && break; sleep 1; done
  cp /tmp/requested/.lifeboat-restore-ready rr-ready.json
  tar -C /tmp/requested -xpf /tmp/other-system.tar
  touch /tmp/requested/.lifeboat-restore-finished ) &
other=$!
requested --into /tmp/requested >rr-recover.log 2>&1; echo $? >rr-recover.exit
wait $other
fingerprint /tmp/requested >rr-restored.fp
# The other side gives up.
( for i in $(seq 120); do [ -e /tmp/given-up/.lifeboat-restore-ready ] && break; sleep 1; done
  touch /tmp/given-up/.lifeboat-restore-abort ) &
other=$!
requested --into /tmp/given-up >rr-abort.log 2>&1; echo $? >rr-abort.exit
wait $other
kill $notifier
exit 0
`;

const STANDINS = join(ROOT, 'test', 'support', 'standins');
const PASSWORD = 'rsync-daemon-password-7f3a';
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-methods-'));

let sshd: PrivateSshd | undefined;
let rsyncd: PrivateRsyncd | undefined;
let result: GuestResult | undefined;
afterAll(() => {
  result?.dispose();
  sshd?.stop();
  rsyncd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});
const out = (name: string) => readFileSync(join((result as GuestResult).out, name), 'utf8');

describeTier('boot', why)('the backup methods in the rescue system (QEMU)', () => {
  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    rsyncd = await startRsyncd(join(scratch, 'rsyncd'), PASSWORD);
    const key = (sshd.clientKey.trimEnd().split('\n') as string[]).map((line) => `    ${line}`);
    result = await runInRescueGuest({
      disks: [],
      files: {
        dsmc: readFileSync(join(STANDINS, 'dsmc'), 'utf8'),
        recover: readFileSync(join(STANDINS, 'recover'), 'utf8'),
        password: `${PASSWORD}\n`,
        'ssh.yaml': [
          'backup:',
          '  method: rsync',
          `  url: rsync://root@10.0.2.2:${sshd.port}${join(scratch, 'guest-ssh')}`,
          `  sftpHostKey: "${sshd.hostKeyFingerprint}"`,
          '  sftpKey: |',
          ...key,
          '',
        ].join('\n'),
        'daemon.yaml': [
          'backup:',
          '  method: rsync',
          `  url: rsync://${rsyncd.user}:${PASSWORD}@10.0.2.2:${rsyncd.port}::/backups/guest`,
          '',
        ].join('\n'),
      },
      script: GUEST_SCRIPT,
    });
    expect(result.exitCode, result.console.slice(-3000)).toBe(0);
  }, 600_000);

  it.each(['ssh', 'daemon'])(
    'rsync, %s: mkbackuponly and recover --into in the rescue system, every file the same',
    (transport) => {
      expect(out(`${transport}-backup.exit`).trim(), out(`${transport}-backup.log`)).toBe('0');
      expect(out(`${transport}-recover.exit`).trim(), out(`${transport}-recover.log`)).toBe('0');
      expect(out('source.fp')).toContain('usr/blob f 644');
      expect(out(`${transport}.fp`)).toBe(out('source.fp'));
    },
  );

  it('rsync: the backups are trees on the servers, and the password is in no log', () => {
    const [host] = readdirSync(join(scratch, 'guest-ssh'));
    const [id] = readdirSync(join(scratch, 'guest-ssh', host as string));
    expect(
      existsSync(join(scratch, 'guest-ssh', host as string, id as string, 'root', 'usr', 'blob')),
    ).toBe(true);
    expect(readdirSync(join((rsyncd as PrivateRsyncd).dir, 'guest'))).toEqual([host]);
    expect(out('leaked.txt')).toBe('');
    for (const transport of ['ssh', 'daemon'])
      expect(out(`${transport}-backup.log`) + out(`${transport}-recover.log`)).not.toContain(
        PASSWORD,
      );
  });

  it('mkbackuponly runs external.backup, recover --into runs external.restore: every file the same', () => {
    expect(out('backup.exit').trim(), out('backup.log')).toBe('0');
    expect(out('recover.exit').trim(), out('recover.log')).toBe('0');
    expect(out('source.fp')).toContain('usr/blob f 644');
    expect(out('restored.fp')).toBe(out('source.fp'));
  });

  it('a failing external.check stops recovery before anything is written: one sentence, exit 1', () => {
    expect(out('refused.exit').trim()).toBe('1');
    expect(out('refused.log')).toContain('external.check: test exited 1');
    expect(out('refused.log')).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(join((result as GuestResult).out, 'never-made.txt'))).toBe(false);
  });

  it('tsm: recover --into runs dsmc restore as on a host, every file the same', () => {
    expect(out('tsm.exit').trim(), out('tsm.log')).toBe('0');
    expect(out('tsm.calls')).toContain(
      'restore / /tmp/restored-tsm/ -subdir=yes -replace=all -tapeprompt=no',
    );
    expect(out('tsm.fp')).toBe(out('source.fp'));
  });

  it('networker: recover --into runs recover -a into the target, every file the same', () => {
    expect(out('networker.exit').trim(), out('networker.log')).toBe('0');
    expect(out('networker.calls')).toMatch(
      /^-s 10\.0\.2\.2 -c \S+ -d \/tmp\/restored-networker -a \/ $/m,
    );
    expect(out('networker.fp')).toBe(out('source.fp'));
  });

  it('requestrestore: recovery waits with the ready file until the other side restored and said so', () => {
    expect(out('rr-recover.exit').trim(), out('rr-recover.log')).toBe('0');
    expect(JSON.parse(out('rr-ready.json'))).toMatchObject({ target: '/tmp/requested' });
    // The ready and finished files are gone: the tree is exactly what was restored.
    expect(out('rr-restored.fp')).toBe(out('source.fp'));
  });

  it('requestrestore: recovery.preScripts run first with LIFEBOAT_TARGET, and recovery.notifyUrl hears each result', () => {
    expect(out('rr-pre-scripts.txt')).toBe('pre /tmp/requested\npre /tmp/given-up\n');
    const results = out('rr-notified.jsonl')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results).toEqual([
      expect.objectContaining({ workflow: 'recover', result: 'succeeded', backupId: 'requested' }),
      expect.objectContaining({
        workflow: 'recover',
        result: 'failed',
        reason: expect.stringContaining('the restore was given up'),
      }),
    ]);
  });

  it('requestrestore: the abort file gives the recovery up: one sentence, exit 1', () => {
    expect(out('rr-abort.exit').trim()).toBe('1');
    expect(out('rr-abort.log')).toContain(
      'the restore was given up: /tmp/given-up/.lifeboat-restore-abort appeared',
    );
    expect(out('rr-abort.log')).not.toMatch(/internal error|\n\s+at /);
  });
});
