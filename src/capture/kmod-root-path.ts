import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Paths inside a captured root filesystem. The root is somebody else's system: its absolute
 * symlinks (`/lib -> usr/lib` on merged-/usr Debian, `/etc/alternatives/...`) point into the root,
 * not into the machine running lifeboat, and `..` must stop at the root. So symlinks are followed
 * here by hand, one component at a time, as a chroot would.
 */

const MAX_SYMLINK_HOPS = 40; // the kernel's own limit

/**
 * The root-relative path (no leading slash, '' for the root itself) that `path` names inside `root`,
 * every symlink resolved. A component that does not exist ends the resolution: the rest is appended
 * as written, so the result can be tested for existence by the caller.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  let pending = splitPath(path);
  let resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === '..') {
      resolved.pop(); // `..` of the root is the root
      continue;
    }
    const candidate = [...resolved, part];
    const stat = await lstat(join(root, ...candidate)).catch(() => undefined);
    if (stat?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS)
        throw new Error(`too many symlinks resolving ${path} in ${root}`);
      const target = await readlink(join(root, ...candidate));
      if (target.startsWith('/')) resolved = [];
      pending = [...splitPath(target), ...pending];
      continue;
    }
    resolved = candidate;
    if (stat === undefined) {
      // Nothing further exists; keep the rest literally (with `..` still applied lexically).
      for (const p of pending) p === '..' ? resolved.pop() : resolved.push(p);
      break;
    }
  }
  return resolved.join('/');
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** Contents of a file inside the root, or undefined when it does not exist there. */
export async function readRootFile(root: string, path: string): Promise<Buffer | undefined> {
  const real = await resolveInRoot(root, path);
  return readFile(join(root, real)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
}

/** Text of a file inside the root, or undefined when it does not exist there. */
export async function readRootText(root: string, path: string): Promise<string | undefined> {
  return (await readRootFile(root, path))?.toString('utf8');
}

/** Names in a directory inside the root ([] when it does not exist). */
export async function listRootDir(root: string, path: string): Promise<string[]> {
  const real = await resolveInRoot(root, path);
  return readdir(join(root, real)).catch(() => []);
}

/** The kind of thing at a root-relative path after resolving symlinks, or undefined if nothing. */
export async function rootEntryKind(
  root: string,
  path: string,
): Promise<{ real: string; kind: 'file' | 'dir' | 'other'; size: number } | undefined> {
  const real = await resolveInRoot(root, path);
  const stat = await lstat(join(root, real)).catch(() => undefined);
  if (stat === undefined) return undefined;
  const kind = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other';
  return { real, kind, size: stat.size };
}
