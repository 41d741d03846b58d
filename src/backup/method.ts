import type { BackupMethodName, Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * A backup method: one module per method (src/backup/<name>.ts), each listed once in
 * src/backup/methods.ts. On the protected host it makes backups; in the rescue system it checks
 * and restores them. The workflows see only this interface and the method-neutral BackupRecord.
 *
 * The order a workflow calls it in:
 *   mkbackup, mkbackuponly   check (prep, before any work) → backup
 *   recover, restoreonly     verify (verify stage, before any disk is touched) → restore
 *   recover, layoutonly      protectedDevices, when planning which disks are recreated
 *   build                    rescue: what the rescue system must hold to restore with it
 *
 * To add a method: write src/backup/<name>.ts exporting a BackupMethod, add it to
 * src/backup/methods.ts, and give it a test that backs up and restores for real. Files the rescue
 * system needs besides programs go in skel/<name>/ (the build adds that layer when it exists).
 */
export interface BackupMethod {
  readonly name: BackupMethodName;
  /**
   * Everything that can be checked before any work: the destination or server answers, the
   * credentials are accepted, the client is installed. Returns where backups go, for the
   * progress line; throws a LifeboatError with one clear sentence otherwise.
   */
  check(request: CheckRequest): Promise<string>;
  /** Back up the host's file systems (mkbackup, mkbackuponly). */
  backup(request: BackupRequest): Promise<BackupRecord>;
  /**
   * Everything that can be checked before a disk changes: the destination answers, the newest
   * (or the named) backup is complete and intact, the key decrypts it, nothing in it escapes the
   * target. Throws BackupKeyNeeded when only a key is missing (a person may type it), another
   * LifeboatError with one clear sentence otherwise.
   */
  verify(request: VerifyRequest): Promise<BackupRecord>;
  /** Restore a verified backup into `target` (/mnt/local, or a directory for a rehearsal). */
  restore(request: RestoreRequest): Promise<RestoreResult>;
  /**
   * Block devices of this machine that hold the backups (a usb:// partition): recovery never
   * recreates a layout on the disks they are on. [] for a network destination.
   */
  protectedDevices(config: Config, log: Log): string[];
  /**
   * What the rescue system must hold for restore(): programs (checked in the assembled rescue
   * root before the initrd is packed) and Debian packages (installed like rescue.packages).
   */
  readonly rescue: { programs: readonly string[]; packages: readonly string[] };
  /**
   * Programs the rescue system takes from the protected host (a vendor client, the site's
   * restore command): the capture requires them and copies them with their libraries, as it
   * does rescue.requiredPrograms. Names on PATH or absolute paths.
   */
  hostPrograms?(config: Config): string[];
  /**
   * Host files and directories the rescue system takes as they are (a vendor client's
   * configuration and password files), as rescue.copyAsIs: the capture copies those that exist.
   */
  hostFiles?(config: Config): string[];
  /**
   * What is wrong with the configuration for `use`, one sentence each (the key first): checked
   * with the method's lookup, before any work (exit 2). A backup needs what backs up, a restore
   * (and a rescue image) what restores.
   */
  configProblems?(config: Config, use: 'rescue' | 'backup' | 'restore'): string[];
}

export interface CheckRequest {
  config: Config;
  log: Log;
}

export interface BackupRequest {
  config: Config;
  log: Log;
  /** The root of the protected host: / (or --root). */
  hostRoot: string;
  /**
   * Mount points to back up, each alone (from the layout's mounts: the file systems of real
   * devices, never /proc, /sys, tmpfs...). "/" at least.
   */
  filesystems: string[];
  /** Host name: the backups of one host are kept together under it. */
  hostname: string;
  /** Paths always left out besides backup.exclude: the output and work directories. */
  alwaysExclude: string[];
  signal?: AbortSignal;
}

export interface VerifyRequest {
  config: Config;
  log: Log;
  hostname: string;
  /** A backup id; the newest complete backup when absent. */
  id?: string;
}

export interface RestoreRequest {
  config: Config;
  log: Log;
  /** What verify() returned. */
  backup: BackupRecord;
  /** The directory the backup is restored into. */
  target: string;
  signal?: AbortSignal;
}

/** One backup, as every method describes it to the workflows. */
export interface BackupRecord {
  /** The backup's id: recovery names it, --backup-id chooses it. */
  id: string;
  hostname: string;
  /** When it was made, ISO 8601 UTC. */
  created: string;
  /** Where it is, with any password removed, for messages. */
  where: string;
  /** One line for progress output: what it holds and how big it is. */
  summary: string;
  /** The host used SELinux: recovery flags a relabel of the restored system. */
  selinux: boolean;
  /** The method's own record of this backup; only that method reads it. */
  details: unknown;
}

export interface RestoreResult {
  /** Files and directories restored. */
  entries: number;
  /** Bytes read from the backup. */
  bytes: number;
  seconds: number;
}

/**
 * The backup is encrypted and no key is configured: a person at the console may type it
 * (recover asks, unattended never). A method throws this, never a message to be matched.
 */
export class BackupKeyNeeded extends UsageError {}
