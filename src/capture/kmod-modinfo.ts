import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import { ElfError, isElf, namingFile, readSection } from './elf.js';

/**
 * The `.modinfo` section of a kernel module file: NUL-separated `key=value` strings that
 * MODULE_FIRMWARE, MODULE_SOFTDEP, MODULE_ALIAS, ... leave in the object. Read from the file
 * itself, never by running `modinfo` from the captured root (a compressed module this machine has
 * no decompressor for is read by this machine's own kmod).
 */

export interface SoftDeps {
  /** Loaded before the module. */
  pre: string[];
  /** Loaded after the module. */
  post: string[];
  /**
   * Names before any `pre:` or `post:`, which kmod ignores but modules do declare (cifs:
   * `softdep=ccm`, the ciphers it asks the crypto API for at mount time). A rescue system should
   * carry those that exist; those that don't (cifs of 6.1 names "aead2" and "nls") are no problem.
   */
  unmarked: string[];
}

export interface ModuleInfo {
  /** `name=` (5.x+ kernels store it), normalised. */
  name: string | undefined;
  /** `firmware=` files, relative to the firmware directory, as declared (may hold wildcards). */
  firmware: string[];
  /** `depends=`, normalised module names. */
  depends: string[];
  /** Every `softdep=` merged. */
  softdep: SoftDeps;
  /** `alias=` patterns. */
  alias: string[];
  /** Every key with all its values, in file order (license, description, parm, vermagic, ...). */
  fields: Map<string, string[]>;
}

/** Module names are the same with `-` and `_` (kmod, the kernel and depmod all normalise). */
export function normalizeModuleName(name: string): string {
  return name.replaceAll('-', '_');
}

/** Module name of a module file: `kernel/fs/fat/vfat.ko.xz` → `vfat`. */
export function moduleNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return normalizeModuleName(base.replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

/** Parses a softdep declaration: `pre: a b post: c`, names before any marker kept apart. */
export function parseSoftdep(text: string): SoftDeps {
  const deps: SoftDeps = { pre: [], post: [], unmarked: [] };
  let into = deps.unmarked;
  for (const token of text.split(/\s+/)) {
    if (token === '') continue;
    if (token === 'pre:') into = deps.pre;
    else if (token === 'post:') into = deps.post;
    else into.push(normalizeModuleName(token));
  }
  return deps;
}

/** Both declarations' names, list by list. */
export function mergeSoftdeps(a: SoftDeps, b: SoftDeps): SoftDeps {
  return {
    pre: [...a.pre, ...b.pre],
    post: [...a.post, ...b.post],
    unmarked: [...a.unmarked, ...b.unmarked],
  };
}

export const NO_SOFTDEPS: SoftDeps = { pre: [], post: [], unmarked: [] };

/** Key → values of a `.modinfo` section (NUL-separated `key=value` strings, with padding NULs). */
export function parseModinfoSection(bytes: Buffer): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const entry of bytes.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const values = fields.get(key) ?? [];
    values.push(entry.slice(eq + 1));
    fields.set(key, values);
  }
  return fields;
}

export function moduleInfoFromFields(fields: Map<string, string[]>): ModuleInfo {
  const softdep = (fields.get('softdep') ?? [])
    .map(parseSoftdep)
    .reduce(mergeSoftdeps, NO_SOFTDEPS);
  const name = fields.get('name')?.[0];
  return {
    name: name === undefined ? undefined : normalizeModuleName(name),
    firmware: fields.get('firmware') ?? [],
    depends: (fields.get('depends') ?? [])
      .flatMap((d) => d.split(','))
      .filter((d) => d !== '')
      .map(normalizeModuleName),
    softdep,
    alias: fields.get('alias') ?? [],
    fields,
  };
}

/**
 * The modinfo of a module file (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`), given its host path.
 * ElfError naming the file when it is no kernel module: not ELF, damaged, or without `.modinfo`.
 * A JobError when a compressed module can't be read on this machine.
 */
export async function readModuleInfo(file: string): Promise<ModuleInfo> {
  const object = await readModuleObject(file);
  if (object === undefined) return moduleInfoFromFields(await kmodModinfoFields(file));
  const section = namingFile(file, () => {
    const found = readSection(object, '.modinfo');
    if (found !== undefined) return found;
    throw new ElfError('invalid', 'no .modinfo section (not a kernel module?)');
  });
  return moduleInfoFromFields(parseModinfoSection(section));
}

/**
 * A section of bytes that may be a module object: readSection (elf.ts), but undefined rather
 * than an ElfError when they are no ELF at all (still an ElfError when they are damaged ELF).
 */
