import { type BackupMethod, backupMethodFor } from '../backup/method.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';

/** The backup method recovery restores with (src/backup/method.ts), or one clear refusal. */
export function recoveryMethodFor(config: Config): BackupMethod {
  const method = config.backup.method;
  if (method === 'none')
    throw new UsageError('backup.method is none: there is no backup to restore', {
      hint: 'Set backup.method and backup.url in the recovery configuration (or with --set).',
    });
  const found = backupMethodFor(config);
  if (found === undefined)
    throw new UsageError(`backup.method ${method} cannot be restored by this version of lifeboat`);
  return found;
}
