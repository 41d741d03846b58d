import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRunTemp, runTempParent } from './run-temp.js';

const work = mkdtempSync(join(tmpdir(), 'lifeboat-run-temp-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the run temporary directory', () => {
  it('is private, in paths.workDir/tmp, and sweeps what killed runs left there (never a live one)', () => {
    const area = join(work, 'tmp');
    // A pid that surely ended: a process that ran and exited.
    const dead = spawnSync('true').pid;
    const live = process.ppid;
    mkdirSync(join(area, `run-${dead}-1`, 'lb-gpg-x'), { recursive: true });
    mkdirSync(join(area, `run-${live}-1`), { recursive: true });
    mkdirSync(join(area, 'notes'));

    expect(runTempParent()).toBe(tmpdir());
    const { dir, swept } = openRunTemp(work);

    expect(swept).toEqual([`run-${dead}-1`]);
    expect(dir).toMatch(new RegExp(`^${area}/run-${process.pid}-\\d+$`));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(area).sort()).toEqual(
      [`run-${live}-1`, 'notes', dir.slice(area.length + 1)].sort(),
    );
    expect(runTempParent()).toBe(dir);
    // Opened once per process: a second call changes nothing.
    expect(openRunTemp(join(work, 'elsewhere')).dir).toBe(dir);
  });
});
