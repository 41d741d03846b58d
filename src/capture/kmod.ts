import { JobError } from '../errors.js';
import { type RootView, rootViewOf } from './fs-root.js';
import { globToRegExp, hasGlobMagic, literalPrefix } from './fs-root-glob.js';
import {
  mergeSoftdeps,
  moduleNameFromPath,
  NO_SOFTDEPS,
  normalizeModuleName,
  parseModinfoSection,
  parseSoftdep,
  type SoftDeps,
} from './kmod-modinfo.js';

/**
 * A kernel's module metadata as depmod left it in a root filesystem (`lib/modules/<version>/`),
 * read as text/data only: nothing from the root is executed.
 *
 * The root is read through a RootView (fs-root.ts): every function takes one, so that a capture
 * shares one view (and its cache) between libraries, modules and firmware, or a root path for a
 * view of its own. Module capture reports paths relative to the root (`usr/lib/modules/...`, no
 * leading `/`), as modules.dep and the firmware loader name them.
 */

/** A RootView path (`/usr/lib`, `/` for the root) as module capture reports it (`usr/lib`, ''). */
export function rootRelative(rootPath: string): string {
  return rootPath.replace(/^\/+/, '');
}

/**
 * The root-relative path that `path` names inside the root, every symlink resolved; from the first
 * component that does not exist on, the rest is kept as written (RootView.resolve's allowMissing),
 * so the caller can test the result for existence. RootPathError when symlinks loop.
 */
export async function resolveInRoot(root: string | RootView, path: string): Promise<string> {
  const { realPath } = await rootViewOf(root).resolve(path, { allowMissing: true });
  return rootRelative(realPath);
}

/** Text of a file inside the root, or undefined when there is no such file there. */
export async function readRootText(
  root: string | RootView,
  path: string,
): Promise<string | undefined> {
  return (await rootViewOf(root).readFile(path))?.toString('utf8');
}

export interface ModuleFile {
  /** Normalised module name (`dm_crypt` for `dm-crypt.ko`). */
  name: string;
  /** Path relative to the kernel's modules directory, as modules.dep writes it. */
  path: string;
  /** Names of the modules it needs loaded first (modules.dep, already transitive). */
  deps: string[];
}

export interface KernelModules {
  /** The root on this machine (`view.root`). */
  root: string;
  /** The view the metadata was read through; module files and firmware are looked up in it. */
  view: RootView;
  version: string;
  /** Root-relative modules directory with symlinks resolved (`usr/lib/modules/<v>` on merged /usr). */
  dir: string;
  /** Every module file depmod knows of, by normalised name. */
  modules: Map<string, ModuleFile>;
  /** Names of modules compiled into the kernel: never looked for as files. */
  builtin: Set<string>;
  /** modinfo fields of built-in modules (modules.builtin.modinfo), by name. */
  builtinInfo: Map<string, Map<string, string[]>>;
  /** Soft dependencies from modules.softdep and the root's modprobe.d, by module name. */
  softdeps: Map<string, SoftDeps>;
  aliases: AliasTable;
}

/** Kernel versions with module metadata in the root (sorted). */
export async function listKernelVersions(root: string | RootView): Promise<string[]> {
  const view = rootViewOf(root);
  const versions: string[] = [];
  for (const name of await view.readdir('/lib/modules')) {
    if ((await view.lookup(`/lib/modules/${name}/modules.dep`))?.stats.isFile()) {
      versions.push(name);
    }
  }
  return versions.sort();
}

