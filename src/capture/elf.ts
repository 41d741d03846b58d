import {
  type ByteSource,
  bufferSource,
  ElfError,
  FileSource,
  stringAt,
  Words,
} from './elf-bytes.js';

/**
 * A pure ELF reader: what the dynamic loader needs to know about a program or library (class,
 * machine, PT_INTERP, DT_NEEDED, DT_RPATH/DT_RUNPATH, DT_SONAME, DT_FLAGS_1), read from the bytes
 * alone. lifeboat inspects programs of a root filesystem that may belong to another machine, so
 * it must never run them (which is what `ldd` does).
 *
 * The dynamic section is found through the program headers and its string table through the
 * PT_LOAD segments, exactly as the loader does: section headers are optional (`strip
 * --strip-section-headers`, sstrip) and the loader never reads them. Only `readSection` uses them.
 */

export { ElfError, type ElfErrorReason } from './elf-bytes.js';

/** e_machine values lifeboat may meet in a root filesystem. */
export const EM = {
  I386: 3,
  MIPS: 8,
  PPC: 20,
  PPC64: 21,
  S390: 22,
  ARM: 40,
  X86_64: 62,
  AARCH64: 183,
  RISCV: 243,
  LOONGARCH: 258,
} as const;

/** DT_FLAGS_1 bits worth naming. */
export const DF_1 = {
  NOW: 0x1,
  /** Do not search the default library directories (nor the ld.so cache) for this object's needs. */
  NODEFLIB: 0x800,
  /** A position-independent executable (not a library, although e_type is ET_DYN too). */
  PIE: 0x0800_0000,
} as const;

export type ElfType = 'none' | 'rel' | 'exec' | 'dyn' | 'core' | 'other';

/** An ELF file as the dynamic loader sees it. */
export interface ElfInfo {
  kind: 'elf';
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  /** e_ident[EI_OSABI]: 0 (System V) or 3 (GNU) for Linux programs. */
  osAbi: number;
  type: ElfType;
  /** e_machine; see `EM`. */
  machine: number;
  /** PT_INTERP: the program interpreter (dynamic loader) path, for dynamically linked programs. */
  interpreter: string | undefined;
  /** Has a PT_DYNAMIC segment (false for static executables). */
  isDynamic: boolean;
  /** DT_NEEDED, in file order (the order the loader walks them). */
  needed: string[];
  soname: string | undefined;
  /** DT_RPATH, colon-separated as written (with $ORIGIN etc. unexpanded). */
  rpath: string | undefined;
  /** DT_RUNPATH, colon-separated as written. */
  runpath: string | undefined;
  /** DT_FLAGS (0 when absent). */
  flags: number;
  /** DT_FLAGS_1 (0 when absent); see `DF_1`. */
  flags1: number;
}

/** A `#!` script: the kernel runs `interpreter [argument] script`. */
export interface ScriptInfo {
  kind: 'script';
  interpreter: string;
  /** The single optional argument after the interpreter (the kernel passes the rest as one). */
  argument: string | undefined;
}

export type ExecutableInfo = ElfInfo | ScriptInfo;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_FLAGS = 30;
const DT_FLAGS_1 = 0x6fff_fffb;

const SHT_NOBITS = 8;
/** e_phnum / e_shstrndx escape values: the real number is in section header 0. */
const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;

/** The kernel reads this much of a file to find `#!` (BINPRM_BUF_SIZE since Linux 5.1). */
const SHEBANG_LIMIT = 256;

