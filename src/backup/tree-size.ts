import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Entries and bytes under `dir` (links not followed): what a method that cannot count its own
 * restore (external, requestrestore) reports afterwards.
 */
export async function treeSize(dir: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const name of names) {
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (!info) continue;
    entries += 1;
    if (info.isFile()) bytes += info.size;
  }
  return { entries, bytes };
}
