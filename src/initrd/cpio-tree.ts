import { JobError } from '../errors.js';
import { type CpioBody, type CpioEntry, memoryBody } from './cpio-entry.js';
import { assertKernelPathLength, assertNewcFileSize } from './cpio-newc.js';
import {
  type ByteString,
  byteStringOf,
  bytesOf,
  displayPath,
  normaliseArchivePath,
  parentPath,
  ROOT_PATH,
} from './cpio-path.js';

/**
 * The tree an archive describes, built entry by entry the way extracting a tar builds a
 * directory: a later entry for the same path replaces the earlier one, a hardlink shares the
 * inode of the entry it names, and directories a path needs but the input never listed are made
 * up (mode 0755, owner 0) so that every entry's parents exist in the archive.
 */

export type InodeType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'fifo';

/** What all names of one file share. Identity matters: hardlinks are the same object. */
export interface Inode {
  readonly type: InodeType;
  /** The 0o7777 bits. */
  readonly permissions: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch (whole seconds); undefined for a made-up directory. */
  readonly mtime: number | undefined;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
  /** A regular file's bytes. */
  readonly body: CpioBody | undefined;
  /** A symlink's target, as bytes. */
  readonly target: Buffer | undefined;
}

export type Warn = (message: string) => void;

/** Permissions of directories the input did not list (the root too, when the tar has no `./`). */
export const SYNTHESISED_DIRECTORY_MODE = 0o755;

function synthesisedDirectory(): Inode {
  return {
    type: 'directory',
    permissions: SYNTHESISED_DIRECTORY_MODE,
    uid: 0,
    gid: 0,
    mtime: undefined,
    rdevMajor: 0,
    rdevMinor: 0,
    body: undefined,
    target: undefined,
  };
}

function uint32(value: number, what: string, path: ByteString): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
    throw new JobError(`${displayPath(path)}: ${what} ${value} does not fit in 32 bits`);
  return value;
}

function wholeSeconds(mtime: number, path: ByteString): number {
  if (!Number.isFinite(mtime))
    throw new JobError(`${displayPath(path)}: modification time ${mtime} is not a number`);
  return Math.floor(mtime);
}

function inodeOf(
  entry: Exclude<CpioEntry, { type: 'hardlink' | 'socket' }>,
  path: ByteString,
): Inode {
  const base = {
    type: entry.type,
    permissions: entry.mode & 0o7777,
    uid: uint32(entry.uid, 'uid', path),
    gid: uint32(entry.gid, 'gid', path),
    mtime: wholeSeconds(entry.mtime, path),
    rdevMajor: 0,
    rdevMinor: 0,
    body: undefined,
    target: undefined,
  };
  switch (entry.type) {
    case 'file': {
      const body = entry.body instanceof Uint8Array ? memoryBody(entry.body) : entry.body;
      assertNewcFileSize(path, body.size);
      return { ...base, body };
    }
    case 'symlink': {
      const target = bytesOf(byteStringOf(entry.target));
      if (target.length === 0)
        throw new JobError(`symlink ${displayPath(path)} has an empty target`);
      assertKernelPathLength(path, 'symlink target', target.length);
      // Linux ignores a symlink's permission bits and lstat reports 0777 for every symlink; tar
      // writers differ (tar-stream defaults to 0644), so pin them rather than copy noise.
      return { ...base, permissions: 0o777, target };
    }
    case 'character-device':
    case 'block-device':
      return {
        ...base,
        rdevMajor: uint32(entry.devmajor, 'device major', path),
        rdevMinor: uint32(entry.devminor, 'device minor', path),
      };
    case 'directory':
    case 'fifo':
      return base;
  }
}

export class ArchiveTree {
  readonly #nodes = new Map<ByteString, Inode>();
  /** Directories made up for parents the input did not list (until an entry names them). */
  readonly #synthesised = new Set<ByteString>();
  readonly #warn: Warn;

  constructor(warn: Warn = () => {}) {
    this.#warn = warn;
    this.#nodes.set(ROOT_PATH, synthesisedDirectory());
    this.#synthesised.add(ROOT_PATH);
  }

  /** Every path with its inode, in no particular order (the root is ROOT_PATH). */
  nodes(): ReadonlyMap<ByteString, Inode> {
    return this.#nodes;
  }

  add(entry: CpioEntry): void {
    const path = normaliseArchivePath(byteStringOf(entry.path));
    if (path === undefined) return; // unreachable without stripComponents, kept for the type
    assertKernelPathLength(path, 'name', path === ROOT_PATH ? 1 : path.length);
    if (entry.type === 'socket') {
      this.#warn(`skipped socket ${displayPath(path)}: a socket has no meaning in an initramfs`);
      return;
    }
    if (entry.type === 'hardlink') {
      this.#place(path, this.#linkTarget(path, entry.target));
      return;
    }
    this.#place(path, inodeOf(entry, path));
  }

  #linkTarget(path: ByteString, targetName: CpioEntry['path']): Inode {
    const target = normaliseArchivePath(byteStringOf(targetName));
    const inode = target === undefined ? undefined : this.#nodes.get(target);
    if (target === undefined || inode === undefined || this.#synthesised.has(target)) {
      throw new JobError(
        `hardlink ${displayPath(path)} names ${displayPath(target ?? ROOT_PATH)}, which is not an earlier entry of the archive`,
        { hint: 'a tar hardlink must follow the entry it links to' },
      );
    }
    if (inode.type === 'directory')
      throw new JobError(`hardlink ${displayPath(path)} names a directory, ${displayPath(target)}`);
    return inode;
  }

  #place(path: ByteString, inode: Inode): void {
    const existing = this.#nodes.get(path);
    if (path === ROOT_PATH && inode.type !== 'directory')
      throw new JobError(
        `the archive root must be a directory, the input makes it a ${inode.type}`,
      );
    if (existing?.type === 'directory' && inode.type !== 'directory') {
      throw new JobError(
        `${displayPath(path)} is both a directory and a ${inode.type} in the input`,
        { hint: 'the rescue root tar must describe one tree' },
      );
    }
    if (existing === undefined) this.#ensureParents(path);
    this.#nodes.set(path, inode);
    this.#synthesised.delete(path);
  }

  /** Makes up missing parent directories; a parent that exists must be a directory. */
  #ensureParents(path: ByteString): void {
    for (let parent = parentPath(path); ; parent = parentPath(parent)) {
      const node = this.#nodes.get(parent);
      if (node !== undefined) {
        if (node.type !== 'directory') {
          throw new JobError(
            `${displayPath(path)} is inside ${displayPath(parent)}, which is a ${node.type}, not a directory`,
            { hint: 'the rescue root tar must describe one tree' },
          );
        }
        return; // an existing directory already has all its parents
      }
      this.#nodes.set(parent, synthesisedDirectory());
      this.#synthesised.add(parent);
    }
  }
}
