import { UsageError } from '../errors.js';
import { RootPathError, type RootView, rootViewOf } from './fs-root.js';
import { globToRegExp, hasGlobMagic } from './fs-root-glob.js';
import { rootRelative } from './kmod.js';

/**
 * Firmware files that modules declare (`firmware=` in .modinfo) and that `rescue.firmware` names
 * (findConfiguredFirmware, at the end), looked up in a root the way the kernel's firmware loader
 * looks in /lib/firmware: updates first, a per-kernel directory before the shared one, and the
 * plain file before the compressed `.zst`/`.xz` (CONFIG_FW_LOADER_COMPRESS, which Debian's
 * firmware packages rely on from trixie on).
 */

export interface FoundFirmware {
  /** The name as modules declare it (`rtl_nic/rtl8168h-2.fw`), or the file a wildcard matched. */
  name: string;
  /** Root-relative path where the kernel would find it (`lib/firmware/updates/x.fw.zst`). */
  path: string;
  /** `path` with symlinks resolved inside the root: the bytes to copy. */
  realPath: string;
  size: number;
  /** Modules declaring it (sorted). */
  modules: string[];
}

export interface MissingFirmware {
  name: string;
  modules: string[];
}

export interface FirmwareLookup {
  found: FoundFirmware[];
  missing: MissingFirmware[];
}

const COMPRESSED_SUFFIXES = ['', '.zst', '.xz'];

/** The firmware directories the kernel searches, in its order (no kernel: the shared ones). */
export function firmwareSearchDirs(kernelVersion: string | null): string[] {
  if (kernelVersion === null) return ['lib/firmware/updates', 'lib/firmware'];
  return [
    `lib/firmware/updates/${kernelVersion}`,
    'lib/firmware/updates',
    `lib/firmware/${kernelVersion}`,
    'lib/firmware',
  ];
}

/**
 * Looks up every declared firmware file. `declared` maps firmware name → modules declaring it.
 * Missing firmware is normal (drivers list optional and alternative files): it is reported only.
 */
export async function findFirmware(
  root: string | RootView,
  kernelVersion: string,
  declared: Map<string, Set<string>>,
): Promise<FirmwareLookup> {
  const view = rootViewOf(root);
  const found: FoundFirmware[] = [];
  const missing: MissingFirmware[] = [];
  for (const name of [...declared.keys()].sort()) {
    const modules = [...(declared.get(name) ?? [])].sort();
    const names = hasGlobMagic(name) ? await expandFirmwareGlob(view, kernelVersion, name) : [name];
    let any = false;
    for (const candidate of names) {
      const hit = await locateFirmware(view, kernelVersion, candidate);
      if (hit === undefined) continue;
      found.push({ name: candidate, ...hit, modules });
      any = true;
    }
    if (!any) missing.push({ name, modules });
  }
  return { found: mergeByPath(found), missing };
}

/** Where the kernel would load one firmware file from, or undefined. */
export async function locateFirmware(
  root: string | RootView,
  kernelVersion: string,
  name: string,
): Promise<{ path: string; realPath: string; size: number } | undefined> {
  if (name.split('/').includes('..')) return undefined; // the kernel refuses these too
  return locateIn(rootViewOf(root), firmwareSearchDirs(kernelVersion), name);
}

/** The first of `dirs` holding the file (plain before compressed), as the kernel would pick it. */
async function locateIn(
  view: RootView,
  dirs: readonly string[],
  name: string,
): Promise<{ path: string; realPath: string; size: number } | undefined> {
  for (const dir of dirs) {
    for (const suffix of COMPRESSED_SUFFIXES) {
      const path = `${dir}/${name}${suffix}`;
      const entry = await view.lookup(path);
      if (entry?.stats.isFile()) {
        return { path, realPath: rootRelative(entry.realPath), size: entry.stats.size };
      }
    }
  }
  return undefined;
}

/**
 * Some modules declare wildcards (brcmfmac: `brcm/brcmfmac*-sdio.*.bin`): the files of every
 * search directory whose name (compression suffix dropped) matches. Not RootView.glob: the name
 * must match without its suffix, and fnmatch has no rule for a leading `.`.
 */
async function expandFirmwareGlob(
  view: RootView,
  kernelVersion: string,
  pattern: string,
): Promise<string[]> {
  const slash = pattern.lastIndexOf('/');
  const subdir = slash === -1 ? '' : pattern.slice(0, slash);
  if (hasGlobMagic(subdir)) return []; // no module does this; not worth a tree walk
  const matcher = globToRegExp(pattern.slice(slash + 1));
  const names = new Set<string>();
  for (const dir of firmwareSearchDirs(kernelVersion)) {
    for (const file of await view.readdir(subdir === '' ? dir : `${dir}/${subdir}`)) {
      const plain = file.replace(/\.(zst|xz)$/, '');
      if (matcher.test(plain)) names.add(subdir === '' ? plain : `${subdir}/${plain}`);
    }
  }
  return [...names].sort();
}