export function readModuleSection(object: Buffer, name: string): Buffer | undefined {
  return isElf(object) ? readSection(object, name) : undefined;
}

const gunzipAsync = promisify(gunzip);
/** Decompressed modules stay below this; a bigger one is a broken file, not a module. */
const MAX_MODULE_BYTES = 512 * 1024 * 1024;

/** What decompresses each kind of module file, and the Debian package that has it. */
const DECOMPRESSORS = {
  '.xz': { program: 'xz', package: 'xz-utils' },
  '.zst': { program: 'zstd', package: 'zstd' },
} as const;

function decompressorFor(file: string) {
  const suffix = file.slice(file.lastIndexOf('.'));
  return suffix === '.xz' || suffix === '.zst' ? DECOMPRESSORS[suffix] : undefined;
}

/**
 * The ELF object of a module file, decompressed; undefined when it is xz or zstd and this
 * machine has no such program (minimal Debian installs have neither: readModuleInfo then asks
 * kmod). xz and zstd are fed through stdin (node:zlib on Node 20 has no zstd, and no xz at
 * all); they only read data.
 */
export async function readModuleObject(file: string): Promise<Buffer | undefined> {
  const data = await readFile(file);
  if (file.endsWith('.gz')) return gunzipAsync(data, { maxOutputLength: MAX_MODULE_BYTES });
  const tool = decompressorFor(file);
  if (tool === undefined) return data;
  const result = await execa(tool.program, ['--decompress', '--stdout', '--quiet'], {
    input: data,
    encoding: 'buffer',
    stripFinalNewline: false,
    maxBuffer: MAX_MODULE_BYTES,
    reject: false,
  });
  if (result.code === 'ENOENT') return undefined;
  if (result.failed) {
    // Not execa's own error: it would carry the binary output into the log.
    const why = Buffer.from(result.stderr).toString('utf8').trim() || result.shortMessage;
    throw new JobError(`${file}: ${tool.program} could not decompress it: ${why}`, {
      hint: 'The module file is damaged: reinstall the kernel package it belongs to.',
    });
  }
  const stdout = result.stdout;
  return Buffer.from(stdout.buffer, stdout.byteOffset, stdout.byteLength);
}

/**
 * kmod's modinfo: on the PATH, or where Debian puts it (root's PATH has it; another user's may
 * not). The machine's own, never the captured root's; it only reads the file. Every host whose
 * kernel package installs compressed modules has it: the kernel package depends on kmod, which
 * decompresses with liblzma and libzstd, not with the programs.
 */
const MODINFO = ['modinfo', '/usr/sbin/modinfo', '/sbin/modinfo'];

/**
 * The `.modinfo` fields of a compressed module as kmod's `modinfo -0` prints them, each
 * NUL-terminated: `key=value` (kmod 30), or `key:` padded to 16 columns and the value (its own
 * `filename`, `parm` as it renders it, `name:type`, and older kmods' every field). `filename` and
 * the signature's fields are modinfo's, not the module's.
 */
async function kmodModinfoFields(file: string): Promise<Map<string, string[]>> {
  const tool = decompressorFor(file);
  let said = 'kmod is not installed';
  for (const program of MODINFO) {
    const result = await execa(program, ['-0', file], { reject: false, stripFinalNewline: false });
    if (result.code === 'ENOENT') continue;
    if (result.exitCode === 0) return parseModinfoOutput(result.stdout);
    said = result.stderr.trim() || (result.shortMessage ?? `${program} failed`);
    break;
  }
  throw new JobError(
    `${file}: this machine can't read ${tool?.program ?? 'compressed'} kernel modules: neither ${tool?.program} nor kmod's modinfo could (${said})`,
    { hint: `Install ${tool?.package} or kmod on this machine, then capture again.` },
  );
}

const MODINFO_OWN_FIELDS = new Set([
  'filename',
  'sig_id',
  'signer',
  'sig_key',
  'sig_hashalgo',
  'signature',
]);

export function parseModinfoOutput(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const entry of text.split('\0')) {
    // Keys hold neither '=' nor ':'; values may hold both.
    const at = entry.search(/[=:]/);
    if (at <= 0) continue;
    const key = entry.slice(0, at);
    if (MODINFO_OWN_FIELDS.has(key)) continue;
    const values = fields.get(key) ?? [];
    values.push(entry[at] === ':' ? entry.slice(at + 1).replace(/^ +/, '') : entry.slice(at + 1));
    fields.set(key, values);
  }
  return fields;
}
