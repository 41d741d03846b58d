import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyStore, type BodyStoreOptions } from './cpio-body-store.js';
import type { CpioEntry } from './cpio-entry.js';
import { layoutRecords, type NewcLayoutOptions } from './cpio-layout.js';
import { newcChunks } from './cpio-serialise.js';
import { type ByteSource, type TarReadOptions, tarEntries } from './cpio-tar.js';
import { ArchiveTree, type Warn } from './cpio-tree.js';

/**
 * lifeboat's initramfs writer: a tree (a tar stream of the rescue root, or entries) in, a newc
 * cpio archive out, the same bytes for the same tree however it arrives. The idea is LinuxKit's
 * (a tar stream turned into cpio by small stream stages); the rules are docs/architecture.md's
 * "Determinism rules":
 *
 *   tar stream ──tarEntries──▶ entries ──ArchiveTree──▶ tree ──layoutRecords──▶ records
 *              (bodies kept in a BodyStore)                     (sorted, numbered, clamped)
 *   records ──newcChunks──▶ bytes
 *
 * The whole input is read before the first byte goes out: sorted order needs the last entry.
 *
 * Decisions (why: see the module named):
 * - Names are stored without a leading `/` or `./`, and the root is a record named `.`, as
 *   `find . | cpio -o` and dracut write. The kernel applies a `.` record's mode and owner to the
 *   rootfs root, which otherwise keeps the kernel's (cpio-newc.ts NEWC_ROOT_NAME).
 * - Order is byte order of the path, `.` first (cpio-path.ts compareArchivePaths).
 * - Hardlinks share one inode number; a file's data goes with its last name (cpio-layout.ts).
 * - Sockets are skipped with a warning; files of 4 GiB or more, names or symlink targets over
 *   4095 bytes are refused with the path in the message (cpio-newc.ts).
 * - The archive ends with TRAILER!!! and NULs up to a multiple of 512 bytes, as GNU cpio's.
 */

export type { BodyStoreOptions } from './cpio-body-store.js';
export { BodyStore } from './cpio-body-store.js';
export type { CpioBody, CpioEntry, CpioEntryType, CpioName } from './cpio-entry.js';
export { memoryBody } from './cpio-entry.js';
export { indexed, type LayerIndex, overBase } from './cpio-layers.js';
export type { NewcLayoutOptions, NewcRecord } from './cpio-layout.js';
export { clampMtime, layoutRecords } from './cpio-layout.js';
export type { NewcHeaderFields } from './cpio-newc.js';
export {
  assertNewcFileSize,
  NEWC_MAX_FILE_SIZE,
  newcHeader,
  newcRecordHead,
  newcTrailer,
} from './cpio-newc.js';
export { newcChunks } from './cpio-serialise.js';
export type { ByteSource, TarReadOptions } from './cpio-tar.js';
export { tarEntries } from './cpio-tar.js';
export { ArchiveTree } from './cpio-tree.js';

export interface NewcOptions extends NewcLayoutOptions {
  /** Told about entries left out (sockets). Default: ignored. */
  onWarning?: Warn;
}

export interface TarToNewcOptions extends NewcOptions, TarReadOptions, BodyStoreOptions {
  /**
   * A stage between the tar's entries and the archive: which entries go in (a layer of a layered
   * initrd, cpio-layers.ts). Default: all of them.
   */
  select?: (entries: AsyncIterable<CpioEntry>) => AsyncIterable<CpioEntry>;
}

/** The archive of `entries` as a stream of bytes. Bodies are read when their record is written. */
export function entriesToNewc(
  entries: Iterable<CpioEntry> | AsyncIterable<CpioEntry>,
  options: NewcOptions = {},
): Readable {
  async function* archive(): AsyncGenerator<Buffer> {
    const tree = new ArchiveTree(options.onWarning);
    for await (const entry of entries) tree.add(entry);
    yield* newcChunks(layoutRecords(tree, options));
  }
  return Readable.from(archive(), { objectMode: false });
}

/** Writes the archive of `entries` to `sink`, and ends it. */
export async function writeNewc(
  entries: Iterable<CpioEntry> | AsyncIterable<CpioEntry>,
  sink: NodeJS.WritableStream,
  options: NewcOptions = {},
): Promise<void> {
  await pipeline(entriesToNewc(entries, options), sink);
}

/**
 * The archive of the tree a tar stream describes (the rescue root: Docker's getArchive, GNU tar,
 * tar-stream's pack). File bodies wait in memory up to `memoryLimit`, then in a temporary file
 * that is removed when the archive ends, fails or is destroyed.
 */
export function tarToNewc(tar: ByteSource, options: TarToNewcOptions = {}): Readable {
  async function* archive(): AsyncGenerator<Buffer> {
    const store = new BodyStore(options);
    try {
      const tree = new ArchiveTree(options.onWarning);
      const entries = tarEntries(tar, store, options);
      for await (const entry of options.select ? options.select(entries) : entries) tree.add(entry);
      yield* newcChunks(layoutRecords(tree, options));
    } finally {
      await store.dispose();
    }
  }
  return Readable.from(archive(), { objectMode: false });
}