/** Two declarations (or a glob and a name) can land on one file: list it once, modules merged. */
function mergeByPath(found: FoundFirmware[]): FoundFirmware[] {
  const byPath = new Map<string, FoundFirmware>();
  for (const f of found) {
    const known = byPath.get(f.path);
    if (known === undefined) byPath.set(f.path, f);
    else known.modules = [...new Set([...known.modules, ...f.modules])].sort();
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Where `rescue.firmware` may point with an absolute path (the same place on merged-/usr roots). */
const ABSOLUTE_BASES = ['lib/firmware', 'usr/lib/firmware'];

export interface ConfiguredFirmware {
  /** Root-absolute paths of the files to copy (`/lib/firmware/rtl_nic/rtl8168h-2.fw.zst`), sorted. */
  paths: string[];
  /** One per pattern that matches nothing. */
  warnings: string[];
}

interface FirmwarePattern {
  pattern: string;
  /** The directory an absolute pattern points into; none for a relative one (every search dir). */
  base?: string;
  /** Path components below the firmware directory; none means all of it. */
  parts: string[];
}

/**
 * The firmware files `rescue.firmware` names besides those modules declare (ReaR FIRMWARE_FILES),
 * for hardware whose driver loads files the module does not list, or loads them by a name
 * built at run time. A relative pattern (`iwlwifi-*.ucode`, `rtl_nic/*`) is matched in every
 * search directory and each name it matches is taken from where the kernel would load it (so a
 * file that updates/ shadows is not copied); an absolute one, only where it points. A compressed
 * file matches by its name without `.zst`/`.xz` too, the name drivers ask for, and a matched
 * directory brings every file under it. A pattern matching nothing is a warning.
 */
export async function findConfiguredFirmware(
  root: string | RootView,
  kernelVersion: string | null,
  patterns: readonly string[],
): Promise<ConfiguredFirmware> {
  const view = rootViewOf(root);
  // Every pattern is checked before any is looked for: a bad one fails without a partial result.
  const parsed = patterns.map(parseFirmwarePattern);
  const paths = new Set<string>();
  const warnings: string[] = [];
  for (const { pattern, base, parts } of parsed) {
    const dirs = base === undefined ? firmwareSearchDirs(kernelVersion) : [base];
    const names = new Set<string>();
    for (const dir of dirs) {
      // updates/ and the per-kernel directory lie inside lib/firmware but are searched on their own.
      const nested = new Set(dirs.filter((d) => d.startsWith(`${dir}/`)));
      for (const name of await matchFirmwareNames(view, dir, parts, nested)) names.add(name);
    }
    let matched = false;
    for (const name of [...names].sort()) {
      const hit = await locateIn(view, dirs, name);
      if (hit === undefined) continue;
      paths.add(`/${hit.path}`);
      matched = true;
    }
    if (!matched) {
      warnings.push(
        `rescue.firmware ${pattern} matches no firmware file in the root; nothing added`,
      );
    }
  }
  return { paths: [...paths].sort(), warnings };
}

function parseFirmwarePattern(pattern: string): FirmwarePattern {
  const parts = pattern.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new UsageError(
      `rescue.firmware ${pattern}: '..' is not allowed, name a path inside the firmware directories`,
    );
  }
  if (!pattern.startsWith('/')) return { pattern, parts };
  for (const base of ABSOLUTE_BASES) {
    const baseParts = base.split('/');
    if (baseParts.every((part, i) => parts[i] === part)) {
      return { pattern, base, parts: parts.slice(baseParts.length) };
    }
  }
  throw new UsageError(
    `rescue.firmware ${pattern}: an absolute path must be under /lib/firmware or /usr/lib/firmware`,
  );
}

const dropCompression = (name: string) => name.replace(/\.(zst|xz)$/, '');

/**
 * Names (relative to `dir`, compression suffix dropped) of the files the components match, one
 * component at a time with glob(3)'s leading-dot rule. Wildcards and directory walks skip the
 * `nested` search directories.
 */
async function matchFirmwareNames(
  view: RootView,
  dir: string,
  parts: readonly string[],
  nested: ReadonlySet<string>,
): Promise<string[]> {
  const full = (rel: string) => (rel === '' ? dir : `${dir}/${rel}`);
  const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);
  let matches = [''];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const wildcard = hasGlobMagic(part);
    const matcher = globToRegExp(part);
    const next: string[] = [];
    for (const prefix of matches) {
      for (const entry of await view.readdir(full(prefix))) {
        if (entry.startsWith('.') && !part.startsWith('.')) continue;
        const rel = join(prefix, entry);
        if (wildcard && nested.has(full(rel))) continue;
        if (matcher.test(entry) || (last && matcher.test(dropCompression(entry)))) next.push(rel);
      }
    }
    matches = next;
  }

  const names: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await view.readdir(full(rel))) {
      const child = join(rel, entry);
      if (nested.has(full(child))) continue;
      // A symlinked directory is not followed inside a tree, so no link can make the walk loop.
      if ((await lstatOrUndefined(view, full(child)))?.isDirectory()) await walk(child);
      else if ((await view.lookup(full(child)))?.stats.isFile()) names.push(dropCompression(child));
    }
  };
  for (const rel of matches) {
    const entry = await view.lookup(full(rel));
    if (entry?.stats.isFile()) names.push(dropCompression(rel));
    else if (entry?.stats.isDirectory()) await walk(rel);
  }
  return names;
}

async function lstatOrUndefined(view: RootView, path: string) {
  try {
    return await view.lstat(path);
  } catch (error) {
    if (error instanceof RootPathError) return undefined; // gone since the readdir (a live host)
    throw error;
  }
}
