import type { CpioBody } from './cpio-entry.js';
import {
  NEWC_ROOT_NAME,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFREG,
} from './cpio-newc.js';
import {
  type ByteString,
  bytesOf,
  compareArchivePaths,
  parentPath,
  ROOT_PATH,
} from './cpio-path.js';
import type { ArchiveTree, Inode, InodeType } from './cpio-tree.js';

/**
 * The determinism rules (docs/architecture.md), applied to a tree: what each record of the archive says,
 * in the order the records go. Nothing here depends on the order entries arrived in, on the
 * machine, or on the clock.
 */

export interface NewcLayoutOptions {
  /**
   * SOURCE_DATE_EPOCH, in seconds: later modification times are clamped to it, and directories
   * the input did not list get it. Undefined: times are kept, made-up directories get 0.
   */
  sourceDateEpoch?: number;
  /** Keep the input's uid/gid. Default false: everything is owned by 0:0. */
  keepOwners?: boolean;
  /**
   * The first inode number. Default 1. GNU cpio's --renumber-inodes (and so --reproducible)
   * starts at 0: pass 0 to match its numbering exactly.
   */
  firstInode?: number;
}

/** One record of the archive, ready to serialise. */
export interface NewcRecord {
  /** The name as stored (no leading `/` or `./`; `.` for the root), without the NUL. */
  name: Buffer;
  ino: number;
  /** File type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  /** A symlink's target, a file's bytes, or nothing (size 0). */
  data: Buffer | CpioBody | undefined;
}

const TYPE_BITS: Record<InodeType, number> = {
  file: S_IFREG,
  directory: S_IFDIR,
  symlink: S_IFLNK,
  'character-device': S_IFCHR,
  'block-device': S_IFBLK,
  fifo: S_IFIFO,
};

function validateOptions(options: NewcLayoutOptions): void {
  const { sourceDateEpoch, firstInode } = options;
  if (
    sourceDateEpoch !== undefined &&
    (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0 || sourceDateEpoch > 0xffff_ffff)
  )
    throw new RangeError(
      `sourceDateEpoch must be whole seconds in 0..2^32-1, got ${sourceDateEpoch}`,
    );
  if (firstInode !== undefined && (!Number.isInteger(firstInode) || firstInode < 0))
    throw new RangeError(`firstInode must be a whole number, got ${firstInode}`);
}

/**
 * The modification time a record gets: min(mtime, SOURCE_DATE_EPOCH), so files older than the
 * epoch keep their time and nothing is newer than the build's inputs say; before 1970 is 0, as
 * newc's field is unsigned.
 */
export function clampMtime(mtime: number | undefined, sourceDateEpoch: number | undefined): number {
  if (mtime === undefined) return sourceDateEpoch ?? 0;
  const clamped = sourceDateEpoch === undefined ? mtime : Math.min(mtime, sourceDateEpoch);
  return Math.max(0, clamped);
}

/**
 * The records of the archive, in its order:
 * - sorted by byte order of path (compareArchivePaths): the root `.` first, every directory
 *   before what it holds, whatever order the tar came in;
 * - inode numbers from a counter in that order, a hardlinked file numbered where its first name
 *   comes, its other names sharing the number (on-disk inode numbers never leak in);
 * - nlink counted within the archive: a directory has 2 + its subdirectories (what a real
 *   filesystem reports), any other inode the number of its names in the archive;
 * - a hardlinked file's data goes with its LAST name; the others have size 0. That is the newc
 *   convention GNU cpio writes and reads (copyin.c: "the actual data is attached to the last
 *   link"); the kernel (init/initramfs.c) creates the file at the first name and, for a later
 *   name, links it and writes that record's data into it, so it gets the same file;
 * - uid/gid 0 unless keepOwners; mtimes clamped (clampMtime); dev 0 (set by the serialiser).
 */
export function layoutRecords(tree: ArchiveTree, options: NewcLayoutOptions = {}): NewcRecord[] {
  validateOptions(options);
  const nodes = tree.nodes();
  const paths = [...nodes.keys()].sort(compareArchivePaths);

  const subdirectories = new Map<ByteString, number>();
  const names = new Map<Inode, number>();
  const lastName = new Map<Inode, ByteString>();
  for (const path of paths) {
    const inode = nodes.get(path) as Inode;
    if (inode.type === 'directory' && path !== ROOT_PATH) {
      const parent = parentPath(path);
      subdirectories.set(parent, (subdirectories.get(parent) ?? 0) + 1);
    }
    names.set(inode, (names.get(inode) ?? 0) + 1);
    lastName.set(inode, path);
  }

  const inodeNumbers = new Map<Inode, number>();
  let nextInode = options.firstInode ?? 1;
  return paths.map((path) => {
    const inode = nodes.get(path) as Inode;
    let ino = inodeNumbers.get(inode);
    if (ino === undefined) {
      ino = nextInode++;
      inodeNumbers.set(inode, ino);
    }
    const nlink =
      inode.type === 'directory' ? 2 + (subdirectories.get(path) ?? 0) : (names.get(inode) ?? 1);
    const data =
      inode.type === 'symlink'
        ? inode.target
        : inode.type === 'file' && lastName.get(inode) === path
          ? inode.body
          : undefined;
    return {
      name: path === ROOT_PATH ? Buffer.from(NEWC_ROOT_NAME, 'latin1') : bytesOf(path),
      ino,
      mode: TYPE_BITS[inode.type] | inode.permissions,
      uid: options.keepOwners ? inode.uid : 0,
      gid: options.keepOwners ? inode.gid : 0,
      nlink,
      mtime: clampMtime(inode.mtime, options.sourceDateEpoch),
      rdevMajor: inode.rdevMajor,
      rdevMinor: inode.rdevMinor,
      data,
    };
  });
}
