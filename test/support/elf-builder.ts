/**
 * Builds small ELF files byte by byte for the reader's tests: any class and byte order, with or
 * without section headers, with the dynamic string table at a virtual address that differs from
 * its file offset (so a reader that confuses the two fails).
 */

export interface ElfSpec {
  elfClass?: 32 | 64;
  endian?: 'little' | 'big';
  machine?: number;
  /** e_type: 2 EXEC, 3 DYN (default). */
  type?: number;
  interpreter?: string;
  /** Emit PT_DYNAMIC (default: when any dynamic field is given). */
  dynamic?: boolean;
  needed?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  flags1?: number;
  /** Sections to describe with section headers (none: no section header table at all). */
  sections?: { name: string; data: Uint8Array; nobits?: boolean }[];
}

/** Where the single PT_LOAD segment maps the file: vaddr = LOAD_BASE + offset. */
export const LOAD_BASE = 0x40_0000;

class Writer {
  private readonly chunks: Buffer[] = [];
  length = 0;

  constructor(
    private readonly little: boolean,
    private readonly is64: boolean,
  ) {}

  bytes(data: Uint8Array): void {
    this.chunks.push(Buffer.from(data));
    this.length += data.length;
  }

  u8(value: number): void {
    this.bytes(Uint8Array.of(value));
  }

  u16(value: number): void {
    const b = Buffer.alloc(2);
    this.little ? b.writeUInt16LE(value) : b.writeUInt16BE(value);
    this.bytes(b);
  }

  u32(value: number): void {
    const b = Buffer.alloc(4);
    this.little ? b.writeUInt32LE(value) : b.writeUInt32BE(value);
    this.bytes(b);
  }

  u64(value: number): void {
    const b = Buffer.alloc(8);
    this.little ? b.writeBigUInt64LE(BigInt(value)) : b.writeBigUInt64BE(BigInt(value));
    this.bytes(b);
  }

  word(value: number): void {
    this.is64 ? this.u64(value) : this.u32(value);
  }

  pad(to: number): void {
    if (this.length < to) this.bytes(Buffer.alloc(to - this.length));
  }

  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A string table: offset 0 is the empty string. */
class StringTable {
  private content = '\0';

  add(text: string): number {
    const at = this.content.indexOf(`${text}\0`);
    if (at > 0 || (text === '' && at === 0)) return at;
    const offset = this.content.length;
    this.content += `${text}\0`;
    return offset;
  }

  bytes(): Buffer {
    return Buffer.from(this.content, 'utf8');
  }
}

export function buildElf(spec: ElfSpec = {}): Buffer {
  const is64 = (spec.elfClass ?? 64) === 64;
  const little = (spec.endian ?? 'little') === 'little';
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dynEntrySize = is64 ? 16 : 8;

  const dynstr = new StringTable();
  const dynamicEntries: [number, number][] = [];
  for (const name of spec.needed ?? []) dynamicEntries.push([1, dynstr.add(name)]);
  if (spec.soname !== undefined) dynamicEntries.push([14, dynstr.add(spec.soname)]);
  if (spec.rpath !== undefined) dynamicEntries.push([15, dynstr.add(spec.rpath)]);
  if (spec.runpath !== undefined) dynamicEntries.push([29, dynstr.add(spec.runpath)]);
  if (spec.flags1 !== undefined) dynamicEntries.push([0x6ffffffb, spec.flags1]);
  const hasDynamic = spec.dynamic ?? dynamicEntries.length > 0;
  const dynstrBytes = dynstr.bytes();

  const phnum = 1 + (spec.interpreter === undefined ? 0 : 1) + (hasDynamic ? 1 : 0);
  // Layout: header, program headers, interp, dynstr, dynamic, section data, shstrtab, shdrs.
  let at = ehsize + phnum * phentsize;
  const interpBytes =
    spec.interpreter === undefined ? undefined : Buffer.from(`${spec.interpreter}\0`);
  const interpOffset = at;
  at += interpBytes?.length ?? 0;
  const dynstrOffset = at;
  at += hasDynamic ? dynstrBytes.length : 0;
  at = align(at, 8);
  const dynamicOffset = at;
  // DT_STRTAB, DT_STRSZ, the entries, DT_NULL.
  const dynamicCount = hasDynamic ? dynamicEntries.length + 3 : 0;
  at += dynamicCount * dynEntrySize;

  const sections = spec.sections ?? [];
  const shstrtab = new StringTable();
  const sectionOffsets: number[] = [];
  for (const section of sections) {
    sectionOffsets.push(at);
    if (!section.nobits) at += section.data.length;
  }
  const shstrtabName = sections.length > 0 ? shstrtab.add('.shstrtab') : 0;
  const sectionNames = sections.map((s) => shstrtab.add(s.name));
  const shstrtabBytes = shstrtab.bytes();
  const shstrtabOffset = at;
  if (sections.length > 0) at += shstrtabBytes.length;
  at = align(at, 8);
  const shoff = sections.length > 0 ? at : 0;
  const shnum = sections.length > 0 ? sections.length + 2 : 0;
  const fileSize = at + shnum * shentsize;

  const w = new Writer(little, is64);
  // e_ident
  w.bytes(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1, 0));
  w.pad(16);
  w.u16(spec.type ?? 3);
  w.u16(spec.machine ?? 62);
  w.u32(1);
  w.word(0); // e_entry
  w.word(ehsize); // e_phoff
  w.word(shoff);
  w.u32(0); // e_flags
  w.u16(ehsize);
  w.u16(phentsize);
  w.u16(phnum);
  w.u16(shentsize);
  w.u16(shnum);
  w.u16(sections.length > 0 ? sections.length + 1 : 0); // e_shstrndx: the last section

