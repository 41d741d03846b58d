import { resolve } from 'node:path';
import { BackupKeyNeeded, type BackupMethod, type BackupRecord } from '../backup/method.js';
import { backupMethodFor } from '../backup/methods.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { askBackupKey, withBackupKey } from './backup-key.js';
import { mountPoints } from './finalize-mounts.js';
import { checkRehearsalTarget } from './rehearsal-target.js';
import type { RecoverRequest } from './request.js';

/**
 * The backup half of the verify stage: the destination answers, the backup's checksum matches,
 * the key decrypts it (BackupMethod.verify). Reads only.
 */
export async function verifyBackup(
  config: Config,
  request: RecoverRequest,
  hostname: string,
  log: Log,
): Promise<{ method: BackupMethod; backup: BackupRecord; config: Config }> {
  // 'restore' never answers undefined: backup.method none is refused there.
  const method = backupMethodFor(config, 'restore') as BackupMethod;
  let keyed = await withBackupKey(config, {
    unattended: request.unattended,
    askSecret: request.askSecret,
    log,
  });
  const verify = (with_: Config) =>
    method.verify({
      config: with_,
      log,
      hostname,
      ...(request.backupId === undefined ? {} : { id: request.backupId }),
    });
  try {
    return { method, backup: await verify(keyed), config: keyed };
  } catch (error) {
    // Encrypted, and no key anywhere: a person at the console may type it (never unattended).
    if (!(error instanceof BackupKeyNeeded) || request.unattended || keyed.backup.encryptionKey)
      throw error;
    keyed = await askBackupKey(keyed, request.askSecret, log);
    return { method, backup: await verify(keyed), config: keyed };
  }
}

/**
 * Where the restore goes must make sense before anything is written: a rehearsal's directory is
 * not a system directory and holds nothing yet (or only an earlier rehearsal's files);
 * restoreonly's target is a mounted file system.
 */
export function checkTarget(request: RecoverRequest, earlierRehearsal?: string): string {
  const target = resolve(request.target);
  if (request.mode === 'rehearsal')
    return checkRehearsalTarget(target, {
      mounts: mountPoints(),
      intoNonEmpty: request.intoNonEmpty === true,
      ...(earlierRehearsal === undefined ? {} : { earlierRehearsal }),
    });
  if (request.mode === 'restoreonly' && !mountPoints().has(target))
    throw new UsageError(
      `${target} is not a mount point: restoreonly restores onto mounted disks`,
      {
        hint: 'Mount the recreated file systems there first (or use lifeboat recover, which does).',
      },
    );
  return request.mode === 'layoutonly'
    ? `recreating the layout under ${target}`
    : `restoring onto ${target}`;
}
