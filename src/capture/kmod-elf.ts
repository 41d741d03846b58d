/**
 * Just enough ELF to find one section of a kernel module: ELF64 little-endian section headers and
 * the section-name string table. Stand-in until `src/capture/elf.ts` (with the same
 * `readSection`) lands; the two are to be merged then.
 */

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read as a little-endian u32
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const SECTION_HEADER_SIZE = 64;

/** Bytes of the section called `name`, or undefined when `buf` is no ELF64 LE file or has none. */
export function readSection(buf: Buffer, name: string): Buffer | undefined {
  if (buf.length < 64 || buf.readUInt32LE(0) !== ELF_MAGIC) return undefined;
  if (buf[4] !== ELFCLASS64 || buf[5] !== ELFDATA2LSB) return undefined;

  const tableOffset = Number(buf.readBigUInt64LE(0x28));
  const entrySize = buf.readUInt16LE(0x3a);
  const count = buf.readUInt16LE(0x3c);
  const namesIndex = buf.readUInt16LE(0x3e);
  if (entrySize < SECTION_HEADER_SIZE || tableOffset + count * entrySize > buf.length) {
    return undefined;
  }

  const section = (index: number) => {
    const at = tableOffset + index * entrySize;
    const offset = Number(buf.readBigUInt64LE(at + 24));
    const size = Number(buf.readBigUInt64LE(at + 32));
    return { nameOffset: buf.readUInt32LE(at), offset, size };
  };
  if (namesIndex >= count) return undefined;
  const names = section(namesIndex);
  if (names.offset + names.size > buf.length) return undefined;
  const nameTable = buf.subarray(names.offset, names.offset + names.size);

  const wanted = Buffer.from(`${name}\0`);
  for (let i = 0; i < count; i++) {
    const s = section(i);
    if (s.nameOffset + wanted.length > nameTable.length) continue;
    if (!nameTable.subarray(s.nameOffset, s.nameOffset + wanted.length).equals(wanted)) continue;
    if (s.offset + s.size > buf.length) return undefined;
    return buf.subarray(s.offset, s.offset + s.size);
  }
  return undefined;
}