const TYPE_NAMES: Record<number, ElfType> = { 0: 'none', 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' };

/** The ELF file header fields the readers need. */
interface ElfHeader {
  is64: boolean;
  littleEndian: boolean;
  osAbi: number;
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

interface SectionHeader {
  nameOffset: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

/** True when the bytes start with the ELF magic. */
export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && ELF_MAGIC.every((byte, i) => buf[i] === byte);
}

/** Parse an ELF file (ElfError when it is not one or is damaged). */
export function parseElf(buf: Uint8Array): ElfInfo {
  return parseElfFrom(bufferSource(buf));
}

/** Parse a program: an ELF file, or a `#!` script whose interpreter is returned instead. */
export function parseExecutable(buf: Uint8Array): ExecutableInfo {
  return isShebang(buf) ? parseShebang(buf, buf.length) : parseElf(buf);
}

/**
 * Read a program or library from disk (a path on this machine) without reading all of it: only
 * the headers, the dynamic section and its string table are fetched.
 */
export function readExecutableFile(path: string): ExecutableInfo {
  const source = new FileSource(path);
  try {
    return namingFile(path, () => {
      const head = source.bytes(0, Math.min(source.length, SHEBANG_LIMIT), 'file start');
      return isShebang(head) ? parseShebang(head, source.length) : parseElfFrom(source);
    });
  } finally {
    source.close();
  }
}

/** `read()`, with the file's path put in front of the message of any ElfError it throws. */
export function namingFile<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ElfError) throw new ElfError(error.reason, `${path}: ${error.message}`);
    throw error;
  }
}

function isShebang(buf: Uint8Array): boolean {
  return buf[0] === 0x23 && buf[1] === 0x21; // "#!"
}

/**
 * The interpreter line as the kernel's binfmt_script reads it from the first 256 bytes: leading
 * blanks skipped, the interpreter ends at a blank, the rest (blanks trimmed) is one argument, and a
 * NUL ends the line like a newline does.
 */
function parseShebang(buf: Uint8Array, fileLength: number): ScriptInfo {
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, SHEBANG_LIMIT));
  const newline = head.indexOf(0x0a);
  const line = head.subarray(2, newline < 0 ? head.length : newline).toString('latin1');
  const text = line.split('\0')[0] ?? '';
  const match = /^[ \t]*([^ \t]*)(?:[ \t]+(.*))?$/s.exec(text);
  const interpreter = match?.[1] ?? '';
  const argument = match?.[2]?.replace(/[ \t]+$/, '') || undefined;
  if (interpreter === '') throw new ElfError('invalid', '`#!` line names no interpreter');
  const cutShort = newline < 0 && fileLength > SHEBANG_LIMIT && text.length === line.length;
  if (cutShort && match?.[2] === undefined) {
    // The kernel refuses an interpreter path it may have read only part of.
    throw new ElfError('invalid', `\`#!\` interpreter path is longer than ${SHEBANG_LIMIT} bytes`);
  }
  return {
    kind: 'script',
    interpreter: latin1ToUtf8(interpreter),
    argument: argument === undefined ? undefined : latin1ToUtf8(argument),
  };
}

function latin1ToUtf8(text: string): string {
  return Buffer.from(text, 'latin1').toString('utf8');
}

function readHeader(src: ByteSource): ElfHeader {
  if (src.length < 4 || !isElf(src.bytes(0, 4, 'ELF magic'))) {
    throw new ElfError('not-elf', 'not an ELF file (no \\x7fELF magic)');
  }
  const ident = src.bytes(0, 16, 'ELF identification');
  const elfClass = ident[4];
  const data = ident[5];
  if (elfClass !== 1 && elfClass !== 2)
    throw new ElfError('invalid', `unknown ELF class ${elfClass}`);
  if (data !== 1 && data !== 2) throw new ElfError('invalid', `unknown ELF data encoding ${data}`);
  const is64 = elfClass === 2;
  const littleEndian = data === 1;
  const w = new Words(src.bytes(0, is64 ? 64 : 52, 'ELF header'), littleEndian);
  // Field offsets from the System V gABI, ELF32 vs ELF64.
  const header: ElfHeader = {
    is64,
    littleEndian,
    osAbi: ident[7] ?? 0,
    type: w.u16(16),
    machine: w.u16(18),
    phoff: w.word(is64 ? 32 : 28, is64),
    shoff: w.word(is64 ? 40 : 32, is64),
    phentsize: w.u16(is64 ? 54 : 42),
    phnum: w.u16(is64 ? 56 : 44),
    shentsize: w.u16(is64 ? 58 : 46),
    shnum: w.u16(is64 ? 60 : 48),
    shstrndx: w.u16(is64 ? 62 : 50),
  };
  return header;
}

