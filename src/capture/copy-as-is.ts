import { compareByteOrder } from './canonical-json.js';
import type { RecordTarget } from './file-records.js';
import { joinRootPath, normalizeRootPath, RootPathError, type RootView } from './fs-root.js';
import { globToRegExp, hasGlobMagic } from './fs-root-glob.js';

/**
 * ReaR's COPY_AS_IS: files and directory trees the rescue system gets as they are on the host
 * (configuration, keys, a backup client's whole installation), minus COPY_AS_IS_EXCLUDE.
 *
 * - An include is a path or a glob (`/etc/ssh/ssh_host_*_key.pub`, expanded as glob(3) would in
 *   the root). One that matches nothing is reported as missing, not fatal: the same list serves
 *   hosts that have a program and hosts that don't.
 * - An include is followed if it is a symlink (`/etc/localtime`, a `/opt/app -> /srv/app`
 *   link): asking for a name means asking for what it leads to. A directory is taken whole,
 *   itself included; inside it nothing is followed, a symlink is copied as a symlink (a link to
 *   `/` in some tree must not pull in the whole root).
 * - An exclude is a path or a glob; whatever it matches is left out, and with it everything
 *   under it. As with tar's --exclude, which ReaR uses, `*` there also matches names starting
 *   with a dot (`/root/.cache/*`, `/var/lib/app/*`). An entry is checked under the name it was
 *   listed by and under its real path, so either spelling excludes it.
 */

export interface CopyAsIsResult {
  /** What to record (see recordFiles), sorted by path: includes are followed, tree entries not. */
  paths: RecordTarget[];
  /** Includes (as written) that match nothing in the root, in the order given. */
  missing: string[];
  warnings: string[];
}

export async function collectCopyAsIs(
  view: RootView,
  include: readonly string[],
  exclude: readonly string[],
): Promise<CopyAsIsResult> {
  const excluded = exclusionTest(exclude);
  const entries = new Map<string, boolean>();
  const missing: string[] = [];
  const warnings: string[] = [];
  const walked = new Set<string>();
  const add = (path: string, follow: boolean): void => {
    entries.set(path, (entries.get(path) ?? false) || follow);
  };

  /** Everything under the real directory `realDir`, listed (for excludes) as `listedDir`. */
  const walk = async (listedDir: string, realDir: string): Promise<void> => {
    const key = `${listedDir}\0${realDir}`;
    if (walked.has(key)) return;
    walked.add(key);
    for (const name of await view.readdir(realDir)) {
      const listed = joinRootPath(listedDir, name);
      const real = joinRootPath(realDir, name);
      if (excluded(listed) || excluded(real)) continue;
      let stats: Awaited<ReturnType<RootView['lstat']>>;
      try {
        stats = await view.lstat(real);
      } catch (error) {
        if (error instanceof RootPathError) continue; // gone since the readdir (a live host)
        throw error;
      }
      add(real, false);
      if (stats.isDirectory()) await walk(listed, real);
    }
  };

  for (const pattern of include) {
    const normalized = normalizeRootPath(pattern);
    const candidates = hasGlobMagic(normalized) ? await view.glob(normalized) : [normalized];
    let found = false;
    for (const path of candidates) {
      const entry = await view.lookup(path);
      if (entry === undefined) {
        const link = await danglingSymlink(view, path);
        if (link === undefined) continue;
        found = true;
        if (excluded(path)) continue;
        warnings.push(
          `copy-as-is: ${path} is a dangling symlink (to ${link}); copied as the link only`,
        );
        add(path, false);
        continue;
      }
      found = true;
      if (excluded(path) || excluded(entry.realPath)) continue;
      add(path, true);
      if (entry.stats.isDirectory()) await walk(path, entry.realPath);
    }
    if (!found && !missing.includes(pattern)) missing.push(pattern);
  }

  const paths = [...entries]
    .map(([path, follow]) => ({ path, follow }))
    .sort((a, b) => compareByteOrder(a.path, b.path));
  return { paths, missing, warnings };
}

/** The target of `path` when it is a symlink leading nowhere; undefined otherwise. */
async function danglingSymlink(view: RootView, path: string): Promise<string | undefined> {
  try {
    return await view.readlink(path);
  } catch (error) {
    if (error instanceof RootPathError) return undefined;
    throw error;
  }
}

/**
 * A test for "is this path, or a directory above it, excluded": each pattern is matched
 * component by component against the path's first components.
 */
export function exclusionTest(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map((pattern) =>
    components(normalizeRootPath(pattern)).map((part) =>
      hasGlobMagic(part) ? globToRegExp(part) : part,
    ),
  );
  return (path) => {
    const parts = components(path);
    return compiled.some(
      (pattern) =>
        pattern.length <= parts.length &&
        pattern.every((matcher, index) => {
          const part = parts[index] as string;
          return typeof matcher === 'string' ? matcher === part : matcher.test(part);
        }),
    );
  };
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}
