import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupMethod, BackupRecord, RestoreResult } from '../backup/method.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../log/log.js';

/**
 * The restore stage: the verified backup extracted into the target (overwriting: a rerun after
 * a power cut simply restores again), then, where the host used SELinux, a relabel flagged for
 * its first boot (the restored labels may not match the recreated file systems).
 */
export async function restoreBackup(options: {
  method: BackupMethod;
  backup: BackupRecord;
  config: Config;
  target: string;
  log: Log;
  signal: AbortSignal;
}): Promise<RestoreResult> {
  await mkdir(options.target, { recursive: true, mode: 0o755 });
  return options.method.restore({
    config: options.config,
    log: options.log,
    backup: options.backup,
    target: options.target,
    signal: options.signal,
  });
}

/** `touch TARGET/.autorelabel` when the backup's host used SELinux; true when it did. */
export async function flagSelinuxRelabel(backup: BackupRecord, target: string): Promise<boolean> {
  if (!backup.selinux) return false;
  await writeFile(join(target, '.autorelabel'), '', { mode: 0o644 });
  return true;
}
