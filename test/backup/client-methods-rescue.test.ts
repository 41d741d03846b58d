import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * The methods whose restore is a program, in the rescue system (QEMU), one guest for all three:
 *
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
 */
const why = (await engineMissing()) ?? qemuMissing();

const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
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
exit 0
`;

const STANDINS = join(ROOT, 'test', 'support', 'standins');

let result: GuestResult | undefined;
afterAll(() => result?.dispose());
const out = (name: string) => readFileSync(join((result as GuestResult).out, name), 'utf8');

describeTier('boot', why)('external, tsm and networker in the rescue system (QEMU)', () => {
  beforeAll(async () => {
    result = await runInRescueGuest({
      disks: [],
      files: {
        dsmc: readFileSync(join(STANDINS, 'dsmc'), 'utf8'),
        recover: readFileSync(join(STANDINS, 'recover'), 'utf8'),
      },
      script: GUEST_SCRIPT,
    });
    expect(result.exitCode, result.console.slice(-3000)).toBe(0);
  }, 600_000);

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
});