/** Section header 0 holds the real counts when they do not fit the 16-bit header fields. */
function applyExtendedNumbering(src: ByteSource, h: ElfHeader): void {
  const needsZero =
    h.phnum === PN_XNUM || h.shstrndx === SHN_XINDEX || (h.shnum === 0 && h.shoff !== 0);
  if (!needsZero || h.shoff === 0) return;
  const zero = readSectionHeaders(src, h, 1)[0];
  if (zero === undefined) return;
  if (h.phnum === PN_XNUM) h.phnum = zero.info;
  if (h.shnum === 0) h.shnum = zero.size;
  if (h.shstrndx === SHN_XINDEX) h.shstrndx = zero.link;
}

function readSegments(src: ByteSource, h: ElfHeader): Segment[] {
  if (h.phnum === 0) return [];
  const minSize = h.is64 ? 56 : 32;
  if (h.phentsize < minSize) {
    throw new ElfError('invalid', `program header entries of ${h.phentsize} bytes (< ${minSize})`);
  }
  const table = src.bytes(h.phoff, h.phnum * h.phentsize, 'program header table');
  const w = new Words(table, h.littleEndian);
  const segments: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = i * h.phentsize;
    segments.push(
      h.is64
        ? { type: w.u32(at), offset: w.u64(at + 8), vaddr: w.u64(at + 16), filesz: w.u64(at + 32) }
        : { type: w.u32(at), offset: w.u32(at + 4), vaddr: w.u32(at + 8), filesz: w.u32(at + 16) },
    );
  }
  return segments;
}

function readSectionHeaders(src: ByteSource, h: ElfHeader, count: number): SectionHeader[] {
  const minSize = h.is64 ? 64 : 40;
  if (h.shentsize < minSize) {
    throw new ElfError('invalid', `section header entries of ${h.shentsize} bytes (< ${minSize})`);
  }
  const table = src.bytes(h.shoff, count * h.shentsize, 'section header table');
  const w = new Words(table, h.littleEndian);
  const sections: SectionHeader[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * h.shentsize;
    sections.push(
      h.is64
        ? {
            nameOffset: w.u32(at),
            type: w.u32(at + 4),
            offset: w.u64(at + 24),
            size: w.u64(at + 32),
            link: w.u32(at + 40),
            info: w.u32(at + 44),
          }
        : {
            nameOffset: w.u32(at),
            type: w.u32(at + 4),
            offset: w.u32(at + 16),
            size: w.u32(at + 20),
            link: w.u32(at + 24),
            info: w.u32(at + 28),
          },
    );
  }
  return sections;
}

/** File offset of a virtual address, through the PT_LOAD segment that maps it from the file. */
function fileOffsetOf(
  segments: Segment[],
  vaddr: number,
  what: string,
): { offset: number; available: number } {
  for (const s of segments) {
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) {
      const delta = vaddr - s.vaddr;
      return { offset: s.offset + delta, available: s.filesz - delta };
    }
  }
  throw new ElfError(
    'invalid',
    `${what} at address 0x${vaddr.toString(16)} is in no loaded segment`,
  );
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('utf8');
}

function parseElfFrom(src: ByteSource): ElfInfo {
  const h = readHeader(src);
  applyExtendedNumbering(src, h);
  const segments = readSegments(src, h);

  const interpSegment = segments.find((s) => s.type === PT_INTERP);
  const interpreter =
    interpSegment === undefined
      ? undefined
      : cString(src.bytes(interpSegment.offset, interpSegment.filesz, 'PT_INTERP'));

  const info: ElfInfo = {
    kind: 'elf',
    elfClass: h.is64 ? 64 : 32,
    endian: h.littleEndian ? 'little' : 'big',
    osAbi: h.osAbi,
    type: TYPE_NAMES[h.type] ?? 'other',
    machine: h.machine,
    interpreter,
    isDynamic: false,
    needed: [],
    soname: undefined,
    rpath: undefined,
    runpath: undefined,
    flags: 0,
    flags1: 0,
  };

  const dynamicSegment = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamicSegment !== undefined) {
    info.isDynamic = true;
    readDynamic(src, h, segments, dynamicSegment, info);
  }
  return info;
}

