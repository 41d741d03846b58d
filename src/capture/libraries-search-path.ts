import { posix } from 'node:path';
import { EM } from './elf.js';
import type { RootView } from './fs-root.js';

/**
 * Where glibc's dynamic loader (ld.so, glibc 2.36 as in Debian bookworm) looks for a library, as
 * far as it can be known without running anything from the root.
 *
 * Choices, each checked against the loader itself (LD_DEBUG=libs on bookworm x86-64):
 *
 * - `$LIB` is the last two components of the loader's compiled-in slibdir on Debian, whose glibc
 *   is built with slibdir=/lib/x86_64-linux-gnu: it expands to `lib/x86_64-linux-gnu` (seen:
 *   RUNPATH `/opt/$LIB` is searched as `/opt/lib/x86_64-linux-gnu`). Upstream glibc and Fedora
 *   expand it to `lib64` (64-bit) or `lib`. We take the Debian form when the root has the
 *   multiarch directory, else the upstream one.
 * - `$PLATFORM` is AT_PLATFORM from the kernel ("x86_64"), except that glibc < 2.37 on x86-64
 *   replaces it with "haswell" or "xeon_phi" on CPUs that have those features. The rescue machine's
 *   CPU is unknown, so we use the kernel's value; callers can override it.
 * - The default ("system") directories are compiled into ld.so. Debian's are
 *   /lib/<triplet>:/usr/lib/<triplet>:/lib:/usr/lib (LD_DEBUG prints exactly that as "system
 *   search path"); upstream 64-bit glibc has /lib64:/usr/lib64. We search the union in that order:
 *   directories a root lacks are skipped, and a wrong-class file is skipped as the loader skips
 *   it, so the union finds what either layout's loader would.
 * - glibc-hwcaps subdirectories (x86-64-v4, -v3, -v2 below every search directory) are searched
 *   first, as on a CPU that supports them all. The legacy hwcaps subdirectories (tls, haswell,
 *   avx512_1, x86_64), still searched by 2.36 but removed in 2.37, are not: nothing in Debian
 *   installs libraries there.
 * - /etc/ld.so.cache is not read: it is ldconfig's index of the directories in /etc/ld.so.conf
 *   (and the system directories), in a binary format that changed across glibc versions, and it
 *   can be stale in a root whose packages were unpacked without running ldconfig. Reading the
 *   configuration and the directories it names gives the same answer from the source of truth.
 *   (ldconfig indexes by DT_SONAME while we look for a file of that name; ldconfig itself
 *   creates those soname symlinks, so in an installed root they exist.)
 */

/** What the loader of one ELF class and machine substitutes and searches. */
export interface LoaderPlatform {
  /** Replacement for `$LIB` / `${LIB}`. */
  lib: string;
  /** Replacement for `$PLATFORM` / `${PLATFORM}`. */
  platform: string;
  /** Subdirectories searched before every search directory, best first. */
  hwcapsSubdirs: string[];
  /** Directories searched last, unless DF_1_NODEFLIB. */
  defaultDirs: string[];
}

/** An ELF flavour a library must match to be loaded: class, data encoding and machine. */
export interface ElfFlavour {
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
}

interface MachineFacts {
  triplet: string;
  platform: string;
  hwcaps: string[];
}

/** Debian multiarch triplet, kernel AT_PLATFORM and glibc-hwcaps names of a flavour. */
function machineFacts(flavour: ElfFlavour): MachineFacts | undefined {
  const is64 = flavour.elfClass === 64;
  switch (flavour.machine) {
    case EM.X86_64:
      return is64
        ? {
            triplet: 'x86_64-linux-gnu',
            platform: 'x86_64',
            hwcaps: ['glibc-hwcaps/x86-64-v4', 'glibc-hwcaps/x86-64-v3', 'glibc-hwcaps/x86-64-v2'],
          }
        : { triplet: 'x86_64-linux-gnux32', platform: 'x86_64', hwcaps: [] };
    case EM.I386:
      return { triplet: 'i386-linux-gnu', platform: 'i686', hwcaps: [] };
    case EM.AARCH64:
      return { triplet: 'aarch64-linux-gnu', platform: 'aarch64', hwcaps: [] };
    case EM.ARM:
      return { triplet: 'arm-linux-gnueabihf', platform: 'v7l', hwcaps: [] };
    case EM.PPC64:
      return flavour.endian === 'little'
        ? {
            triplet: 'powerpc64le-linux-gnu',
            platform: 'power8',
            hwcaps: ['glibc-hwcaps/power10', 'glibc-hwcaps/power9'],
          }
        : { triplet: 'powerpc64-linux-gnu', platform: 'power8', hwcaps: [] };
    case EM.S390:
      return is64
        ? {
            triplet: 's390x-linux-gnu',
            platform: 'z13',
            hwcaps: [
              'glibc-hwcaps/z16',
              'glibc-hwcaps/z15',
              'glibc-hwcaps/z14',
              'glibc-hwcaps/z13',
            ],
          }
        : undefined;
    case EM.RISCV:
      return is64 ? { triplet: 'riscv64-linux-gnu', platform: 'riscv64', hwcaps: [] } : undefined;
    default:
      return undefined;
  }
}

