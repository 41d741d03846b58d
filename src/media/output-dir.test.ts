import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobError } from '../errors.js';
import { lockOutput, stageOutput } from './output-dir.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('one build at a time into an output directory', () => {
  it('refuses a second build while the first holds it, naming the first', async () => {
    const out = join(dir, 'media');
    const first = await stageOutput(out);
    const second = stageOutput(out);
    await expect(second).rejects.toBeInstanceOf(JobError);
    await expect(second).rejects.toThrow(
      `--out ${out}: lifeboat (pid ${process.pid}) is building into it now`,
    );
    await first.commit();
    // Released: the next build goes ahead, and nothing of the lock is left.
    const third = await stageOutput(out);
    await third.discard();
    expect(readdirSync(dir)).toEqual(['media']);
  });

  it('takes over the lock of a process that is gone (a SIGKILL)', () => {
    const out = join(dir, 'media');
    const gone = spawnSync('true').pid;
    writeFileSync(join(dir, '.media.lock'), `${gone}\n`);
    const release = lockOutput(out);
    release();
    expect(existsSync(join(dir, '.media.lock'))).toBe(false);
  });
});
