import { mkdtempSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { lifeboat, type sandbox } from './cli.js';

/**
 * Rescue sticks in image files, for the usb tests: made with `lifeboat format`, their data
 * partition mounted here at its offset (this machine's kernel reads no partition table of an
 * image, and has no udev to name partitions by label).
 */

/** A sparse image file of `size` (truncate's notation) formatted by `lifeboat format --yes`. */
export async function formattedStick(
  box: ReturnType<typeof sandbox>,
  file: string,
  size: string,
  sets: readonly string[] = [],
): Promise<string> {
  await execa('truncate', ['-s', size, file]);
  const formatted = await lifeboat(
    ['format', file, '--yes', ...sets.flatMap((set) => ['--set', set]), ...box.sets],
    { env: box.env },
  );
  expect(formatted.exitCode, formatted.all).toBe(0);
  return file;
}

/**
 * Runs `use` with the stick's data partition (its last) mounted under `parent`, given the
 * lifeboat/ directory on it; unmounts whatever happens.
 */
export async function withStickData<T>(
  stick: string,
  parent: string,
  use: (lifeboatDir: string) => Promise<T>,
): Promise<T> {
  const { stdout } = await execa('sfdisk', ['--json', stick]);
  const partitions = JSON.parse(stdout).partitiontable.partitions as {
    start: number;
    size: number;
  }[];
  const data = partitions.at(-1) as { start: number; size: number };
  const dir = mkdtempSync(join(parent, 'mnt-'));
  await execa('mount', [
    '-o',
    `loop,offset=${data.start * 512},sizelimit=${data.size * 512}`,
    stick,
    dir,
  ]);
  try {
    return await use(join(dir, 'lifeboat'));
  } finally {
    await execa('umount', [dir]);
    rmdirSync(dir);
  }
}
