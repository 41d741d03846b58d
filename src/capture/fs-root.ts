import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { JobError } from '../errors.js';
import { globToRegExp, hasGlobMagic } from './fs-root-glob.js';

/**
 * A view of a root filesystem (a mounted disk, an unpacked image, a debootstrap directory) from
 * outside it. Paths are written as the root's own programs see them: absolute, `/` being the root.
 *
 * The root is another system: its absolute symlinks (`/lib64 -> usr/lib64`,
 * `/etc/alternatives/x -> /usr/bin/y`) point into the root, not into the machine running lifeboat,
 * and `..` must stop at the root. So paths are walked here by hand one component at a time, as
 * the kernel would walk them inside a chroot, and every symlink met on the way is recorded: a
 * rescue system recreates those links instead of copying files twice.
 */

/** One symlink met while resolving a path: where it is (in the root) and what it says. */
export interface SymlinkHop {
  path: string;
  target: string;
}

/** Where a path leads inside the root. */
export interface RootResolution {
  /** The path with every symlink and `..` resolved, in the root ("/" for the root itself). */
  realPath: string;
  /** The symlinks followed to get there, in the order they were met (directories included). */
  links: SymlinkHop[];
}

/** An existing file found inside the root. */
export interface RootEntry extends RootResolution {
  /** The path as asked for (normalized, absolute in the root). */
  path: string;
  /** lstat of the real path: never a symlink. */
  stats: Stats;
}

export type RootPathErrorCode = 'ENOENT' | 'ENOTDIR' | 'ELOOP' | 'EINVAL';

/** A path that cannot be resolved inside the root. */
export class RootPathError extends JobError {
  readonly code: RootPathErrorCode;
  readonly path: string;

  constructor(code: RootPathErrorCode, path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.code = code;
    this.path = path;
  }
}

/** The kernel's limit on symlinks followed in one path walk (MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/** Debian's default PATH for root (login.defs ENV_SUPATH), used when the caller has no PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

function toRootPath(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

/** `path` made absolute in the root and lexically tidied (no `//`, no `.`); `..` is kept. */
export function normalizeRootPath(path: string): string {
  return toRootPath(splitPath(path));
}

/**
 * `dir/name` without tidying `..` away: `/opt/app/bin/../lib` is the parent of wherever
 * /opt/app/bin really is, which only a walk through the root can tell (posix.join would
 * wrongly make it /opt/app/lib when bin is a symlink).
 */
