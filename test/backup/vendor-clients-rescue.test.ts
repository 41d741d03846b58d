import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * backup.method tsm and networker in the rescue system (QEMU): `lifeboat recover --into` runs the
 * vendor's client as it does on a host, and the files come back the same. The clients are the
 * STAND-INS of test/support/standins (no IBM Storage Protect or Dell NetWorker client can exist
 * here), given to the guest as files and named by tsm.dsmc and networker.recover, serving the
 * guest's small tree. test/backup/tsm.test.ts and networker.test.ts prove the calls in detail.
 */
const STANDINS = join(ROOT, 'test', 'support', 'standins');

const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
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

let guest: GuestResult | undefined;
afterAll(() => guest?.dispose());
const out = (name: string) => readFileSync(join((guest as GuestResult).out, name), 'utf8');

describeTier('boot', (await engineMissing()) ?? qemuMissing())(
  'vendor backup clients in the rescue system (QEMU): TSM and NetWorker, against stand-ins',
  () => {
    beforeAll(async () => {
      guest = await runInRescueGuest({
        disks: [],
        files: {
          dsmc: readFileSync(join(STANDINS, 'dsmc'), 'utf8'),
          recover: readFileSync(join(STANDINS, 'recover'), 'utf8'),
        },
        script: GUEST_SCRIPT,
      });
      expect(guest.exitCode, guest.console.slice(-3000)).toBe(0);
    }, 600_000);

    it('tsm: recover --into runs dsmc restore as on a host, every file the same', () => {
      expect(out('tsm.exit').trim(), out('tsm.log')).toBe('0');
      expect(out('tsm.calls')).toContain(
        'restore / /tmp/restored-tsm/ -subdir=yes -replace=all -tapeprompt=no',
      );
      expect(out('source.fp')).toContain('usr/blob f 644');
      expect(out('tsm.fp')).toBe(out('source.fp'));
    });

    it('networker: recover --into runs recover -a into the target, every file the same', () => {
      expect(out('networker.exit').trim(), out('networker.log')).toBe('0');
      expect(out('networker.calls')).toMatch(
        /^-s 10\.0\.2\.2 -c \S+ -d \/tmp\/restored-networker -a \/ $/m,
      );
      expect(out('networker.fp')).toBe(out('source.fp'));
    });
  },
);
