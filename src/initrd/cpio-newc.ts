import { JobError } from '../errors.js';
import { type ByteString, displayPath } from './cpio-path.js';

/**
 * The newc ("new ASCII", SVR4 without checksum) cpio format, the one the Linux kernel unpacks
 * into its initramfs (Documentation/driver-api/early-userspace/buffer-format.rst):
 *
 *   header    "070701" then 13 fields of 8 hex digits: ino mode uid gid nlink mtime filesize
 *             devmajor devminor rdevmajor rdevminor namesize check     (110 bytes)
 *   name      namesize bytes, NUL included, then NUL padding to a multiple of 4 (header + name)
 *   data      filesize bytes, then NUL padding to a multiple of 4
 *
 * and a last record named TRAILER!!!. Every field is 32 bits wide, which is where the 4 GiB - 1
 * file size limit comes from.
 */

export const NEWC_MAGIC = '070701';
export const NEWC_HEADER_SIZE = 110;
export const NEWC_TRAILER_NAME = 'TRAILER!!!';
/**
 * The name of the root directory's record, as `find . | cpio -o` (and so dracut) writes it; mkosi
 * leaves the root out. lifeboat keeps it: the kernel's unpacker applies a `.` directory record's
 * mode, owner and mtime to the rootfs root (its mkdir fails with EEXIST, chown and chmod go
 * ahead), which otherwise keeps the mode the kernel made it with (1777 when rootfs is a tmpfs).
 */
export const NEWC_ROOT_NAME = '.';
/** The largest number a header field holds, and so the largest file. */
export const NEWC_MAX_FIELD = 0xffff_ffff;
export const NEWC_MAX_FILE_SIZE = NEWC_MAX_FIELD;
/**
 * PATH_MAX: the kernel's unpacker (init/initramfs.c do_header) silently skips a record whose
 * namesize (NUL included) is larger; refuse such names instead of losing them.
 */
export const KERNEL_PATH_MAX = 4096;
/**
 * GNU cpio pads the archive's end with NULs to its block size (512 by default). The kernel skips
 * NULs after an archive, and the same padding keeps our bytes comparable with
 * `cpio -o -H newc --reproducible` output.
 */
export const NEWC_ARCHIVE_BLOCK = 512;

/** File type bits of a newc mode (the same as Linux's st_mode). */
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface NewcHeaderFields {
  ino: number;
  /** File type bits and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Seconds since the epoch. */
  mtime: number;
  fileSize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Length of the name in bytes, the terminating NUL included. */
  nameSize: number;
  /** 0 in newc (only the 070702 "crc" variant fills it). */
  check: number;
}

const FIELD_ORDER: readonly (keyof NewcHeaderFields)[] = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'fileSize',
  'devMajor',
  'devMinor',
  'rdevMajor',
  'rdevMinor',
  'nameSize',
  'check',
];

/**
 * The 110-byte header. Hex digits are upper case, as GNU cpio writes them (the kernel reads
 * either), so archives compare byte for byte with GNU cpio's.
 */
export function newcHeader(fields: NewcHeaderFields): Buffer {
  let text = NEWC_MAGIC;
  for (const key of FIELD_ORDER) {
    const value = fields[key];
    if (!Number.isInteger(value) || value < 0 || value > NEWC_MAX_FIELD)
      throw new RangeError(
        `newc header field ${key} must be an integer in 0..2^32-1, got ${value}`,
      );
    text += value.toString(16).toUpperCase().padStart(8, '0');
  }
  return Buffer.from(text, 'latin1');
}

/** NUL bytes that bring `length` up to a multiple of `unit`. */
export function paddingAfter(length: number, unit = 4): number {
  return (unit - (length % unit)) % unit;
}

/** Header, name, NUL and padding of one record: everything before its data. */
export function newcRecordHead(fields: Omit<NewcHeaderFields, 'nameSize'>, name: Buffer): Buffer {
  const nameSize = name.length + 1;
  const headLength = NEWC_HEADER_SIZE + nameSize;
  const head = Buffer.alloc(headLength + paddingAfter(headLength));
  newcHeader({ ...fields, nameSize }).copy(head, 0);
  name.copy(head, NEWC_HEADER_SIZE);
  return head;
}

/** The TRAILER!!! record that ends every archive: all fields 0 but nlink 1, as GNU cpio writes. */
export function newcTrailer(): Buffer {
  return newcRecordHead(
    {
      ino: 0,
      mode: 0,
      uid: 0,
      gid: 0,
      nlink: 1,
      mtime: 0,
      fileSize: 0,
      devMajor: 0,
      devMinor: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      check: 0,
    },
    Buffer.from(NEWC_TRAILER_NAME, 'latin1'),
  );
}

/** newc can't hold a file of 4 GiB or more: say which one, before reading any of it. */
export function assertNewcFileSize(path: ByteString, size: number): void {
  if (size > NEWC_MAX_FILE_SIZE) {
    throw new JobError(
      `${displayPath(path)} is ${size} bytes: an initramfs (newc cpio) file must be smaller than 4 GiB`,
      {
        hint: 'newc stores sizes in 32 bits; leave the file out of the rescue root or ship it beside the initrd',
      },
    );
  }
}

/**
 * Names and symlink targets the kernel can't create are refused: PATH_MAX counts the NUL, so
 * 4095 bytes is the most either may have (longer names are skipped by the unpacker, longer
 * targets by symlink(2)).
 */
export function assertKernelPathLength(
  path: ByteString,
  what: 'name' | 'symlink target',
  length: number,
): void {
  const limit = KERNEL_PATH_MAX - 1;
  if (length > limit) {
    throw new JobError(
      `${displayPath(path)}: its ${what} is ${length} bytes, more than the ${limit} the kernel's initramfs unpacker accepts`,
      { hint: 'the kernel would skip this entry without a word; shorten it' },
    );
  }
}
