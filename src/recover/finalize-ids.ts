import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where migration gave a disk another name (/dev/sda → /dev/vdb), the restored system's files
 * that name devices must follow, or it will not find its root. Entries by UUID=, LABEL=,
 * PARTUUID= or /dev/disk/by-uuid/ need nothing: the recreate script keeps every UUID.
 */
export const DEVICE_NAMING_FILES = [
  'etc/fstab',
  'etc/crypttab',
  'etc/default/grub',
  'boot/grub/grub.cfg',
  'boot/grub2/grub.cfg',
] as const;

/**
 * `text` with every captured device name replaced by its new one, all at once (so /dev/sda ↔
 * /dev/sdb swaps work), and only whole names: /dev/sda never matches inside /dev/sda1, nor
 * /dev/vda1 inside /dev/vda10.
 */
export function rewriteDeviceNames(text: string, renames: ReadonlyMap<string, string>): string {
  if (renames.size === 0) return text;
  const names = [...renames.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(?<![\\w/.-])(${names.join('|')})(?![\\w.-])`, 'g');
  return text.replace(pattern, (name) => renames.get(name) ?? name);
}

/** How many names a rewrite changed, for the log. */
export function countRenames(text: string, renames: ReadonlyMap<string, string>): number {
  let count = 0;
  const names = [...renames.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  if (names.length === 0) return 0;
  const pattern = new RegExp(`(?<![\\w/.-])(${names.join('|')})(?![\\w.-])`, 'g');
  for (const _ of text.matchAll(pattern)) count++;
  return count;
}

/**
 * Rewrites the device-naming files under `root` (the restored system); returns the files
 * changed and how many names in each. Atomic per file, mode kept; a second run changes nothing
 * (the new names are not in the map's keys... unless two disks swapped, which is why the
 * finalize step runs this only once per recovery: see the recover state).
 */
export async function rewriteDeviceFiles(
  root: string,
  renames: ReadonlyMap<string, string>,
): Promise<{ file: string; names: number }[]> {
  const changed: { file: string; names: number }[] = [];
  for (const relative of DEVICE_NAMING_FILES) {
    const file = join(root, relative);
    if (!existsSync(file)) continue;
    const text = await readFile(file, 'utf8');
    const names = countRenames(text, renames);
    if (names === 0) continue;
    const { mode } = await stat(file);
    const partial = `${file}.lifeboat-${process.pid}`;
    await writeFile(partial, rewriteDeviceNames(text, renames), { mode: mode & 0o7777 });
    await rename(partial, file);
    changed.push({ file: `/${relative}`, names });
  }
  return changed;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