export async function loadKernelModules(
  root: string | RootView,
  version: string,
): Promise<KernelModules> {
  if (version.includes('/') || version === '..' || version === '.') {
    throw new JobError(`bad kernel version '${version}'`);
  }
  const view = rootViewOf(root);
  const dir = await resolveInRoot(view, `/lib/modules/${version}`);
  const text = (file: string) => readRootText(view, `/${dir}/${file}`);

  const dep = await text('modules.dep');
  if (dep === undefined) {
    throw new JobError(`${view.root}: no lib/modules/${version}/modules.dep`, {
      hint: 'the kernel package in that root looks incomplete: depmod has not run for it',
    });
  }
  const modules = parseModulesDep(dep);
  const builtin = parseModulesBuiltin((await text('modules.builtin')) ?? '');
  const builtinModinfo = await view.readFile(`/${dir}/modules.builtin.modinfo`);
  const builtinInfo = builtinModinfo ? parseBuiltinModinfo(builtinModinfo) : new Map();

  const aliases = new AliasTable();
  const softdeps = new Map<string, SoftDeps>();
  // Later sources only add: modprobe's config (root's modprobe.d) and depmod's files together.
  for (const config of await readModprobeConfigs(view))
    parseAliasesAndSoftdeps(config, aliases, softdeps, 'config');
  parseAliasesAndSoftdeps((await text('modules.alias')) ?? '', aliases, softdeps, 'modules');
  parseAliasesAndSoftdeps((await text('modules.softdep')) ?? '', aliases, softdeps, 'modules');
  for (const [name, fields] of builtinInfo) {
    for (const alias of fields.get('alias') ?? []) aliases.add(alias, name, 'builtin');
  }
  return { root: view.root, view, version, dir, modules, builtin, builtinInfo, softdeps, aliases };
}

/** modules.dep: `kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko` per line. */
export function parseModulesDep(text: string): Map<string, ModuleFile> {
  const modules = new Map<string, ModuleFile>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .split(/\s+/)
      .filter((d) => d !== '')
      .map(moduleNameFromPath);
    const name = moduleNameFromPath(path);
    // Like kmod, the first entry for a name wins (depmod orders updates/ and extra/ first).
    if (!modules.has(name)) modules.set(name, { name, path, deps });
  }
  return modules;
}

/** modules.builtin: one module path per line. */
export function parseModulesBuiltin(text: string): Set<string> {
  const names = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return new Set(names.map(moduleNameFromPath));
}

/** modules.builtin.modinfo: NUL-separated `module.key=value`. */
export function parseBuiltinModinfo(bytes: Buffer): Map<string, Map<string, string[]>> {
  const byModule = new Map<string, Map<string, string[]>>();
  for (const [qualifiedKey, values] of parseModinfoSection(bytes)) {
    const dot = qualifiedKey.indexOf('.');
    if (dot <= 0) continue;
    const name = normalizeModuleName(qualifiedKey.slice(0, dot));
    const fields = byModule.get(name) ?? new Map<string, string[]>();
    fields.set(qualifiedKey.slice(dot + 1), [
      ...(fields.get(qualifiedKey.slice(dot + 1)) ?? []),
      ...values,
    ]);
    byModule.set(name, fields);
  }
  return byModule;
}

/**
 * `alias PATTERN MODULE` and `softdep MODULE pre: ... post: ...` lines (modules.alias,
 * modules.softdep and modprobe.d share the syntax). Other commands (install, blacklist, options)
 * change how modules load, not which files a rescue system needs.
 */
export function parseAliasesAndSoftdeps(
  text: string,
  aliases: AliasTable,
  softdeps: Map<string, SoftDeps>,
  source: AliasSource,
): void {
  for (const raw of text.replaceAll('\\\n', ' ').split('\n')) {
    const [command, first, ...rest] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (first === undefined) continue;
    if (command === 'alias' && rest[0] !== undefined) aliases.add(first, rest[0], source);
    if (command === 'softdep') {
      const name = normalizeModuleName(first);
      const parsed = parseSoftdep(rest.join(' '));
      softdeps.set(name, mergeSoftdeps(softdeps.get(name) ?? NO_SOFTDEPS, parsed));
    }
  }
}

