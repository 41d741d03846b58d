import { posix } from 'node:path';
import type { FileRecord, KernelSection } from './manifest.js';

/** What the file records of a capture add up to. */
export interface FileStats {
  files: number;
  symlinks: number;
  dirs: number;
  /** Sum of the sizes of the regular files, every name counted. */
  bytes: number;
  /** Distinct sha256 values: what the bundle's content store holds. */
  uniqueContents: number;
  uniqueBytes: number;
}

export function fileStats(files: readonly FileRecord[]): FileStats {
  const stats: FileStats = {
    files: 0,
    symlinks: 0,
    dirs: 0,
    bytes: 0,
    uniqueContents: 0,
    uniqueBytes: 0,
  };
  const seen = new Set<string>();
  for (const file of files) {
    if (file.type === 'symlink') stats.symlinks++;
    else if (file.type === 'dir') stats.dirs++;
    else {
      stats.files++;
      stats.bytes += file.size;
      if (!seen.has(file.sha256)) {
        seen.add(file.sha256);
        stats.uniqueContents++;
        stats.uniqueBytes += file.size;
      }
    }
  }
  return stats;
}

/** Total size of the module files, and how many of the modules were found among the records. */
export function moduleBytes(
  kernel: KernelSection,
  files: readonly FileRecord[],
): { bytes: number; counted: number } {
  const byPath = new Map(files.map((file) => [file.path, file]));
  let bytes = 0;
  let counted = 0;
  for (const module of kernel.modules) {
    const record = resolveRecord(byPath, module.path);
    if (record?.type !== 'file') continue;
    bytes += record.size;
    counted++;
  }
  return { bytes, counted };
}

const MAX_SYMLINK_HOPS = 40; // what the kernel allows (MAXSYMLINKS)

/**
 * The record a path leads to, following symlinks recorded in the manifest: a module recorded as
 * /lib/modules/… lives under /usr/lib/modules/… on a merged-/usr root, where /lib is a symlink.
 */
export function resolveRecord(
  byPath: ReadonlyMap<string, FileRecord>,
  path: string,
): FileRecord | undefined {
  let current = posix.normalize(path);
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const next = followFirstSymlink(byPath, current);
    if (next === undefined) return byPath.get(current);
    current = next;
  }
  return undefined; // a loop
}

/** `path` with its first symlink component replaced by the link's target, or undefined if none. */
function followFirstSymlink(
  byPath: ReadonlyMap<string, FileRecord>,
  path: string,
): string | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  let prefix = '';
  for (const [index, part] of parts.entries()) {
    prefix = `${prefix}/${part}`;
    const record = byPath.get(prefix);
    if (record?.type !== 'symlink') continue;
    const target = record.target.startsWith('/')
      ? record.target
      : posix.join(posix.dirname(prefix), record.target);
    return posix.join(target, ...parts.slice(index + 1));
  }
  return undefined;
}
