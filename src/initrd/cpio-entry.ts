/**
 * What goes into an initramfs archive: one entry per path, as a tar stream or a directory walk
 * describes it. Entries come in any order; the writer sorts them (cpio-layout.ts).
 */

/** The bytes of a regular file, readable when the archive is written. */
export interface CpioBody {
  readonly size: number;
  /** The file's bytes, `size` of them in all; may be called once per archive written. */
  chunks(): AsyncIterable<Uint8Array>;
}

/** A name as text (stored as its UTF-8 bytes) or as raw bytes (stored as they are). */
export type CpioName = string | Uint8Array;

interface EntryAttributes {
  /** Where the entry goes: `usr/bin/ls`, `./usr/bin/ls` and `/usr/bin/ls` are the same place. */
  path: CpioName;
  /** Permission bits (0o7777 are used; file type bits, if any, are ignored: `type` says it). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
}

export type CpioEntry =
  | (EntryAttributes & { type: 'file'; body: CpioBody | Uint8Array })
  | (EntryAttributes & { type: 'directory' })
  | (EntryAttributes & { type: 'symlink'; target: CpioName })
  | (EntryAttributes & {
      type: 'character-device' | 'block-device';
      devmajor: number;
      devminor: number;
    })
  | (EntryAttributes & { type: 'fifo' })
  /** Skipped with a warning: a socket in an image has no listener behind it. */
  | (EntryAttributes & { type: 'socket' })
  /**
   * Another name for an earlier entry (tar's `link`): shares its inode, so its attributes are
   * the earlier entry's.
   */
  | { type: 'hardlink'; path: CpioName; target: CpioName };

export type CpioEntryType = CpioEntry['type'];

/** A body held in memory. */
export function memoryBody(bytes: Uint8Array): CpioBody {
  return {
    size: bytes.byteLength,
    async *chunks() {
      if (bytes.byteLength > 0) yield bytes;
    },
  };
}

export const EMPTY_BODY: CpioBody = memoryBody(new Uint8Array(0));