  const segment = (type: number, offset: number, size: number) => {
    if (is64) {
      w.u32(type);
      w.u32(4); // p_flags
      w.u64(offset);
      w.u64(LOAD_BASE + offset);
      w.u64(LOAD_BASE + offset);
      w.u64(size);
      w.u64(size);
      w.u64(type === 1 ? 0x1000 : 8);
    } else {
      w.u32(type);
      w.u32(offset);
      w.u32(LOAD_BASE + offset);
      w.u32(LOAD_BASE + offset);
      w.u32(size);
      w.u32(size);
      w.u32(4);
      w.u32(type === 1 ? 0x1000 : 4);
    }
  };
  segment(1, 0, fileSize);
  if (interpBytes !== undefined) segment(3, interpOffset, interpBytes.length);
  if (hasDynamic) segment(2, dynamicOffset, dynamicCount * dynEntrySize);

  if (interpBytes !== undefined) w.bytes(interpBytes);
  if (hasDynamic) w.bytes(dynstrBytes);
  w.pad(dynamicOffset);
  if (hasDynamic) {
    for (const [tag, value] of [
      ...dynamicEntries,
      [5, LOAD_BASE + dynstrOffset] as [number, number],
      [10, dynstrBytes.length] as [number, number],
    ]) {
      w.word(tag);
      w.word(value);
    }
    w.word(0);
    w.word(0);
  }
  sections.forEach((section, i) => {
    w.pad(sectionOffsets[i] ?? 0);
    if (!section.nobits) w.bytes(section.data);
  });
  if (sections.length > 0) {
    w.pad(shstrtabOffset);
    w.bytes(shstrtabBytes);
    w.pad(shoff);
    const header = (name: number, type: number, offset: number, size: number) => {
      if (is64) {
        w.u32(name);
        w.u32(type);
        w.u64(0);
        w.u64(0);
        w.u64(offset);
        w.u64(size);
        w.u32(0);
        w.u32(0);
        w.u64(1);
        w.u64(0);
      } else {
        w.u32(name);
        w.u32(type);
        w.u32(0);
        w.u32(0);
        w.u32(offset);
        w.u32(size);
        w.u32(0);
        w.u32(0);
        w.u32(1);
        w.u32(0);
      }
    };
    header(0, 0, 0, 0);
    sections.forEach((section, i) => {
      header(
        sectionNames[i] ?? 0,
        section.nobits ? 8 : 1,
        sectionOffsets[i] ?? 0,
        section.data.length,
      );
    });
    header(shstrtabName, 3, shstrtabOffset, shstrtabBytes.length);
  }
  const out = w.result();
  if (out.length !== fileSize) throw new Error(`builder bug: ${out.length} != ${fileSize}`);
  return out;
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