/** The loader's substitutions and directories for a flavour, fitted to the root's layout. */
export async function loaderPlatform(view: RootView, flavour: ElfFlavour): Promise<LoaderPlatform> {
  const facts = machineFacts(flavour);
  const is64 = flavour.elfClass === 64;
  const upstreamLib = is64 ? 'lib64' : 'lib';
  const multiarch = facts === undefined ? undefined : `lib/${facts.triplet}`;
  const rootIsMultiarch =
    multiarch !== undefined && (await view.lookup(`/${multiarch}`))?.stats.isDirectory() === true;

  const defaultDirs = [
    ...(facts === undefined ? [] : [`/lib/${facts.triplet}`, `/usr/lib/${facts.triplet}`]),
    ...(is64 ? ['/lib64', '/usr/lib64'] : []),
    '/lib',
    '/usr/lib',
  ];
  return {
    lib: rootIsMultiarch && multiarch !== undefined ? multiarch : upstreamLib,
    platform: facts?.platform ?? 'unknown',
    hwcapsSubdirs: facts?.hwcaps ?? [],
    defaultDirs,
  };
}

const DST = /\$(?:\{(ORIGIN|PLATFORM|LIB)\}|(ORIGIN|PLATFORM|LIB)(?![A-Za-z0-9_]))/g;

/**
 * One DT_RPATH/DT_RUNPATH element with its dynamic string tokens replaced, as glibc's
 * _dl_dst_substitute does: `$ORIGIN`, `$PLATFORM`, `$LIB` and their `${...}` forms; an unknown
 * `$NAME` stays literally. Undefined when `$ORIGIN` is used but unknown (glibc drops the element).
 */
export function expandDynamicStringTokens(
  element: string,
  origin: string | undefined,
  platform: Pick<LoaderPlatform, 'lib' | 'platform'>,
): string | undefined {
  let unknownOrigin = false;
  const expanded = element.replace(DST, (_match, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === 'ORIGIN') {
      if (origin === undefined) unknownOrigin = true;
      return origin ?? '';
    }
    return name === 'LIB' ? platform.lib : platform.platform;
  });
  return unknownOrigin ? undefined : expanded;
}

/**
 * The directories of a DT_RPATH/DT_RUNPATH value, tokens expanded. Empty and relative elements
 * mean "relative to the current directory" to the loader; a captured root has no current
 * directory, so they are left out.
 */
export function searchDirsOf(
  value: string,
  origin: string | undefined,
  platform: Pick<LoaderPlatform, 'lib' | 'platform'>,
): string[] {
  const dirs: string[] = [];
  for (const element of value.split(':')) {
    const expanded = expandDynamicStringTokens(element, origin, platform);
    if (expanded === undefined || !expanded.startsWith('/')) continue;
    const dir = expanded.length > 1 ? expanded.replace(/\/+$/, '') : expanded;
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

/** Nesting limit for `include` in ld.so.conf (guards against a file including itself). */
const MAX_INCLUDE_DEPTH = 16;

/**
 * The library directories listed by the root's /etc/ld.so.conf, in order, read as ldconfig
 * reads it (glibc 2.36 parse_conf): `#` comments, `include GLOB...` (several globs per line;
 * relative ones taken from the directory of the file that has the include line, i.e. /etc for
 * ld.so.conf itself), obsolete `hwcap` lines ignored, every other line one directory. Duplicates
 * are kept once, at their first place.
 */
export async function readLdSoConf(view: RootView, file = '/etc/ld.so.conf'): Promise<string[]> {
  const dirs: string[] = [];
  await readConfFile(view, file, 0, dirs);
  return dirs;
}

async function readConfFile(
  view: RootView,
  file: string,
  depth: number,
  dirs: string[],
): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) return;
  const content = await view.readFile(file);
  if (content === undefined) return;
  for (const rawLine of content.toString('utf8').split('\n')) {
    const line = (rawLine.split('#')[0] ?? '').trim();
    if (line === '') continue;
    const include = /^include[ \t]+(.*)$/.exec(line);
    if (include) {
      for (const pattern of (include[1] ?? '').split(/[ \t]+/).filter(Boolean)) {
        const absolute = pattern.startsWith('/')
          ? pattern
          : posix.join(posix.dirname(file), pattern);
        for (const included of await view.glob(absolute)) {
          await readConfFile(view, included, depth + 1, dirs);
        }
      }
      continue;
    }
    if (/^hwcap[ \t]/i.test(line)) continue;
    // One directory per line; ldconfig still accepts an old `DIR=libc5`-style type suffix.
    const dir = (line.split('=')[0] ?? '').trimEnd().replace(/(.)\/+$/, '$1');
    if (dir.startsWith('/') && !dirs.includes(dir)) dirs.push(dir);
  }
}
