/**
 * NETFS's record of one backup. It is NETFS's alone: the other methods keep their own, and the
 * workflows see only the method-neutral BackupRecord (src/backup/method.ts).
 */
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
