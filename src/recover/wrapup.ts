import { chmod, copyFile, mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { mountPoints } from './finalize-mounts.js';

/**
 * The recovery log, kept with the system it recovered: /var/log/lifeboat/ of the target, mode
 * 0600 (it names disks, hosts and the backup's place). The copy is what was logged until now.
 */
export async function copyLogInto(target: string, log: Log): Promise<string | undefined> {
  if (log.file === undefined) return undefined;
  const dir = join(target, 'var', 'log', 'lifeboat');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const copy = join(dir, basename(log.file));
  await copyFile(log.file, `${copy}.partial`);
  await chmod(`${copy}.partial`, 0o600);
  await rename(`${copy}.partial`, copy);
  return copy;
}

/** Everything mounted under target (and target itself), deepest first, after a sync. */
export async function unmountTarget(target: string, log: Log): Promise<number> {
  const points = [...mountPoints()]
    .filter((p) => p === target || p.startsWith(`${target}/`))
    .sort((a, b) => b.length - a.length);
  await execa('sync', [], { reject: false, stdin: 'ignore' });
  for (const point of points) {
    const result = await execa('umount', [point], { reject: false, all: true, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      log.debug(`umount ${point}: ${String(result.all).trim()}`);
      throw new JobError(`could not unmount ${point}: ${String(result.all).trim()}`, {
        hint: `Something still uses it (fuser -vm ${point}); unmount it by hand before rebooting.`,
      });
    }
  }
  return points.length;
}