export function joinRootPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name.replace(/^\/+/, '')}`;
}

/**
 * Resolves paths inside one root, caching what it reads from the disk (lstat, readlink), so a
 * library search that tries the same directories thousands of times touches each entry once.
 * Make a new view when the root may have changed.
 */
export class RootView {
  readonly root: string;
  private readonly lstatCache = new Map<string, Promise<Stats | undefined>>();
  private readonly readlinkCache = new Map<string, Promise<string>>();

  constructor(root: string) {
    this.root = root;
  }

  /** The path on this machine of a path in the root (no symlinks resolved: use realpath first). */
  hostPath(rootPath: string): string {
    return join(this.root, ...splitPath(rootPath));
  }

  private lstatHost(rootPath: string): Promise<Stats | undefined> {
    let cached = this.lstatCache.get(rootPath);
    if (cached === undefined) {
      cached = lstat(this.hostPath(rootPath)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw error;
      });
      this.lstatCache.set(rootPath, cached);
    }
    return cached;
  }

  private readlinkHost(rootPath: string): Promise<string> {
    let cached = this.readlinkCache.get(rootPath);
    if (cached === undefined) {
      cached = readlink(this.hostPath(rootPath));
      this.readlinkCache.set(rootPath, cached);
    }
    return cached;
  }

  /**
   * Walk `path` inside the root. Symlinks are followed (absolute targets from the root, relative
   * ones from the link's directory), `..` is taken after the symlinks before it are resolved (as
   * the kernel does) and stops at the root. With `followFinal: false` a final symlink is not
   * followed (lstat semantics). RootPathError when a component is missing or not a directory, or
   * when symlinks loop. With `allowMissing` (`realpath -m`), the walk ends instead at the first
   * component that does not exist or is no directory: the rest is appended as written, `..`
   * taken lexically, so the caller can still say where the path would lead.
   */
  async resolve(
    path: string,
    options: { followFinal?: boolean; allowMissing?: boolean } = {},
  ): Promise<RootResolution> {
    const followFinal = options.followFinal ?? true;
    const allowMissing = options.allowMissing ?? false;
    const appendLexically = (parts: string[], rest: readonly string[]) => {
      for (const part of rest) part === '..' ? parts.pop() : parts.push(part);
      return { realPath: toRootPath(parts), links };
    };
    let pending = splitPath(path);
    let resolved: string[] = [];
    const links: SymlinkHop[] = [];
    while (pending.length > 0) {
      const [part, ...rest] = pending as [string, ...string[]];
      pending = rest;
      if (part === '..') {
        resolved.pop(); // the root's `..` is the root itself
        continue;
      }
      const candidate = toRootPath([...resolved, part]);
      const stats = await this.lstatHost(candidate);
      if (stats === undefined) {
        if (allowMissing) return appendLexically(resolved, [part, ...pending]);
        throw new RootPathError('ENOENT', path, `${candidate} does not exist`);
      }
      const isFinal = pending.length === 0;
      if (stats.isSymbolicLink() && (followFinal || !isFinal)) {
        if (links.length >= MAX_SYMLINK_HOPS) {
          throw new RootPathError(
            'ELOOP',
            path,
            `too many symlinks (more than ${MAX_SYMLINK_HOPS})`,
          );
        }
        const target = await this.readlinkHost(candidate);
        links.push({ path: candidate, target });
        if (target.startsWith('/')) resolved = [];
        pending = [...splitPath(target), ...pending];
        continue;
      }
      if (!isFinal && !stats.isDirectory()) {
        if (allowMissing) return appendLexically(resolved, [part, ...pending]);
        throw new RootPathError('ENOTDIR', path, `${candidate} is not a directory`);
      }
      resolved.push(part);
    }
    return { realPath: toRootPath(resolved), links };
  }

  /** The path with all symlinks resolved inside the root; RootPathError when it does not exist. */
  async realpath(path: string): Promise<string> {
    return (await this.resolve(path)).realPath;
  }

  /** lstat of a path in the root: symlinks before the last component are followed, not the last. */
  async lstat(path: string): Promise<Stats> {
    const { realPath } = await this.resolve(path, { followFinal: false });
    const stats = await this.lstatHost(realPath);
    if (stats === undefined) throw new RootPathError('ENOENT', path, 'does not exist');
    return stats;
  }

  /** stat of a path in the root (every symlink followed). */
  async stat(path: string): Promise<Stats> {
    return (await this.lookupOrThrow(path)).stats;
  }

  /** The target of the symlink at `path` (its directories resolved first), as written. */
  async readlink(path: string): Promise<string> {
    const { realPath } = await this.resolve(path, { followFinal: false });
    const stats = await this.lstatHost(realPath);
    if (!stats?.isSymbolicLink()) throw new RootPathError('EINVAL', path, 'is not a symlink');
    return this.readlinkHost(realPath);
  }

  /** The symlinks met resolving `path` (directories and the file itself), in order. */
  async symlinkChain(path: string): Promise<SymlinkHop[]> {
    return (await this.resolve(path)).links;
  }

  private async lookupOrThrow(path: string): Promise<RootEntry> {
    const resolution = await this.resolve(path);
    const stats = await this.lstatHost(resolution.realPath);
    if (stats === undefined) throw new RootPathError('ENOENT', path, 'does not exist');
    return { path: normalizeRootPath(path), ...resolution, stats };
  }

  /** The existing file or directory at `path`, or undefined when the path leads nowhere. */
  async lookup(path: string): Promise<RootEntry | undefined> {
    try {
      return await this.lookupOrThrow(path);
    } catch (error) {
      if (error instanceof RootPathError) return undefined;
      throw error;
    }
  }

  /** Names in a directory of the root, sorted; [] when it is missing or no directory. */
  async readdir(path: string): Promise<string[]> {
    const entry = await this.lookup(path);
    if (!entry?.stats.isDirectory()) return [];
    const names = await readdir(this.hostPath(entry.realPath));
    return names.sort();
  }

  /** A file's bytes, or undefined when it does not exist in the root (or is no regular file). */
  async readFile(path: string): Promise<Buffer | undefined> {
    const entry = await this.lookup(path);
    if (!entry?.stats.isFile()) return undefined;
    return readFile(this.hostPath(entry.realPath));
  }

  /**
   * The program `name` as a shell of the root would find it along `searchPath`: the first
   * executable regular file. A name containing `/` is taken as a path. Empty PATH entries (the
   * current directory) are skipped: there is no current directory in a captured root.
   */
  async which(name: string, searchPath: string = DEFAULT_PATH): Promise<RootEntry | undefined> {
    const candidates = name.includes('/')
      ? [name]
      : searchPath
          .split(':')
          .filter((dir) => dir.startsWith('/'))
          .map((dir) => joinRootPath(dir, name));
    for (const candidate of candidates) {
      const entry = await this.lookup(candidate);
      if (entry?.stats.isFile() && (entry.stats.mode & 0o111) !== 0) return entry;
    }
    return undefined;
  }

  /**
   * Existing paths in the root matching a shell glob (`*`, `?`, `[...]`, per component, as
   * glob(3) without flags: a leading `.` must be matched explicitly), sorted. Relative patterns
   * are taken from the root.
   */
  async glob(pattern: string): Promise<string[]> {
    let matches: string[][] = [[]];
    for (const part of splitPath(pattern)) {
      if (!hasGlobMagic(part)) {
        matches = matches.map((parts) => [...parts, part]);
        continue;
      }
      const regExp = globToRegExp(part);
      const next: string[][] = [];
      for (const parts of matches) {
        for (const name of await this.readdir(toRootPath(parts))) {
          if (name.startsWith('.') && !part.startsWith('.')) continue;
          if (regExp.test(name)) next.push([...parts, name]);
        }
      }
      matches = next;
    }
    const found: string[] = [];
    for (const parts of matches) {
      const path = toRootPath(parts);
      if ((await this.lstatHostChecked(path)) !== undefined) found.push(path);
    }
    return found.sort();
  }

  /** lstat semantics for glob results: a dangling symlink still matches, as in glob(3). */
  private async lstatHostChecked(path: string): Promise<Stats | undefined> {
    try {
      return await this.lstat(path);
    } catch (error) {
      if (error instanceof RootPathError) return undefined;
      throw error;
    }
  }
}

/**
 * The view itself, or a new view of the root at `root` (with its own, empty cache). Capture code
 * takes either, so that one capture can share one view (and what it has read) across its parts.
 */
export function rootViewOf(root: string | RootView): RootView {
  return typeof root === 'string' ? new RootView(root) : root;
}

/** `path` resolved inside `root` (see RootView.realpath). */
export function realpathIn(root: string, path: string): Promise<string> {
  return new RootView(root).realpath(path);
}

/** lstat of `path` inside `root` (see RootView.lstat). */
export function lstatIn(root: string, path: string): Promise<Stats> {
  return new RootView(root).lstat(path);
}

/** The target of the symlink `path` inside `root` (see RootView.readlink). */
export function readlinkIn(root: string, path: string): Promise<string> {
  return new RootView(root).readlink(path);
}

/** The symlinks met resolving `path` inside `root` (see RootView.symlinkChain). */
export function symlinkChainIn(root: string, path: string): Promise<SymlinkHop[]> {
  return new RootView(root).symlinkChain(path);
}

/** The program `name` found along `searchPath` inside `root` (see RootView.which). */
export function which(
  root: string,
  name: string,
  searchPath: string = DEFAULT_PATH,
): Promise<RootEntry | undefined> {
  return new RootView(root).which(name, searchPath);
}
