import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Log } from '../log/log.js';
import { netfsMethod } from './netfs.js';

/**
 * A backup method (DESIGN.md "Backup methods"): one module per method, each making a backup on
 * the protected host and, inside the rescue system, checking and restoring it. NETFS
 * (netfs.ts) is the first; RSYNC, TSM, NetWorker and the rest implement the same interface.
 *
 * The recover workflow calls verify() in its verify stage, before any disk is touched, and
 * restore() in its restore stage with what verify() returned.
 */
export interface BackupMethod {
  readonly name: string;
  /** Back up the host's file systems (mkbackup, mkbackuponly). */
  backup(request: BackupRequest): Promise<BackupRecord>;
  /**
   * Everything that can be checked before a disk changes: the destination answers, the newest
   * (or the named) backup's checksum matches, the key decrypts it, no member escapes the target.
   * Throws a LifeboatError with one clear sentence otherwise.
   */
  verify(request: VerifyRequest): Promise<VerifiedBackup>;
  /** Extract a verified backup into `target` (/mnt/local, or a directory for a rehearsal). */
  restore(request: RestoreRequest): Promise<RestoreResult>;
}

export interface BackupRequest {
  config: Config;
  log: Log;
  /** The root of the protected host: / (or --root). */
  hostRoot: string;
  /**
   * Mount points to archive, each with --one-file-system (from the layout's mounts: the
   * file systems of real devices, never /proc, /sys, tmpfs...). "/" at least.
   */
  filesystems: string[];
  /** Host name, the directory the backup goes under at the destination. */
  hostname: string;
  /** Paths always left out besides backup.exclude: the output and work directories. */
  alwaysExclude: string[];
  signal?: AbortSignal;
}

export interface VerifyRequest {
  config: Config;
  log: Log;
  hostname: string;
  /** A backup id (backup.json's `id`); the newest when absent. */
  id?: string;
}

export interface RestoreRequest {
  config: Config;
  log: Log;
  backup: VerifiedBackup;
  /** The directory the archive is extracted into. */
  target: string;
  signal?: AbortSignal;
}

/** What a backup run made: its manifest, and where it is. */
export interface BackupRecord {
  manifest: BackupManifest;
  /** The destination URL with any password removed, for messages. */
  where: string;
}

export interface VerifiedBackup extends BackupRecord {}

export interface RestoreResult {
  /** Members extracted. */
  entries: number;
  /** Bytes of archive read. */
  bytes: number;
  seconds: number;
}

export const BACKUP_MANIFEST_FORMAT = 'lifeboat.backup/v1';

/**
 * backup.json, beside the archive at the destination:
 *
 *   <url>/<hostname>/<id>/backup.json
 *   <url>/<hostname>/<id>/<archive.name>      backup.tar.zst, .tar.gz or .tar; + .gpg encrypted
 *   <url>/<hostname>/<id>/<listing.name>      one member name a line, as tar lists them
 *
 * Ids are UTC times (20261202T051500Z), so they sort by age; retention keeps the newest
 * backup.keep + 1 of them.
 */
export interface BackupManifest {
  format: typeof BACKUP_MANIFEST_FORMAT;
  id: string;
  hostname: string;
  /** ISO 8601 UTC. */
  created: string;
  lifeboatVersion: string;
  /** Mount points archived, in archive order. */
  filesystems: string[];
  excludes: string[];
  archive: {
    name: string;
    /** Of the file as stored (after compression and encryption). */
    sha256: string;
    bytes: number;
    compression: 'zstd' | 'gzip' | 'none';
    /** 'gpg-aes256': OpenPGP symmetric encryption (gpg), key from backup.encryptionKey. */
    encryption: 'none' | 'gpg-aes256';
  };
  listing: { name: string; entries: number };
  /** The host used SELinux: recovery flags a relabel. */
  selinux: boolean;
}

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
   * before any archive is started.
   */
  open(): Promise<void>;
  write(path: string, data: Readable): Promise<void>;
  read(path: string): Promise<Readable>;
  /** Names directly under a directory ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /** Remove a file or a directory with everything in it. */
  remove(path: string): Promise<void>;
  /** Unmount, disconnect. Safe to call twice. */
  close(): Promise<void>;
}

/** The backup method a configuration names, or undefined for backup.method none. */
export type BackupMethodFor = (config: Config) => BackupMethod | undefined;

/** The implemented methods by backup.method; the others are refused with a clear message. */
export const backupMethodFor: BackupMethodFor = (config) =>
  config.backup.method === 'netfs' ? netfsMethod : undefined;
