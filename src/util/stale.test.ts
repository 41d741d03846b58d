import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidAfter, processAlive, sweepStale } from './stale.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-stale-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('what a killed run left behind', () => {
  it('is removed when its process is gone, and only then', () => {
    const gone = spawnSync('true').pid as number;
    expect(processAlive(gone)).toBe(false);
    for (const name of [
      `.partial-${gone}-1700000000000`,
      `.partial-${process.pid}-1700000000000`,
      `.partial-${process.ppid}-1700000000000`,
      'lifeboat.iso',
    ])
      mkdirSync(join(dir, name));
    expect(sweepStale(dir, pidAfter('.partial-'))).toEqual([`.partial-${gone}-1700000000000`]);
    expect(readdirSync(dir).sort()).toEqual(
      [
        `.partial-${process.pid}-1700000000000`,
        `.partial-${process.ppid}-1700000000000`,
        'lifeboat.iso',
      ].sort(),
    );
    expect(sweepStale(join(dir, 'missing'), pidAfter('.partial-'))).toEqual([]);
  });
});
