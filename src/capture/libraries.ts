import { posix } from 'node:path';
import { DF_1, EM } from './elf.js';
import { DEFAULT_PATH, joinRootPath, RootView, type SymlinkHop } from './fs-root.js';
import { hasGlobMagic } from './fs-root-glob.js';
import { LinkMap, type LoadedObject } from './libraries-link-map.js';
import {
  flavourKey,
  flavourOf,
  type ObjectFile,
  ObjectFinder,
  type PlatformOverrides,
  type SearchHit,
} from './libraries-objects.js';
import type { ElfFlavour } from './libraries-search-path.js';
import { expandDynamicStringTokens, searchDirsOf } from './libraries-search-path.js';

/**
 * The shared libraries a set of programs in a root filesystem needs, worked out as glibc's
 * dynamic loader would at run time, without running anything from the root (no `ldd`: ldd runs
 * the program's loader, which for a foreign or compromised root is not safe and for another
 * architecture not possible).
 *
 * For each program, the loader's breadth-first walk of DT_NEEDED is replayed with its own link
 * map (what one process would have loaded), because RPATH inheritance and name matching depend
 * on what is already loaded in that process. Results are merged over all programs.
 *
 * Search order for a DT_NEEDED name (glibc 2.36 `_dl_map_object`):
 *   1. a name containing `/` is a path (after $ORIGIN/$LIB/$PLATFORM expansion);
 *   2. unless the requesting object has DT_RUNPATH: the DT_RPATH of the requester, of the object
 *      that loaded it, and so on up to the program, then the program's DT_RPATH (an object with
 *      DT_RUNPATH has its DT_RPATH ignored everywhere);
 *   3. (LD_LIBRARY_PATH: not used; a rescue system does not inherit the capturing shell's one);
 *   4. the requester's own DT_RUNPATH (not inherited);
 *   5. the ld.so.conf directories (what ld.so.cache indexes), then the default directories, both
 *      unless DF_1_NODEFLIB says otherwise (see libraries-search-path.ts);
 * every directory preceded by its glibc-hwcaps subdirectories, and every candidate checked for the
 * requester's ELF class, byte order and machine.
 *
 * $ORIGIN is what glibc uses: for the program, the directory of its real path (the kernel's
 * /proc/self/exe has every symlink resolved); for a library, the directory it was found in, as
 * written in the search path (not resolved).
 */

export { DEFAULT_DLOPEN_LIBS } from './libraries-defaults.js';

export interface LibraryClosureOptions {
  /**
   * Libraries loaded with dlopen (sonames, or globs; see DEFAULT_DLOPEN_LIBS) to add with their
   * own closure. Default: none.
   */
  extraLibraries?: readonly string[];
  /** PATH inside the root, for program names without `/` and `#!/usr/bin/env NAME`. */
  searchPath?: string;
  /** Override what the loader substitutes for $LIB/$PLATFORM and where it searches. */
  platform?: PlatformOverrides;
}

/** A program given as input, or the interpreter of a script given as input. */
export interface CapturedProgram {
  /** As asked for (absolute in the root), or where PATH found it. */
  path: string;
  realPath: string;
  /** Symlinks from `path` to `realPath` (e.g. /sbin -> usr/sbin, mkfs.ext4 -> mke2fs). */
  links: SymlinkHop[];
  kind: 'elf' | 'script';
  /** PT_INTERP of an ELF program; the `#!` interpreter of a script. */
  interpreter: string | undefined;
  /** The optional `#!` argument of a script. */
  interpreterArgument: string | undefined;
  /** Real paths of the scripts this program interprets ([] for programs given as input). */
  interprets: string[];
  /** Real paths of every library this program loads (PT_INTERP loader included), sorted. */
  libraries: string[];
}

/** A library of the closure. */
export interface CapturedLibrary {
  /** Where the loader finds it (first seen), e.g. /lib/x86_64-linux-gnu/libc.so.6. */
  path: string;
  /** The file itself, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6. */
  realPath: string;
  /**
   * Every symlink followed from every path it was found at to the file (directories included,
   * e.g. /lib -> usr/lib, then libz.so.1 -> libz.so.1.2.13): recreate these in the rescue system.
   */
  links: SymlinkHop[];
  /** The names it was asked for: DT_NEEDED names, the PT_INTERP path, extra-library entries. */
  names: string[];
  soname: string | undefined;
  /** Real paths of the objects that need it ([] for a library only asked for as an extra). */
  neededBy: string[];
  /** It was asked for in extraLibraries (a dlopen'd module). */
  extra: boolean;
  /**
   * It is a glibc-hwcaps alternative of another library (real path given): a CPU of another
   * level loads this copy instead, so the rescue system needs both.
   */
  alternativeOf: string | undefined;
}

