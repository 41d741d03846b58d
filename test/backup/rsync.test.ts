import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeTree, makeSampleTree } from '../support/backup.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { GUEST_TREE } from '../support/host-files.js';
import { closedPort } from '../support/ports.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { type PrivateRsyncd, startRsyncd } from '../support/rsyncd.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier, engineMissing, hostMissing, qemuMissing } from '../support/tiers.js';

/**
 * The rsync method against real servers on this machine's loopback: OpenSSH's sshd (rsync over
 * ssh, the host key pinned by backup.sftpHostKey) and `rsync --daemon` with a password. A tree
 * with what a backup must keep (sparse file, xattrs, ACL, hard link, fifo, odd owners) is backed
 * up with `lifeboat mkbackuponly` and restored with `lifeboat recover --into`, as a user runs
 * them; the server's directories are read here directly. Then the rescue system (QEMU) does the
 * same with its own rsync, over ssh and to the daemon, both at 10.0.2.2.
 */
const why =
  hostMissing() ??
  (existsSync('/usr/bin/rsync') ? undefined : 'rsync is not installed (ci/setup installs it)');

const PASSWORD = 'rsync-daemon-password-7f3a';
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-rsync-'));
const box = sandbox();
// recover --into outside a rescue system restores this machine's backups: the tree is named so.
const HOST = hostname();
let sshd: PrivateSshd | undefined;
let rsyncd: PrivateRsyncd | undefined;
afterAll(() => {
  sshd?.stop();
  rsyncd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const sshDir = join(scratch, 'ssh-server');
const sshUrl = () => `rsync://root@127.0.0.1:${sshd?.port}${sshDir}`;
const daemonUrl = (password = PASSWORD) =>
  `rsync://${rsyncd?.user}:${password}@127.0.0.1:${rsyncd?.port}::/backups/site`;
const credentials = () => [
  '--set',
  `backup.sftpKey=${JSON.stringify(sshd?.clientKey)}`,
  '--set',
  `backup.sftpHostKey=${sshd?.hostKeyFingerprint}`,
];

function run(command: string, url: string, extra: string[] = []) {
  return lifeboat(
    [command, ...box.sets, '--set', 'backup.method=rsync', '--set', `backup.url=${url}`, ...extra],
    { env: box.env },
  );
}
const backUp = (root: string, url: string, extra: string[] = []) =>
  run('mkbackuponly', url, ['--root', root, ...extra]);
const recoverInto = (into: string, url: string, extra: string[] = []) =>
  run('recover', url, ['--into', into, '--unattended', ...extra]);
/** The backup directories of HOST under a server directory, oldest first. */
const backupsIn = (dir: string) =>
  existsSync(join(dir, HOST)) ? readdirSync(join(dir, HOST)).sort() : [];
const logsText = () =>
  readdirSync(join(box.dir, 'log'))
    .map((name) => readFileSync(join(box.dir, 'log', name), 'utf8'))
    .join('\n');

describeTier('host', why)('backup method rsync (sshd and rsync --daemon on loopback)', () => {
  const tree = join(scratch, 'tree');
  let acl = true;
  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    rsyncd = await startRsyncd(join(scratch, 'rsyncd'), PASSWORD);
    acl = makeSampleTree(tree).acl;
    writeFileSync(join(tree, 'etc', 'hostname'), `${HOST}\n`);
  }, 60_000);

  it('over ssh: backs up the tree, and recover --into restores it the same (owners, modes, xattrs, ACLs, hard links, holes)', async () => {
    const made = await backUp(tree, sshUrl(), credentials());
    expect(made.exitCode, made.all).toBe(0);
    const [id] = backupsIn(sshDir);
    expect(readdirSync(join(sshDir, HOST, id as string)).sort()).toEqual(['backup.json', 'root']);
    const into = join(scratch, 'restored-ssh');
    const restored = await recoverInto(into, sshUrl(), credentials());
    expect(restored.exitCode, restored.all).toBe(0);
    expect(restored.all).toContain(`backup ${id}`);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
    // The 64 MiB sparse file stayed a hole.
    expect(statSync(join(into, 'data', 'sparse.img')).blocks * 512).toBeLessThan(1_048_576);
  }, 180_000);

  it('the next backup links every unchanged file to the one before; backup.keep removes whole older backups', async () => {
    appendFileSync(join(tree, 'etc', 'hostname'), '');
    writeFileSync(join(tree, 'data', 'new.txt'), 'new since the first backup\n');
    const second = await backUp(tree, sshUrl(), credentials());
    expect(second.exitCode, second.all).toBe(0);
    const [first, latest] = backupsIn(sshDir) as [string, string];
    expect(second.all).toContain(`unchanged files linked to ${first}`);
    const inode = (id: string) => statSync(join(sshDir, HOST, id, 'root', 'data', 'xattr.txt')).ino;
    expect(inode(latest)).toBe(inode(first));
    expect(existsSync(join(sshDir, HOST, latest, 'root', 'data', 'new.txt'))).toBe(true);

    const third = await backUp(tree, sshUrl(), [...credentials(), '--set', 'backup.keep=1']);
    expect(third.exitCode, third.all).toBe(0);
    expect(third.all).toContain(`retention: removed ${first}`);
    expect(backupsIn(sshDir)).toHaveLength(2);
    expect(backupsIn(sshDir)).not.toContain(first);
  }, 180_000);

  it('a backup changed on the server is refused by verify, before anything is restored', async () => {
    const latest = backupsIn(sshDir).at(-1) as string;
    // A file of the newest backup replaced (a new inode: the earlier backup's link is untouched).
    const victim = join(sshDir, HOST, latest, 'root', 'data', 'new.txt');
    rmSync(victim);
    writeFileSync(victim, 'tampered\n');
    const into = join(scratch, 'restored-tampered');
    const refused = await recoverInto(into, sshUrl(), credentials());
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain(
      `backup ${latest} of ${HOST} changed on the server since it was made`,
    );
    expect(existsSync(join(into, 'etc'))).toBe(false);
    // An earlier one is still good, chosen by id.
    const earlier = backupsIn(sshDir)[0] as string;
    const chosen = await recoverInto(into, sshUrl(), [...credentials(), '--backup-id', earlier]);
    expect(chosen.exitCode, chosen.all).toBe(0);
  }, 180_000);

  it('a server that shows another host key is refused before anything is written', async () => {
    const before = backupsIn(sshDir);
    const refused = await backUp(tree, sshUrl(), [
      ...credentials(),
      '--set',
      'backup.sftpHostKey=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]);
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain('does not show the host key backup.sftpHostKey names');
    expect(backupsIn(sshDir)).toEqual(before);
  }, 180_000);

  it('to an rsync daemon: backs up and restores the same; the password never reaches a log or the output', async () => {
    const made = await backUp(tree, daemonUrl());
    expect(made.exitCode, made.all).toBe(0);
    const moduleDir = join((rsyncd as PrivateRsyncd).dir, 'site');
    expect(backupsIn(moduleDir)).toHaveLength(1);
    const into = join(scratch, 'restored-daemon');
    const restored = await recoverInto(into, daemonUrl());
    expect(restored.exitCode, restored.all).toBe(0);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
    expect(`${made.all}\n${restored.all}\n${logsText()}`).not.toContain(PASSWORD);
  }, 180_000);

  it('a wrong password, and a server that does not answer: one sentence, exit 1, nothing written', async () => {
    const moduleDir = join((rsyncd as PrivateRsyncd).dir, 'site');
    const before = backupsIn(moduleDir);
    const wrong = await backUp(tree, daemonUrl('not-the-password'));
    expect(wrong.exitCode, wrong.all).toBe(1);
    expect(wrong.all).toContain('the server refused the login');
    expect(wrong.all).not.toMatch(/internal error|\n\s+at /);
    expect(backupsIn(moduleDir)).toEqual(before);

    const port = await closedPort();
    const silent = await backUp(tree, `rsync://lifeboat@127.0.0.1:${port}::/backups/site`);
    expect(silent.exitCode, silent.all).toBe(1);
    expect(silent.all).toContain('the server does not answer');
  }, 180_000);
});

/** The rescue system's part: a small tree backed up and restored over each transport. */
const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
for transport in ssh daemon; do
  lifeboat mkbackuponly --root $tree -c /tmp/in/$transport.yaml >$transport-backup.log 2>&1
  echo $? >$transport-backup.exit
  lifeboat recover --into /tmp/restored-$transport --unattended -c /tmp/in/$transport.yaml >$transport-recover.log 2>&1
  echo $? >$transport-recover.exit
  fingerprint /tmp/restored-$transport >$transport.fp
done
# The daemon's password, looked for in every log lifeboat wrote.
grep -rlF -f /tmp/in/password /var/log/lifeboat >leaked.txt 2>&1
exit 0
`;

let guest: GuestResult | undefined;
afterAll(() => guest?.dispose());
const guestOut = (name: string) => readFileSync(join((guest as GuestResult).out, name), 'utf8');

describeTier('boot', (await engineMissing()) ?? qemuMissing() ?? why)(
  'backup method rsync in the rescue system (QEMU), over ssh and to a daemon',
  () => {
    beforeAll(async () => {
      sshd ??= await startSshd(mkdtempSync(join(scratch, 'sshd-')));
      rsyncd ??= await startRsyncd(join(scratch, 'rsyncd'), PASSWORD);
      const key = (sshd.clientKey.trimEnd().split('\n') as string[]).map((line) => `    ${line}`);
      guest = await runInRescueGuest({
        disks: [],
        files: {
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
      expect(guest.exitCode, guest.console.slice(-3000)).toBe(0);
    }, 600_000);

    it.each(['ssh', 'daemon'])(
      '%s: mkbackuponly and recover --into in the rescue system, every file the same',
      (transport) => {
        expect(
          guestOut(`${transport}-backup.exit`).trim(),
          guestOut(`${transport}-backup.log`),
        ).toBe('0');
        expect(
          guestOut(`${transport}-recover.exit`).trim(),
          guestOut(`${transport}-recover.log`),
        ).toBe('0');
        expect(guestOut('source.fp')).toContain('usr/blob f 644');
        expect(guestOut(`${transport}.fp`)).toBe(guestOut('source.fp'));
      },
    );

    it('the backups are trees on the servers, and the password is in no log', () => {
      const [host] = readdirSync(join(scratch, 'guest-ssh'));
      const [id] = readdirSync(join(scratch, 'guest-ssh', host as string));
      expect(
        existsSync(join(scratch, 'guest-ssh', host as string, id as string, 'root', 'usr', 'blob')),
      ).toBe(true);
      expect(readdirSync(join((rsyncd as PrivateRsyncd).dir, 'guest'))).toEqual([host]);
      expect(guestOut('leaked.txt')).toBe('');
      for (const transport of ['ssh', 'daemon'])
        expect(
          guestOut(`${transport}-backup.log`) + guestOut(`${transport}-recover.log`),
        ).not.toContain(PASSWORD);
    });
  },
);
