import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * backup.method requestrestore in the rescue system (QEMU): `lifeboat recover --into` says the
 * target is ready (the ready file) and waits; the other side, played by a background job in the
 * guest, restores a small tree there with tar and creates the finished file, and recovery goes
 * on, the tree in place with every file the same and lifeboat's signal files gone. The abort file
 * gives the recovery up: one sentence, exit 1.
 */
const why = (await engineMissing()) ?? qemuMissing();

const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
tar -C $tree -cf /tmp/other-system.tar .
requested() { lifeboat recover --unattended --set backup.method=requestrestore --set requestrestore.pollSeconds=1 "$@"; }
# The other side: waits for the ready file, restores, says it is done.
( for i in $(seq 120); do [ -e /tmp/restored/.lifeboat-restore-ready ] && break; sleep 1; done
  cp /tmp/restored/.lifeboat-restore-ready ready.json
  tar -C /tmp/restored -xpf /tmp/other-system.tar
  touch /tmp/restored/.lifeboat-restore-finished ) &
requested --into /tmp/restored >recover.log 2>&1; echo $? >recover.exit
wait
fingerprint /tmp/restored >restored.fp
# The other side gives up.
( for i in $(seq 120); do [ -e /tmp/given-up/.lifeboat-restore-ready ] && break; sleep 1; done
  touch /tmp/given-up/.lifeboat-restore-abort ) &
requested --into /tmp/given-up >abort.log 2>&1; echo $? >abort.exit
wait
exit 0
`;

let result: GuestResult | undefined;
afterAll(() => result?.dispose());
const out = (name: string) => readFileSync(join((result as GuestResult).out, name), 'utf8');

describeTier('boot', why)('backup.method requestrestore in the rescue system (QEMU)', () => {
  beforeAll(async () => {
    result = await runInRescueGuest({ disks: [], script: GUEST_SCRIPT });
    expect(result.exitCode, result.console.slice(-3000)).toBe(0);
  }, 600_000);

  it('recovery waits with the ready file until the other side restored and said so', () => {
    expect(out('recover.exit').trim(), out('recover.log')).toBe('0');
    expect(JSON.parse(out('ready.json'))).toMatchObject({ target: '/tmp/restored' });
    expect(out('source.fp')).toContain('usr/blob f 644');
    // The ready and finished files are gone: the tree is exactly what was restored.
    expect(out('restored.fp')).toBe(out('source.fp'));
  });

  it('the abort file gives the recovery up: one sentence, exit 1', () => {
    expect(out('abort.exit').trim()).toBe('1');
    expect(out('abort.log')).toContain(
      'the restore was given up: /tmp/given-up/.lifeboat-restore-abort appeared',
    );
    expect(out('abort.log')).not.toMatch(/internal error|\n\s+at /);
  });
});