/** A needed library, interpreter or loader that was not found. */
export interface UnresolvedNeed {
  /** The DT_NEEDED name, PT_INTERP path or `#!` interpreter. */
  name: string;
  /** Real paths of the objects that need it. */
  neededBy: string[];
}

/** An input that could not be analysed (missing, not a regular file, not ELF nor a script). */
export interface CaptureProblem {
  path: string;
  message: string;
}

export interface LibraryClosure {
  programs: CapturedProgram[];
  /** Sorted by real path. */
  libraries: CapturedLibrary[];
  /** Sorted by name. */
  unresolved: UnresolvedNeed[];
  /** extraLibraries entries that matched no library (normal: not every host has every module). */
  unmatchedExtras: string[];
  problems: CaptureProblem[];
}

/** Used for extra libraries when no ELF program tells which flavour the root is. */
const FALLBACK_FLAVOUR: ElfFlavour = { elfClass: 64, endian: 'little', machine: EM.X86_64 };

interface LibraryRecord {
  path: string;
  realPath: string;
  links: Map<string, string>;
  names: Set<string>;
  soname: string | undefined;
  neededBy: Set<string>;
  extra: boolean;
  alternativeOf: string | undefined;
}

/** Merges what every link map loaded into one closure. */
class ClosureCollector {
  readonly libraries = new Map<string, LibraryRecord>();
  readonly unresolved = new Map<string, Set<string>>();
  readonly problems: CaptureProblem[] = [];

  addLibrary(
    file: ObjectFile,
    how: { name: string; neededBy?: string; extra?: boolean; alternativeOf?: string },
  ): void {
    let record = this.libraries.get(file.realPath);
    if (record === undefined) {
      record = {
        path: file.path,
        realPath: file.realPath,
        links: new Map(),
        names: new Set(),
        soname: file.elf.soname,
        neededBy: new Set(),
        extra: false,
        alternativeOf: how.alternativeOf,
      };
      this.libraries.set(file.realPath, record);
    }
    for (const link of file.links) record.links.set(link.path, link.target);
    record.names.add(how.name);
    if (how.neededBy !== undefined) record.neededBy.add(how.neededBy);
    if (how.extra) record.extra = true;
    // A copy that is the chosen one for some requester is no mere alternative.
    if (how.alternativeOf === undefined) record.alternativeOf = undefined;
  }

  addUnresolved(name: string, neededBy: string): void {
    let needers = this.unresolved.get(name);
    if (needers === undefined) {
      needers = new Set();
      this.unresolved.set(name, needers);
    }
    needers.add(neededBy);
  }

  librariesSorted(): CapturedLibrary[] {
    return [...this.libraries.values()]
      .sort((a, b) => compare(a.realPath, b.realPath))
      .map((r) => ({
        path: r.path,
        realPath: r.realPath,
        links: [...r.links].map(([path, target]) => ({ path, target })),
        names: [...r.names].sort(compare),
        soname: r.soname,
        neededBy: [...r.neededBy].sort(compare),
        extra: r.extra,
        alternativeOf: r.alternativeOf,
      }));
  }

