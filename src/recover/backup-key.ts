import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { configDir } from '../paths.js';

/**
 * The build leaves backup.encryptionKey out of the rescue image unless recovery.embedBackupKey
 * is true, and then says so in this file (the image's /etc/lifeboat/backup-key-withheld), so
 * recovery knows that the backup is encrypted before it reads it.
 */
export const KEY_WITHHELD_FILE = 'backup-key-withheld';

export function keyWithheldFile(): string {
  return join(configDir(), KEY_WITHHELD_FILE);
}

/**
 * The configuration with the backup key in it: as it is, when it has one or none is needed;
 * asked for without echo when a person is there; refused in one sentence when unattended.
 */
export async function withBackupKey(
  config: Config,
  options: { unattended: boolean; askSecret: (question: string) => Promise<string>; log: Log },
): Promise<Config> {
  if (config.backup.encryptionKey !== undefined || !existsSync(keyWithheldFile())) return config;
  if (options.unattended)
    throw new UsageError(
      'the backup is encrypted and backup.encryptionKey is not in this rescue image; unattended recovery never asks for it',
      {
        hint: 'Make the media with recovery.embedBackupKey: true, or run lifeboat recover on the console to type the key.',
      },
    );
  return askBackupKey(config, options.askSecret, options.log);
}

/** Asks for the key without echo; it is a secret from then on. */
export async function askBackupKey(
  config: Config,
  askSecret: (question: string) => Promise<string>,
  log: Log,
): Promise<Config> {
  const key = await askSecret('backup.encryptionKey (the key the backup was encrypted with): ');
  if (key === '') throw new UsageError('no backup.encryptionKey was given; nothing was touched');
  log.addSecret(key);
  return { ...config, backup: { ...config.backup, encryptionKey: key } };
}
