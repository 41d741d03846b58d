import { posix } from 'node:path';
import type { ObjectFile } from './libraries-objects.js';

/**
 * The objects one process has loaded, in load order: glibc's link map. The loader matches a
 * DT_NEEDED name against it before searching anything (by the names objects were loaded under
 * and by their DT_SONAME), and one file is loaded once however many names lead to it.
 */

export interface LoadedObject {
  file: ObjectFile;
  /** The object whose DT_NEEDED loaded this one (glibc's l_loader), for DT_RPATH inheritance. */
  loader: LoadedObject | undefined;
  /** What $ORIGIN expands to in this object's DT_RPATH/DT_RUNPATH. */
  origin: string;
  /** The program itself (glibc's main map), whose DT_RPATH is the last RPATH tried. */
  isMain: boolean;
}

export class LinkMap {
  private readonly objects: LoadedObject[] = [];
  private readonly names = new Map<string, LoadedObject>();
  private readonly realPaths = new Map<string, LoadedObject>();
  main: LoadedObject | undefined;

  /**
   * Load `file`. `anonymous` objects (hwcaps alternatives, which a process never has together
   * with the chosen copy) are walked for their own needs but answer to no name.
   */
  add(
    file: ObjectFile,
    loader: LoadedObject | undefined,
    origin: string = posix.dirname(file.path),
    options: { isMain?: boolean; anonymous?: boolean } = {},
  ): LoadedObject {
    const object: LoadedObject = { file, loader, origin, isMain: options.isMain ?? false };
    this.objects.push(object);
    this.realPaths.set(file.realPath, object);
    if (object.isMain) this.main = object;
    if (!options.anonymous && file.elf.soname !== undefined)
      this.nameObject(file.elf.soname, object);
    return object;
  }

  /** The program interpreter (ld.so): known by its PT_INTERP path and its soname. */
  addInterpreter(file: ObjectFile, interpreterPath: string): LoadedObject {
    const object = this.add(file, undefined);
    this.nameObject(interpreterPath, object);
    return object;
  }

  /** Record that `name` now refers to `object` (the first object to take a name keeps it). */
  nameObject(name: string, object: LoadedObject): void {
    if (!this.names.has(name)) this.names.set(name, object);
  }

  byName(name: string): LoadedObject | undefined {
    return this.names.get(name);
  }

  loadedAt(realPath: string): LoadedObject | undefined {
    return this.realPaths.get(realPath);
  }

  /** Every object in load order, including the ones loaded while iterating (a BFS queue). */
  *breadthFirst(): Generator<LoadedObject> {
    for (let i = 0; i < this.objects.length; i++) yield this.objects[i] as LoadedObject;
  }
}