  unresolvedSorted(): UnresolvedNeed[] {
    return [...this.unresolved]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, needers]) => ({ name, neededBy: [...needers].sort(compare) }));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Replays the loader for one process: the program (or a dlopen'd library) first, then its
 * interpreter, then DT_NEEDED breadth first. Returns the real paths of what it loaded.
 */
class LoaderReplay {
  private readonly map = new LinkMap();

  constructor(
    private readonly finder: ObjectFinder,
    private readonly collector: ClosureCollector,
  ) {}

  async run(first: ObjectFile, isProgram: boolean): Promise<Set<string>> {
    const flavour = flavourOf(first.elf);
    // The kernel resolves /proc/self/exe; a library's origin is the directory it was found in.
    const origin = posix.dirname(isProgram ? first.realPath : first.path);
    const start = this.map.add(first, undefined, origin, { isMain: isProgram });
    const loaded = new Set<string>();
    if (!isProgram) loaded.add(first.realPath);

    if (first.elf.interpreter !== undefined) {
      const interpreterPath = first.elf.interpreter;
      const interpreter = interpreterPath.startsWith('/')
        ? await this.finder.open(interpreterPath, flavour)
        : undefined;
      if (interpreter === undefined) {
        this.collector.addUnresolved(interpreterPath, first.realPath);
      } else {
        // ld.so is in every link map under its PT_INTERP name and its soname, which is how
        // libc's DT_NEEDED "ld-linux-x86-64.so.2" finds it without a search.
        this.map.addInterpreter(interpreter, interpreterPath);
        loaded.add(interpreter.realPath);
        this.collector.addLibrary(interpreter, { name: interpreterPath, neededBy: first.realPath });
      }
    }

    for (const object of this.map.breadthFirst()) {
      for (const name of object.file.elf.needed) {
        const already = this.map.byName(name);
        if (already !== undefined) {
          if (already !== start || !isProgram) {
            this.collector.addLibrary(already.file, { name, neededBy: object.file.realPath });
            loaded.add(already.file.realPath);
          }
          continue;
        }
        const hit = await this.resolveNeeded(name, object);
        if (hit === undefined) {
          this.collector.addUnresolved(name, object.file.realPath);
          continue;
        }
        const dependency =
          this.map.loadedAt(hit.chosen.realPath) ?? this.map.add(hit.chosen, object);
        this.map.nameObject(name, dependency);
        loaded.add(hit.chosen.realPath);
        this.collector.addLibrary(hit.chosen, { name, neededBy: object.file.realPath });
        for (const alternative of hit.alternatives) {
          if (this.map.loadedAt(alternative.realPath) === undefined) {
            this.map.add(alternative, object, undefined, { anonymous: true });
          }
          loaded.add(alternative.realPath);
          this.collector.addLibrary(alternative, {
            name,
            neededBy: object.file.realPath,
            alternativeOf: hit.chosen.realPath,
          });
        }
      }
    }
    return loaded;
  }

  private async resolveNeeded(
    name: string,
    requester: LoadedObject,
  ): Promise<SearchHit | undefined> {
    const elf = requester.file.elf;
    const flavour = flavourOf(elf);
    const platform = await this.finder.platform(flavour);

    if (name.includes('/')) {
      const path = expandDynamicStringTokens(name, requester.origin, platform);
      // A relative path is relative to the process's working directory: unknowable here.
      if (path === undefined || !path.startsWith('/')) return undefined;
      const file = await this.finder.open(path, flavour);
      return file === undefined ? undefined : { chosen: file, alternatives: [] };
    }

    if (elf.runpath === undefined) {
      let searchedMain = false;
      for (let object: LoadedObject | undefined = requester; object; object = object.loader) {
        const hit = await this.searchRpath(name, object, flavour);
        if (hit !== undefined) return hit;
        if (object.isMain) searchedMain = true;
      }
      const main = this.map.main;
      if (!searchedMain && main !== undefined) {
        const hit = await this.searchRpath(name, main, flavour);
        if (hit !== undefined) return hit;
      }
    } else {
      const dirs = searchDirsOf(elf.runpath, requester.origin, platform);
      const hit = await this.finder.search(name, dirs, flavour);
      if (hit !== undefined) return hit;
    }

    // glibc asks the requesting object's DT_FLAGS_1.
    const noDefaultLib = (elf.flags1 & DF_1.NODEFLIB) !== 0;
    return this.finder.searchSystem(name, flavour, noDefaultLib);
  }

  /** DT_RPATH of one object; ignored when the object also has DT_RUNPATH. */
  private async searchRpath(
    name: string,
    object: LoadedObject,
    flavour: ElfFlavour,
  ): Promise<SearchHit | undefined> {
    const { rpath, runpath } = object.file.elf;
    if (rpath === undefined || runpath !== undefined) return undefined;
    const platform = await this.finder.platform(flavourOf(object.file.elf));
    const dirs = searchDirsOf(rpath, object.origin, platform);
    return this.finder.search(name, dirs, flavour);
  }
}

/** Words of `#!/usr/bin/env [-S] [-i] [NAME=VALUE...] PROGRAM args`: the program env runs. */
function programRunByEnv(argument: string | undefined): string | undefined {
  for (const word of (argument ?? '').split(/[ \t]+/)) {
    if (word === '' || word.startsWith('-') || word.includes('=')) continue;
    return word;
  }
  return undefined;
}

/**
 * The library closure of `programs` (paths inside `root`, or names looked up along the root's
 * PATH) and of the extra (dlopen'd) libraries: see the module comment for the rules.
 */
export async function libraryClosure(
  root: string | RootView,
  programs: readonly string[],
  options: LibraryClosureOptions = {},
): Promise<LibraryClosure> {
  const view = typeof root === 'string' ? new RootView(root) : root;
  const finder = new ObjectFinder(view, options.platform);
  const collector = new ClosureCollector();
  const searchPath = options.searchPath ?? DEFAULT_PATH;
  const closures = new Map<string, Set<string>>();

  const results: CapturedProgram[] = [];
  const byRealPath = new Map<string, CapturedProgram>();
  const flavours = new Map<string, ElfFlavour>();

  /** Analyse one program; `script` is the script it interprets, if any. */
  const analyse = async (name: string, viaPath: boolean, script?: string): Promise<void> => {
    const entry = viaPath ? await view.which(name, searchPath) : await view.lookup(name);
    if (entry === undefined || !entry.stats.isFile()) {
      if (script !== undefined) collector.addUnresolved(name, script);
      else collector.problems.push({ path: name, message: 'no such program in the root' });
      return;
    }
    const known = byRealPath.get(entry.realPath);
    if (known !== undefined && known.path === entry.path) {
      if (script !== undefined && !known.interprets.includes(script)) known.interprets.push(script);
      return;
    }
    const info = finder.parse(entry.realPath);
    if (info instanceof Error) {
      if (script !== undefined) collector.addUnresolved(name, script);
      collector.problems.push({ path: entry.path, message: info.message });
      return;
    }
    const program: CapturedProgram = {
      path: entry.path,
      realPath: entry.realPath,
      links: entry.links,
      kind: info.kind,
      interpreter: info.interpreter,
      interpreterArgument: info.kind === 'script' ? info.argument : undefined,
      interprets: script === undefined ? [] : [script],
      libraries: [],
    };
    results.push(program);
    byRealPath.set(entry.realPath, program);

    if (info.kind === 'script') {
      await analyse(info.interpreter, false, entry.realPath);
      if (posix.basename(info.interpreter) === 'env') {
        const envProgram = programRunByEnv(info.argument);
        if (envProgram !== undefined)
          await analyse(envProgram, !envProgram.includes('/'), entry.realPath);
      }
      return;
    }
    flavours.set(flavourKey(flavourOf(info)), flavourOf(info));
    let closure = closures.get(entry.realPath);
    if (closure === undefined) {
      const file = { path: entry.path, realPath: entry.realPath, links: entry.links, elf: info };
      closure = await new LoaderReplay(finder, collector).run(file, true);
      closures.set(entry.realPath, closure);
    }
    program.libraries = [...closure].sort(compare);
  };

  for (const program of programs) await analyse(program, !program.includes('/'));

  const unmatchedExtras: string[] = [];
  const extraFlavours = flavours.size > 0 ? [...flavours.values()] : [FALLBACK_FLAVOUR];
  for (const extra of options.extraLibraries ?? []) {
    const files = await findExtra(finder, extra, extraFlavours);
    if (files.length === 0) unmatchedExtras.push(extra);
    for (const { file, alternativeOf } of files) {
      const name = hasGlobMagic(extra) ? (file.elf.soname ?? posix.basename(file.path)) : extra;
      collector.addLibrary(file, {
        name,
        extra: true,
        ...(alternativeOf ? { alternativeOf } : {}),
      });
      if (!closures.has(file.realPath)) {
        closures.set(file.realPath, await new LoaderReplay(finder, collector).run(file, false));
      }
    }
  }

  return {
    programs: results,
    libraries: collector.librariesSorted(),
    unresolved: collector.unresolvedSorted(),
    unmatchedExtras,
    problems: collector.problems,
  };
}

/**
 * The files an extraLibraries entry stands for, for every flavour of program in the capture: a
 * soname is searched like a dlopen() by a program without RPATH (ld.so.conf, default dirs,
 * hwcaps); a glob is matched in every one of those directories, or against the root when absolute.
 */
async function findExtra(
  finder: ObjectFinder,
  extra: string,
  flavours: readonly ElfFlavour[],
): Promise<{ file: ObjectFile; alternativeOf?: string }[]> {
  const found = new Map<string, { file: ObjectFile; alternativeOf?: string }>();
  for (const flavour of flavours) {
    if (!hasGlobMagic(extra) && !extra.includes('/')) {
      const hit = await finder.searchSystem(extra, flavour, false);
      if (hit === undefined) continue;
      if (!found.has(hit.chosen.realPath)) found.set(hit.chosen.realPath, { file: hit.chosen });
      for (const alternative of hit.alternatives) {
        if (!found.has(alternative.realPath)) {
          found.set(alternative.realPath, {
            file: alternative,
            alternativeOf: hit.chosen.realPath,
          });
        }
      }
      continue;
    }
    const patterns = extra.startsWith('/')
      ? [extra]
      : (await finder.systemDirs(flavour)).map((dir) => joinRootPath(dir, extra));
    for (const pattern of patterns) {
      for (const path of await finder.view.glob(pattern)) {
        const file = await finder.open(path, flavour);
        if (file !== undefined && !found.has(file.realPath)) found.set(file.realPath, { file });
      }
    }
  }
  return [...found.values()];
}
