import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobError, UsageError } from '../errors.js';
import { checkOutputDir, lockOutput, outputFailure, stageOutput } from './output-dir.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the output directory', () => {
  it('is checked before any work: a file, or a missing parent, is refused in one sentence', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(() => checkOutputDir(join(dir, 'file'))).toThrow(UsageError);
    expect(() => checkOutputDir(join(dir, 'file'))).toThrow(
      `--out ${join(dir, 'file')}: is a file, not a directory`,
    );
    expect(() => checkOutputDir(join(dir, 'no', 'media'))).toThrow(
      `--out ${join(dir, 'no', 'media')}: its parent directory ${join(dir, 'no')} does not exist`,
    );
    expect(() => checkOutputDir(join(dir, 'media'))).not.toThrow();
  });

  it('stages inside itself (one file system, a mounted stick included) and leaves nothing else', async () => {
    const out = join(dir, 'media');
    const staging = await stageOutput(out);
    expect(staging.dir.startsWith(`${out}/.partial-`)).toBe(true);
    writeFileSync(join(staging.dir, 'lifeboat.iso'), 'iso');
    expect(await staging.commit()).toEqual(['lifeboat.iso']);
    expect(readdirSync(out)).toEqual(['lifeboat.iso']);
  });

  it('a failed build leaves no directory it made, and keeps one that was there', async () => {
    const made = await stageOutput(join(dir, 'new'));
    await made.discard();
    expect(existsSync(join(dir, 'new'))).toBe(false);
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'lifeboat.iso'), 'the last one');
    const kept = await stageOutput(join(dir, 'old'));
    await kept.discard();
    expect(readdirSync(join(dir, 'old'))).toEqual(['lifeboat.iso']);
  });

  it('says where and what when the operating system refuses a write', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    const said = outputFailure(full, '/media/stick');
    expect(said).toBeInstanceOf(JobError);
    expect(said?.message).toBe(
      'writing the media into /media/stick failed: no space left on the device',
    );
    expect(said?.hint).toBe('Free space there, or use another place.');
    expect(outputFailure(new TypeError('a bug'), '/media/stick')).toBeUndefined();
  });
});

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
    expect(readdirSync(out)).toEqual([]);
  });

  it('takes over the lock of a process that is gone (a SIGKILL)', () => {
    const out = join(dir, 'media');
    mkdirSync(out);
    const gone = spawnSync('true').pid;
    writeFileSync(join(out, '.lifeboat-build.lock'), `${gone}\n`);
    const release = lockOutput(out);
    release();
    expect(readdirSync(out)).toEqual([]);
  });
});
