import { type RootView, rootViewOf } from './fs-root.js';
import { globToRegExp, hasGlobMagic } from './fs-root-glob.js';
import { rootRelative } from './kmod.js';

/**
 * Firmware files that modules declare (`firmware=` in .modinfo), looked up in a root the way the
 * kernel's firmware loader looks in /lib/firmware: updates first, a per-kernel directory before
 * the shared one, and the plain file before the compressed `.zst`/`.xz` (CONFIG_FW_LOADER_COMPRESS,
 * which Debian's firmware packages rely on from trixie on).
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

/** The firmware directories the kernel searches, in its order. */
export function firmwareSearchDirs(kernelVersion: string): string[] {
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
  const view = rootViewOf(root);
  for (const dir of firmwareSearchDirs(kernelVersion)) {
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
