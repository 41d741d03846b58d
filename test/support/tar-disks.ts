import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * How files get into a QEMU guest and results out of it: two small raw disks holding tar
 * archives (more reliable than the serial console). The
 * guest reads the in-disk with `tar -xf /dev/disk/by-id/virtio-SERIAL` and writes a tar of its
 * results onto the blank out-disk the same way.
 */
export async function tarInDisk(
  scratch: string,
  files: Record<string, string | Buffer>,
): Promise<string> {
  const dir = join(scratch, 'in');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const image = join(scratch, 'in.tar');
  await execa('tar', ['--create', '--file', image, '--directory', dir, '.']);
  return image;
}

/** A blank disk for the guest's tar of results. */
export async function tarOutDisk(scratch: string, sizeMiB: number): Promise<string> {
  const image = join(scratch, 'out.img');
  await execa('truncate', ['-s', `${sizeMiB}M`, image]);
  return image;
}

/** Extracts what the guest wrote on the out-disk into scratch/out; returns that directory. */
export async function readTarOutDisk(scratch: string, image: string): Promise<string> {
  const out = join(scratch, 'out');
  mkdirSync(out);
  await execa('tar', ['--extract', '--file', image, '--directory', out]);
  return out;
}