/** Fill in the DT_* fields from PT_DYNAMIC; the strings come from DT_STRTAB via PT_LOAD. */
function readDynamic(
  src: ByteSource,
  h: ElfHeader,
  segments: Segment[],
  dynamic: Segment,
  info: ElfInfo,
): void {
  const entrySize = h.is64 ? 16 : 8;
  const count = Math.floor(dynamic.filesz / entrySize);
  const w = new Words(src.bytes(dynamic.offset, count * entrySize, 'PT_DYNAMIC'), h.littleEndian);

  const neededOffsets: number[] = [];
  let strtab: number | undefined;
  let strsz: number | undefined;
  let soname: number | undefined;
  let rpath: number | undefined;
  let runpath: number | undefined;
  for (let i = 0; i < count; i++) {
    const tag = w.word(i * entrySize, h.is64);
    const value = w.word(i * entrySize + entrySize / 2, h.is64);
    if (tag === DT_NULL) break;
    // Like glibc, a repeated tag overrides the earlier one (except DT_NEEDED, which accumulates).
    if (tag === DT_NEEDED) neededOffsets.push(value);
    else if (tag === DT_STRTAB) strtab = value;
    else if (tag === DT_STRSZ) strsz = value;
    else if (tag === DT_SONAME) soname = value;
    else if (tag === DT_RPATH) rpath = value;
    else if (tag === DT_RUNPATH) runpath = value;
    else if (tag === DT_FLAGS) info.flags = value;
    else if (tag === DT_FLAGS_1) info.flags1 = value;
  }

  const hasStrings =
    neededOffsets.length > 0 ||
    soname !== undefined ||
    rpath !== undefined ||
    runpath !== undefined;
  if (!hasStrings) return;
  if (strtab === undefined)
    throw new ElfError('invalid', 'dynamic section has strings but no DT_STRTAB');

  const where = fileOffsetOf(segments, strtab, 'DT_STRTAB');
  // Without DT_STRSZ, the table runs to the end of the segment's file image.
  const size = Math.min(strsz ?? where.available, where.available, src.length - where.offset);
  const table = src.bytes(where.offset, Math.max(size, 0), 'dynamic string table');
  const str = (offset: number, what: string) => stringAt(table, offset, what);

  info.needed = neededOffsets.map((offset) => str(offset, 'DT_NEEDED'));
  info.soname = soname === undefined ? undefined : str(soname, 'DT_SONAME');
  info.rpath = rpath === undefined ? undefined : str(rpath, 'DT_RPATH');
  info.runpath = runpath === undefined ? undefined : str(runpath, 'DT_RUNPATH');
}

/**
 * The bytes of the section called `name` (e.g. `.modinfo` of a kernel module), found through the
 * section headers. Undefined when the file has no section headers or no such section; an empty
 * buffer for a section that occupies no file space (SHT_NOBITS). ElfError when the file is not
 * ELF or is damaged. Compressed files (`.ko.xz`, `.ko.zst`) must be decompressed first.
 */
export function readSection(buf: Buffer, name: string): Buffer | undefined {
  const src = bufferSource(buf);
  const h = readHeader(src);
  applyExtendedNumbering(src, h);
  if (h.shoff === 0 || h.shnum === 0) return undefined;
  const sections = readSectionHeaders(src, h, h.shnum);
  const names = sections[h.shstrndx];
  if (names === undefined)
    throw new ElfError('invalid', `e_shstrndx ${h.shstrndx} names no section`);
  const nameTable = src.bytes(names.offset, names.size, 'section name table');
  for (const section of sections) {
    if (section.nameOffset >= nameTable.length) continue;
    if (stringAt(nameTable, section.nameOffset, 'section name') !== name) continue;
    if (section.type === SHT_NOBITS) return Buffer.alloc(0);
    const bytes = src.bytes(section.offset, section.size, `section ${name}`);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return undefined;
}

/** A short name for an e_machine value, for messages ("x86-64", "i386", "machine 1234"). */
export function machineName(machine: number): string {
  const names: Record<number, string> = {
    [EM.I386]: 'i386',
    [EM.MIPS]: 'mips',
    [EM.PPC]: 'powerpc',
    [EM.PPC64]: 'powerpc64',
    [EM.S390]: 's390',
    [EM.ARM]: 'arm',
    [EM.X86_64]: 'x86-64',
    [EM.AARCH64]: 'aarch64',
    [EM.RISCV]: 'riscv',
    [EM.LOONGARCH]: 'loongarch',
  };
  return names[machine] ?? `machine ${machine}`;
}
