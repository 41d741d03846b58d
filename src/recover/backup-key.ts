import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { urlPasswords, urlWithPassword } from '../config/url-credentials.js';
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
 * Likewise for passwords in URLs: this file (the image's /etc/lifeboat/url-passwords-withheld)
 * has a `KEY URL` line for each URL whose password the build left out, the URL as site.yaml has it.
 */
export const URL_PASSWORDS_WITHHELD_FILE = 'url-passwords-withheld';

export function urlPasswordsWithheldFile(): string {
  return join(configDir(), URL_PASSWORDS_WITHHELD_FILE);
}

interface SecretOptions {
  unattended: boolean;
  askSecret: (question: string) => Promise<string>;
  log: Log;
}

/**
 * The configuration with the backup's secrets in it (backup.url's password, the backup key): as
 * it is, when it has them or none is needed; asked for without echo when a person is there;
 * refused in one sentence when unattended.
 */
export async function withBackupKey(config: Config, options: SecretOptions): Promise<Config> {
  return withBackupEncryptionKey(await withBackupUrlPassword(config, options), options);
}

/**
 * backup.url's withheld password, when backup.url is still the URL it was taken out of (one given
 * with --set, with its password or another destination altogether, needs nothing). Only the
 * destination's: recovery.notifyUrl's is only a report, sent without it.
 */
async function withBackupUrlPassword(config: Config, options: SecretOptions): Promise<Config> {
  const url = config.backup.url;
  if (url === undefined || urlPasswords(url).length > 0) return config;
  if (!withheldUrls().some(([key, withheld]) => key === 'backup.url' && withheld === url))
    return config;
  if (options.unattended)
    throw new UsageError(
      `the password of backup.url ${url} is not in this rescue image; unattended recovery never asks for it`,
      {
        hint: `Give it with --set backup.url=${urlWithPassword(url, 'PASSWORD')}, run lifeboat recover on the console to type it, or make the media with recovery.embedBackupKey: true.`,
      },
    );
  const password = await options.askSecret(`password for backup.url ${url}: `);
  if (password === '')
    throw new UsageError('no password for backup.url was given; nothing was touched');
  const withPassword = urlWithPassword(url, password);
  for (const secret of [password, ...urlPasswords(withPassword)]) options.log.addSecret(secret);
  return { ...config, backup: { ...config.backup, url: withPassword } };
}

/** The `KEY URL` lines of the withheld-passwords note; none when there is no note. */
function withheldUrls(): [string, string][] {
  const file = urlPasswordsWithheldFile();
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1).trim()];
    });
}

async function withBackupEncryptionKey(config: Config, options: SecretOptions): Promise<Config> {
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
