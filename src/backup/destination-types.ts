import type { Readable } from 'node:stream';

/** Who may read a written file: its owner (backups) or everyone (a served boot tree). */
export type FileAccess = 'private' | 'served';

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
  /**
   * `access: 'served'` is for trees a TFTP or HTTP server serves (pxe.url): the file is
   * readable by everyone (0644) and the directories made for it 0755. A backup is 'private':
   * 0600 files in 0700 directories.
   */
  write(path: string, data: Readable, access?: FileAccess): Promise<void>;
  read(path: string): Promise<Readable>;
  /** Names directly under a directory ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /** A symbolic link at `path` to `target` (relative to the link's directory), replacing one. */
  symlink(path: string, target: string): Promise<void>;
  /** The symbolic links directly under a directory, name → target (empty when it is not there). */
  symlinks(dir: string): Promise<Map<string, string>>;
  /** Remove a file, a link, or a directory with everything in it. */
  remove(path: string): Promise<void>;
  /** Unmount, disconnect. Safe to call twice. */
  close(): Promise<void>;
}
