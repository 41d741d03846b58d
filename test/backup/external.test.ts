import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * backup.method external in the rescue system (QEMU): the site's commands are tar here, as a site
 * would call its own tool. `lifeboat mkbackuponly` backs a small tree up with external.backup,
 * `lifeboat recover --into` restores it with external.restore, every file the same; a check that
 * fails (the backup system does not answer) stops recovery before anything is written, one
 * sentence naming the key and the program, exit 1. That the capture takes these programs from
 * the host is test/capture/capture-cli.test.ts's.
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
exit 0
`;

let result: GuestResult | undefined;
afterAll(() => result?.dispose());
const out = (name: string) => readFileSync(join((result as GuestResult).out, name), 'utf8');

describeTier('boot', why)('backup.method external in the rescue system (QEMU)', () => {
  beforeAll(async () => {
    result = await runInRescueGuest({ disks: [], script: GUEST_SCRIPT });
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
});
