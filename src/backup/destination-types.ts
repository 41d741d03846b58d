import type { Readable } from 'node:stream';

/**
 * Where backups are kept, by URL scheme (file, nfs, cifs, usb, sftp), one module each. Paths are
 * relative to the URL's directory. Writes are atomic: a reader never sees half a file.
 */
export interface BackupDestination {
  /** The URL without credentials, for messages and logs. */
  readonly display: string;
  /**
   * The block device the backups are on, when it is one of this machine's (usb://): recovery
   * never recreates a layout on the disk that holds it.
   */
  readonly localDevice?: string;
  /**
   * Make it reachable (mount, connect); one clear sentence and exit 1 when it is not. Called
   * before any archive is started. `read`: only to read backups (recovery); nothing is created.
   */
  open(purpose?: 'write' | 'read'): Promise<void>;
  write(path: string, data: Readable): Promise<void>;
  read(path: string): Promise<Readable>;
  /** Names directly under a directory ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /** Remove a file or a directory with everything in it. */
  remove(path: string): Promise<void>;
  /** Unmount, disconnect. Safe to call twice. */
  close(): Promise<void>;
}
