import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLog } from '../log/log.js';
import { copyBudget, verifiedCopyFor } from './verified-copy.js';

describe("verify's copy of the archive", () => {
  const parent = mkdtempSync(join(tmpdir(), 'lifeboat-verified-copy-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('keeps every byte it is given, in a private file', async () => {
    const copy = await verifiedCopyFor(6, new MemoryLog(), parent);
    expect(copy).toBeDefined();
    await copy?.write(Buffer.from('abc'));
    await copy?.write(Buffer.from('def'));
    await copy?.end();
    expect(readFileSync(copy?.file as string, 'utf8')).toBe('abcdef');
    await copy?.dispose();
  });

  it('is not made for an archive larger than half the room where it would go', async () => {
    const log = new MemoryLog();
    const budget = copyBudget(parent);
    expect(await verifiedCopyFor(budget + 1, log, parent)).toBeUndefined();
    expect(log.lines.map((line) => line.message).join('\n')).toMatch(
      /restore reads it from the destination again/,
    );
  });
});