/** The root's modprobe.d files in kmod's order: one name in etc/ hides the same in lib/. */
async function readModprobeConfigs(view: RootView): Promise<string[]> {
  const chosen = new Map<string, string>();
  for (const dir of [
    '/etc/modprobe.d',
    '/run/modprobe.d',
    '/usr/local/lib/modprobe.d',
    '/lib/modprobe.d',
    '/usr/lib/modprobe.d',
  ]) {
    for (const name of await view.readdir(dir)) {
      if (name.endsWith('.conf') && !chosen.has(name)) chosen.set(name, `${dir}/${name}`);
    }
  }
  const texts: string[] = [];
  for (const name of [...chosen.keys()].sort()) {
    const text = await readRootText(view, chosen.get(name) as string);
    if (text !== undefined) texts.push(text);
  }
  return texts;
}

/**
 * kmod compares aliases after turning `-` into `_` outside `[...]` classes, on both sides; a
 * modalias like `pci:v00008086d...` is unchanged by it.
 */
export function normalizeAlias(alias: string): string {
  let out = '';
  let inClass = false;
  for (const c of alias) {
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += c === '-' && !inClass ? '_' : c;
  }
  return out;
}

/** Where an alias came from; kmod asks modprobe.d first, then modules.alias, then built-ins. */
export type AliasSource = 'config' | 'modules' | 'builtin';

interface GlobAlias {
  prefix: string;
  regexp: RegExp;
  module: string;
  source: AliasSource;
}

/** Alias patterns → module names. Exact aliases are a map lookup; globs are scanned by prefix. */
export class AliasTable {
  private readonly exact = new Map<string, { module: string; source: AliasSource }[]>();
  private readonly globs: GlobAlias[] = [];

  add(pattern: string, module: string, source: AliasSource): void {
    const normalized = normalizeAlias(pattern);
    const target = { module: normalizeModuleName(module), source };
    if (!hasGlobMagic(normalized)) {
      this.exact.set(normalized, [...(this.exact.get(normalized) ?? []), target]);
      return;
    }
    const prefix = literalPrefix(normalized);
    this.globs.push({ prefix, regexp: globToRegExp(normalized), ...target });
  }

  /**
   * The modules an alias or modalias resolves to, from the first source that has any (kmod's
   * order); every match of that source, as modprobe loads them all.
   */
  lookup(alias: string): { modules: string[]; source: AliasSource } | undefined {
    const wanted = normalizeAlias(alias);
    const hits = [...(this.exact.get(wanted) ?? [])];
    for (const g of this.globs) {
      if (wanted.startsWith(g.prefix) && g.regexp.test(wanted)) hits.push(g);
    }
    for (const source of ['config', 'modules', 'builtin'] as const) {
      const modules = [...new Set(hits.filter((h) => h.source === source).map((h) => h.module))];
      if (modules.length > 0) return { modules: modules.sort(), source };
    }
    return undefined;
  }
}

/** What a name asked for by someone (a module name, an alias, `fs-ext4`, a modalias) is. */
export type NameResolution =
  | { kind: 'module'; modules: string[] }
  | { kind: 'builtin'; name: string }
  | { kind: 'absent' };

/**
 * Resolves a name the way `modprobe NAME` does: modprobe.d aliases, then a module file of that
 * name, then a built-in module, then modules.alias, then aliases of built-in modules.
 */
export function resolveModuleName(kernel: KernelModules, requested: string): NameResolution {
  const name = normalizeModuleName(requested);
  const alias = kernel.aliases.lookup(requested);
  if (alias?.source === 'config') return resolveAliasTargets(kernel, alias.modules);
  if (kernel.modules.has(name)) return { kind: 'module', modules: [name] };
  if (kernel.builtin.has(name)) return { kind: 'builtin', name };
  if (alias !== undefined) return resolveAliasTargets(kernel, alias.modules);
  return { kind: 'absent' };
}

function resolveAliasTargets(kernel: KernelModules, targets: string[]): NameResolution {
  const files = targets.filter((t) => kernel.modules.has(t));
  if (files.length > 0) return { kind: 'module', modules: files };
  const builtin = targets.find((t) => kernel.builtin.has(t));
  return builtin === undefined ? { kind: 'absent' } : { kind: 'builtin', name: builtin };
}
