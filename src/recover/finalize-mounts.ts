import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * The kernel file systems the restored system's tools need in their chroot (update-initramfs
 * reads /proc and /sys, grub-install probes /dev, efibootmgr writes efivarfs). Bound in this
 * order, unbound in the reverse one; a rerun binds only what is not bound already.
 */
const BINDS = ['proc', 'sys', 'dev', 'dev/pts', 'run'] as const;
const EFIVARS = 'sys/firmware/efi/efivars';

/** Mount points now, from /proc/self/mounts (octal escapes undone). */
export function mountPoints(mounts = readFileSync('/proc/self/mounts', 'utf8')): Set<string> {
  return new Set(
    mounts
      .split('\n')
      .map((line) => line.split(' ')[1])
      .filter((p): p is string => p !== undefined && p !== '')
      .map((p) =>
        p.replace(/\\([0-7]{3})/g, (_, octal: string) =>
          String.fromCharCode(Number.parseInt(octal, 8)),
        ),
      ),
  );
}

/** Binds what the chroot needs; returns the mount points it made, to unbind afterwards. */
export async function bindKernelFilesystems(root: string, log: Log): Promise<string[]> {
  const wanted: string[] = [...BINDS];
  // Only when the rescue system itself has efivarfs (booted by UEFI).
  if (mountPoints().has(`/${EFIVARS}`)) wanted.push(EFIVARS);
  const made: string[] = [];
  for (const relative of wanted) {
    const point = join(root, relative);
    if (mountPoints().has(point)) {
      log.debug(`finalize: ${point} is bound already`);
      continue;
    }
    await mkdir(point, { recursive: true });
    const result = await execa('mount', ['--bind', `/${relative}`, point], {
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    if (result.exitCode !== 0)
      throw new JobError(
        `finalize: could not bind /${relative} into ${root}: ${String(result.all).trim()}`,
      );
    made.push(point);
  }
  return made;
}

/** Unbinds every kernel file system under root, deepest first; what stays busy is unmounted lazily. */
export async function unbindKernelFilesystems(root: string, log: Log): Promise<void> {
  const points = [...BINDS, EFIVARS]
    .map((relative) => join(root, relative))
    .filter((point) => mountPoints().has(point))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    const result = await execa('umount', [point], { reject: false, all: true, stdin: 'ignore' });
    if (result.exitCode === 0) continue;
    log.debug(`finalize: umount ${point}: ${String(result.all).trim()}; unmounting it lazily`);
    await execa('umount', ['--lazy', point], { reject: false, stdin: 'ignore' });
  }
}

/** The rescue system was booted by UEFI. */
export function bootedByUefi(): boolean {
  return existsSync('/sys/firmware/efi');
}
