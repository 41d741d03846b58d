import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { checkRehearsalTarget } from './rehearsal-target.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-rehearsal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const none = { mounts: new Set<string>(['/']), intoNonEmpty: false };

function refusal(target: string, options = none): string {
  try {
    checkRehearsalTarget(target, options);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${target} was accepted`);
}

describe('where a rehearsal may restore', () => {
  it('refuses / however it is named: directly, or through a symlink', () => {
    expect(refusal('/')).toMatch(/^--into \/: that is the running system/);
    symlinkSync('/', join(dir, 'rootlink'));
    expect(refusal(join(dir, 'rootlink'))).toBe(
      `--into ${join(dir, 'rootlink')} (which is /): that is the running system; a rehearsal restores into a directory of its own`,
    );
  });

  it('refuses a mount point, and a directory that holds one, symlinks resolved', () => {
    mkdirSync(join(dir, 'data', 'disk'), { recursive: true });
    const mounts = new Set(['/', join(dir, 'data', 'disk')]);
    expect(refusal(join(dir, 'data', 'disk'), { ...none, mounts })).toMatch(/is a mount point/);
    expect(refusal(join(dir, 'data'), { ...none, mounts })).toMatch(
      new RegExp(`holds the mount point ${join(dir, 'data', 'disk')} of this system`),
    );
    symlinkSync(join(dir, 'data'), join(dir, 'link'));
    expect(refusal(join(dir, 'link'), { ...none, mounts })).toMatch(/holds the mount point/);
  });

  it('refuses a directory that holds files lifeboat did not put there (/root, /opt, /srv alike)', () => {
    writeFileSync(join(dir, 'keep.txt'), 'mine\n');
    expect(refusal(dir)).toBe(
      `--into ${dir} holds 1 entries lifeboat did not restore there; a rehearsal restores into an empty directory or an earlier rehearsal's`,
    );
    writeFileSync(join(dir, 'file'), '');
    expect(refusal(join(dir, 'file'))).toMatch(/: not a directory$/);
  });

  it('takes a new or empty directory, the last rehearsal’s again, or anything with --into-nonempty', () => {
    expect(checkRehearsalTarget(join(dir, 'new', 'deeper'), none)).toMatch(/no disk is touched/);
    mkdirSync(join(dir, 'empty'));
    expect(checkRehearsalTarget(join(dir, 'empty'), none)).toMatch(/no disk is touched/);
    writeFileSync(join(dir, 'empty', 'restored'), '');
    const again = { ...none, earlierRehearsal: join(dir, 'empty') };
    expect(checkRehearsalTarget(join(dir, 'empty'), again)).toMatch(
      /1 entries there are overwritten/,
    );
    expect(checkRehearsalTarget(join(dir, 'empty'), { ...none, intoNonEmpty: true })).toMatch(
      /overwritten/,
    );
  });
});
