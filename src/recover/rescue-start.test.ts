import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../log/log.js';
import { waitForRescueStart } from './rescue-start.js';

describe('waiting for the rescue system to finish starting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-rescue-start-'));
  const marker = join(dir, 'starting');
  afterEach(() => rmSync(marker, { force: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('does not wait when the start has ended', async () => {
    const log = new MemoryLog();
    expect(await waitForRescueStart(log, { marker })).toBe(0);
    expect(log.lines).toEqual([]);
  });

  it('waits until /init removes its marker', async () => {
    writeFileSync(marker, '');
    setTimeout(() => rmSync(marker, { force: true }), 400);
    const log = new MemoryLog();
    const waited = await waitForRescueStart(log, { marker, pollMs: 50 });
    expect(waited).toBeGreaterThanOrEqual(0.35);
    expect(log.lines.map((line) => line.message).join('\n')).toMatch(
      /waiting for the rescue system/,
    );
  });

  it('goes on with a warning when the start never ends', async () => {
    writeFileSync(marker, '');
    const log = new MemoryLog();
    await waitForRescueStart(log, { marker, timeoutMs: 200, pollMs: 50 });
    const warnings = log.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.message).join('\n')).toMatch(/still starting after 0.2 s/);
  });
});
