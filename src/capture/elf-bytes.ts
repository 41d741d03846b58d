import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { JobError } from '../errors.js';

/**
 * Bounds-checked access to the bytes of a file that may be anything: a shared library, a
 * truncated download, a text file named like a library. Every read is checked against the length,
 * so garbage ends in an `ElfError` and never in a RangeError or a silently wrong number.
 */

export type ElfErrorReason =
  /** Not an ELF file at all (no `\x7fELF` magic, no `#!`). */
  | 'not-elf'
  /** A header, table or string reaches past the end of the file. */
  | 'truncated'
  /** Structurally wrong: impossible sizes, addresses mapped by no segment, unknown class. */
  | 'invalid';

/** A file that cannot be read as ELF (or as a `#!` script). */
export class ElfError extends JobError {
  readonly reason: ElfErrorReason;

  constructor(reason: ElfErrorReason, message: string) {
    super(message, {
      hint: 'The file is damaged or not a program/library; check it with `file` or `readelf -h`.',
    });
    this.reason = reason;
  }
}

/** Something bytes can be read from at an offset: a Buffer, or an open file read on demand. */
export interface ByteSource {
  readonly length: number;
  /** Exactly `length` bytes at `offset`; ElfError('truncated') when they are not all there. */
  bytes(offset: number, length: number, what: string): Uint8Array;
}

function checkRange(total: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ElfError('invalid', `${what}: impossible offset ${offset} or size ${length}`);
  }
  if (offset + length > total) {
    throw new ElfError(
      'truncated',
      `${what}: bytes ${offset}..${offset + length} lie past the end of the file (${total} bytes)`,
    );
  }
}

export function bufferSource(buf: Uint8Array): ByteSource {
  return {
    length: buf.length,
    bytes(offset, length, what) {
      checkRange(buf.length, offset, length, what);
      return buf.subarray(offset, offset + length);
    },
  };
}

/**
 * A file read piecewise with positioned reads, so that parsing the headers and the dynamic
 * section of a 100 MB library reads a few kilobytes, not the whole file. The caller closes it.
 */
export class FileSource implements ByteSource {
  readonly length: number;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.length = fstatSync(this.fd).size;
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  bytes(offset: number, length: number, what: string): Uint8Array {
    checkRange(this.length, offset, length, what);
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new ElfError('truncated', `${what}: the file shrank while being read`);
      done += n;
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Fixed-width integers of one endianness from a byte array; offsets already range-checked. */
export class Words {
  private readonly view: DataView;

  constructor(
    bytes: Uint8Array,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(at: number): number {
    return this.view.getUint16(at, this.littleEndian);
  }

  u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  /**
   * An unsigned 64-bit value as a number. Values beyond 2^53 cannot be real offsets or sizes, so
   * they become Infinity, which every later range check rejects as 'invalid'.
   */
  u64(at: number): number {
    const value = this.view.getBigUint64(at, this.littleEndian);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  }

  /** A 32- or 64-bit address/offset/size word (ELF32 vs ELF64). */
  word(at: number, is64: boolean): number {
    return is64 ? this.u64(at) : this.u32(at);
  }
}

/** The NUL-terminated string at `offset` within `table` (a string table's bytes). */
export function stringAt(table: Uint8Array, offset: number, what: string): string {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= table.length) {
    throw new ElfError('invalid', `${what}: string offset ${offset} is outside its string table`);
  }
  const end = table.indexOf(0, offset);
  if (end < 0) throw new ElfError('truncated', `${what}: string at ${offset} is not terminated`);
  return Buffer.from(table.buffer, table.byteOffset + offset, end - offset).toString('utf8');
}
