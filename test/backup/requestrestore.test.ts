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
 * gives the recovery up: one sentence, exit 1. With them, recovery.preScripts (LIFEBOAT_TARGET)
 * and recovery.notifyUrl (a small HTTP server in the guest hears both results) are tested end to
 * end; the rehearsal runs no postScripts (no wrapup), the layout tier's recoveries would.
 */
const why = (await engineMissing()) ?? qemuMissing();

const GUEST_SCRIPT = `set -uo pipefail
${GUEST_TREE}
tar -C $tree -cf /tmp/other-system.tar .
# A monitoring endpoint for recovery.notifyUrl: each POSTed result is one line of notified.jsonl.
node -e "require('http').createServer((q, s) => { let b = ''; q.on('data', (d) => { b += d; });
  q.on('end', () => { require('fs').appendFileSync('/tmp/out/notified.jsonl', b + '\\n'); s.end('ok'); });
}).listen(8099, '127.0.0.1')" &
notifier=$!
for i in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/8099) 2>/dev/null && break; sleep 0.5; done
requested() {
  lifeboat recover --unattended --set backup.method=requestrestore --set requestrestore.pollSeconds=1 \\
    --set recovery.notifyUrl=http://127.0.0.1:8099/recovered \\
    --set 'recovery.preScripts=[echo "pre $LIFEBOAT_TARGET" >>/tmp/out/pre-scripts.txt]' "$@"
}
# The other side: waits for the ready file, restores, says it is done.
( for i in $(seq 120); do [ -e /tmp/restored/.lifeboat-restore-ready ] && break; sleep 1; done
  cp /tmp/restored/.lifeboat-restore-ready ready.json
  tar -C /tmp/restored -xpf /tmp/other-system.tar
  touch /tmp/restored/.lifeboat-restore-finished ) &
other=$!
requested --into /tmp/restored >recover.log 2>&1; echo $? >recover.exit
wait $other
fingerprint /tmp/restored >restored.fp
# The other side gives up.
( for i in $(seq 120); do [ -e /tmp/given-up/.lifeboat-restore-ready ] && break; sleep 1; done
  touch /tmp/given-up/.lifeboat-restore-abort ) &
other=$!
requested --into /tmp/given-up >abort.log 2>&1; echo $? >abort.exit
wait $other
kill $notifier
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

  it('recovery.preScripts run first with LIFEBOAT_TARGET, and recovery.notifyUrl hears each result', () => {
    expect(out('pre-scripts.txt')).toBe('pre /tmp/restored\npre /tmp/given-up\n');
    const results = out('notified.jsonl')
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

  it('the abort file gives the recovery up: one sentence, exit 1', () => {
    expect(out('abort.exit').trim()).toBe('1');
    expect(out('abort.log')).toContain(
      'the restore was given up: /tmp/given-up/.lifeboat-restore-abort appeared',
    );
    expect(out('abort.log')).not.toMatch(/internal error|\n\s+at /);
  });
});
