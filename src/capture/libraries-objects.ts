import { type ElfInfo, type ExecutableInfo, readExecutableFile } from './elf.js';
import { joinRootPath, type RootView, type SymlinkHop } from './fs-root.js';
import {
  type ElfFlavour,
  type LoaderPlatform,
  loaderPlatform,
  readLdSoConf,
} from './libraries-search-path.js';

/**
 * The file side of library resolution: opening candidates inside the root, checking they are ELF
 * objects the requesting program could load, and searching directories the way the loader does.
 * Everything read is cached for the whole capture, so a library that fifty programs need is
 * parsed once.
 */

/** An ELF object found in the root. */
export interface ObjectFile {
  /** Where it was found, e.g. /lib/x86_64-linux-gnu/libc.so.6 (symlinks not resolved). */
  path: string;
  /** The file itself, every symlink resolved inside the root. */
  realPath: string;
  /** Symlinks followed from `path` to `realPath`. */
  links: SymlinkHop[];
  elf: ElfInfo;
}

/** A file found in a search, plus the copies other CPUs would load instead (glibc-hwcaps). */
export interface SearchHit {
  /** What a CPU supporting every hwcaps level would load. */
  chosen: ObjectFile;
  /** The same name in the lower hwcaps levels and the plain directory of the same search dir. */
  alternatives: ObjectFile[];
}

export type PlatformOverrides = Partial<LoaderPlatform>;

export function flavourOf(elf: ElfInfo): ElfFlavour {
  return { elfClass: elf.elfClass, endian: elf.endian, machine: elf.machine };
}

export function flavourKey(flavour: ElfFlavour): string {
  return `${flavour.elfClass}/${flavour.endian}/${flavour.machine}`;
}

function matchesFlavour(elf: ElfInfo, flavour: ElfFlavour): boolean {
  return (
    elf.elfClass === flavour.elfClass &&
    elf.endian === flavour.endian &&
    elf.machine === flavour.machine
  );
}

export class ObjectFinder {
  private readonly parsed = new Map<string, ExecutableInfo | Error>();
  private readonly platforms = new Map<string, Promise<LoaderPlatform>>();
  private readonly defaultSearches = new Map<string, Promise<SearchHit | undefined>>();
  private confDirs: Promise<string[]> | undefined;

  constructor(
    readonly view: RootView,
    private readonly overrides: PlatformOverrides = {},
  ) {}

  /** The program or library at a real path, parsed once; an Error when it is neither. */
  parse(realPath: string): ExecutableInfo | Error {
    let result = this.parsed.get(realPath);
    if (result === undefined) {
      try {
        result = readExecutableFile(this.view.hostPath(realPath));
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      this.parsed.set(realPath, result);
    }
    return result;
  }

  platform(flavour: ElfFlavour): Promise<LoaderPlatform> {
    const key = flavourKey(flavour);
    let platform = this.platforms.get(key);
    if (platform === undefined) {
      platform = loaderPlatform(this.view, flavour).then((found) => ({
        ...found,
        ...this.overrides,
      }));
      this.platforms.set(key, platform);
    }
    return platform;
  }

  /** The directories /etc/ld.so.conf lists (what ld.so.cache indexes). */
  ldSoConfDirs(): Promise<string[]> {
    this.confDirs ??= readLdSoConf(this.view);
    return this.confDirs;
  }

  /**
   * The ELF object at `path` if the loader would accept it for a requester of `flavour`: a
   * regular file (after symlinks), ELF, same class, byte order and machine. glibc skips other
   * files and keeps searching, which is what lets /usr/lib hold i386 libraries next to x86-64
   * programs.
   */
  async open(path: string, flavour: ElfFlavour): Promise<ObjectFile | undefined> {
    const entry = await this.view.lookup(path);
    if (!entry?.stats.isFile()) return undefined;
    const info = this.parse(entry.realPath);
    if (info instanceof Error || info.kind !== 'elf' || !matchesFlavour(info, flavour)) {
      return undefined;
    }
    return { path: entry.path, realPath: entry.realPath, links: entry.links, elf: info };
  }

  /** Search `name` in `dirs`, each preceded by its glibc-hwcaps subdirectories. */
  async search(
    name: string,
    dirs: readonly string[],
    flavour: ElfFlavour,
  ): Promise<SearchHit | undefined> {
    const { hwcapsSubdirs } = await this.platform(flavour);
    for (const dir of dirs) {
      const candidates = [...hwcapsSubdirs.map((sub) => joinRootPath(dir, sub)), dir];
      let hit: SearchHit | undefined;
      for (const candidateDir of candidates) {
        const found = await this.open(joinRootPath(candidateDir, name), flavour);
        if (found === undefined) continue;
        if (hit === undefined) hit = { chosen: found, alternatives: [] };
        else if (!sameFile(hit, found)) hit.alternatives.push(found);
      }
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /**
   * `name` in the directories of ld.so.conf (standing in for ld.so.cache), then the default
   * directories. With DF_1_NODEFLIB the default directories are skipped, and so are the
   * ld.so.conf directories inside them (glibc drops cache entries under a system directory).
   */
  searchSystem(
    name: string,
    flavour: ElfFlavour,
    noDefaultLib: boolean,
  ): Promise<SearchHit | undefined> {
    const key = `${flavourKey(flavour)}|${noDefaultLib}|${name}`;
    let search = this.defaultSearches.get(key);
    if (search === undefined) {
      search = this.systemDirs(flavour, noDefaultLib).then((dirs) =>
        this.search(name, dirs, flavour),
      );
      this.defaultSearches.set(key, search);
    }
    return search;
  }

  /** The ld.so.conf directories followed by the default ones (see searchSystem). */
  async systemDirs(flavour: ElfFlavour, noDefaultLib = false): Promise<string[]> {
    const [conf, platform] = await Promise.all([this.ldSoConfDirs(), this.platform(flavour)]);
    const defaults = platform.defaultDirs;
    if (noDefaultLib) {
      const underDefault = (dir: string) =>
        defaults.some((d) => `${dir}/`.startsWith(d === '/' ? '/' : `${d}/`));
      return conf.filter((dir) => !underDefault(dir));
    }
    return [...new Set([...conf, ...defaults])];
  }
}

function sameFile(hit: SearchHit, found: ObjectFile): boolean {
  return (
    hit.chosen.realPath === found.realPath ||
    hit.alternatives.some((alternative) => alternative.realPath === found.realPath)
  );
}
