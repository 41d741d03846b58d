import { REDACTED } from '../config/dump.js';
import type { Config } from '../config/schema.js';
import { urlPasswords, urlWithoutPassword } from '../config/url-credentials.js';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { DirectoryDestination } from './destination-file.js';
import { MountDestination } from './destination-mount.js';
import { hostKeySha256, SftpDestination } from './destination-sftp.js';
import { TapeDestination } from './destination-tape.js';
import type { BackupDestination } from './destination-types.js';

/**
 * A destination URL → the destination module for its scheme. Nothing is contacted here: open()
 * does that, so a bad URL is a usage error (exit 2) and an unreachable server a job error (exit 1).
 */
const FORMS =
  'file:///dir, nfs://server[:port]/export/path, cifs://server[:port]/share/path, usb:///dev/disk/by-label/LABEL/path, sftp://user@host[:port]/path or tape:///dev/nst0';

/**
 * How long a usb:// destination waits for its partition: USB enumeration and udev take some
 * seconds on real hardware, more in an emulator. Only a stick that is not there waits.
 */
const USB_APPEARS_WITHIN_MS = 60_000;

/** What a destination needs besides its URL; backup.url and output.url share these. */
export interface DestinationOptions {
  /** The configuration key the URL came from, as messages name it: backup.url, output.url. */
  key: string;
  /** mount -o for nfs:// and cifs:// (backup.mountOptions). */
  mountOptions: string;
  /** The PEM private key for sftp:// (backup.sftpKey). */
  sftpKey?: string;
  /** The server's SHA256 host key fingerprint for sftp:// (backup.sftpHostKey). */
  sftpHostKey?: string;
  /**
   * tape:// only: the archive's block size, the tape's label, and the tape files before the
   * archive (1, the label; with the obdr output the ISO and its file marks too).
   */
  tape?: { blockSize: number; label: string; filesBefore: number; manifestCopyDir?: string };
}

/**
 * Tape files before a tape:// backup's archive: the label; with the obdr output also the rescue
 * ISO and the file marks after it (tape.isoFileMarks: the ISO's own and the extra ones).
 */
export function tapeFilesBefore(config: Config): number {
  return config.output.methods.includes('obdr') ? 1 + config.tape.isoFileMarks : 1;
}

/**
 * The options of a URL other than backup.url that reaches the same servers (output.url, pxe.url):
 * the schema has no mount options or sftp keys of their own; backup.* serve them all.
 */
export function backupServerOptions(config: Config, key: string): DestinationOptions {
  return {
    key,
    mountOptions: config.backup.mountOptions,
    sftpKey: config.backup.sftpKey,
    sftpHostKey: config.backup.sftpHostKey,
  };
}

/** backup.url's destination: where backups are written and read. */
export function openDestination(config: Config, log: Log): BackupDestination {
  const raw = config.backup.url;
  if (!raw) {
    throw new UsageError('backup.url is not set: lifeboat does not know where backups go', {
      hint: `set backup.url to ${FORMS}`,
    });
  }
  return openDestinationUrl(
    raw,
    {
      ...backupServerOptions(config, 'backup.url'),
      tape: {
        blockSize: config.tape.blockSize,
        label: config.tape.label,
        filesBefore: tapeFilesBefore(config),
        manifestCopyDir: config.output.dir,
      },
    },
    log,
  );
}

/**
 * The destination for any URL (backup.url, output.url). A password in the URL is registered
 * with the log as a secret before anything is said, and left out of `display`.
 */
export function openDestinationUrl(
  raw: string,
  options: DestinationOptions,
  log: Log,
): BackupDestination {
  const { key } = options;
  // Before anything is said: the password as written and decoded, parseable URL or not.
  for (const password of urlPasswords(raw)) log.addSecret(password);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${key} ${urlWithoutPassword(raw, REDACTED)} is not a URL`, {
      hint: `use ${FORMS}`,
    });
  }
  const display = withoutPassword(url);
  const path = decodeURIComponent(url.pathname);
  const bad = (why: string) =>
    new UsageError(`${key} ${display}: ${why}`, { hint: `use ${FORMS}` });
  const scheme = url.protocol.replace(/:$/, '');
  // "backup" for backup.url: "the backup directory cannot be /".
  const noun = key.split('.')[0];

  switch (scheme) {
    case 'file':
      if (url.host !== '') throw bad('a file:// URL names no host (file:///dir)');
      if (path === '/' || path === '') throw bad(`the ${noun} directory cannot be /`);
      return new DirectoryDestination(display, path, key);
    case 'nfs': {
      if (!url.hostname) throw bad('an nfs:// URL names the server (nfs://server/export/path)');
      return new MountDestination(
        display,
        {
          source: `${url.hostname}:${path}`,
          type: 'nfs',
          options: withPort(options.mountOptions, url.port),
          path: '',
        },
        log,
        key,
      );
    }
    case 'cifs': {
      const [share, ...rest] = path.split('/').filter(Boolean);
      if (!url.hostname || !share) {
        throw bad('a cifs:// URL names the server and the share (cifs://server/share/path)');
      }
      return new MountDestination(
        display,
        {
          source: `//${url.hostname}/${share}`,
          type: 'cifs',
          options: withPort(options.mountOptions, url.port),
          path: rest.join('/'),
          ...cifsLogin(url),
        },
        log,
        key,
      );
    }
    case 'usb': {
      if (url.host !== '')
        throw bad('a usb:// URL names a device path (usb:///dev/disk/by-label/LABEL/path)');
      const parts = path.split('/').filter(Boolean);
      // /dev/disk/by-label/LABEL (by-uuid, by-id...) is four components, /dev/sdb1 two.
      const deviceParts = parts[1] === 'disk' ? 4 : 2;
      if (parts[0] !== 'dev' || parts.length < deviceParts) {
        throw bad('a usb:// URL names a partition under /dev (usb:///dev/disk/by-label/LABEL)');
      }
      return new MountDestination(
        display,
        {
          source: `/${parts.slice(0, deviceParts).join('/')}`,
          options: options.mountOptions,
          path: parts.slice(deviceParts).join('/'),
          appearsWithinMs: USB_APPEARS_WITHIN_MS,
        },
        log,
        key,
      );
    }
    case 'tape': {
      // Always the non-rewinding node: /dev/st0 rewinds whenever it is closed, between the files.
      const device = path.replace(/^\/dev\/st(\d+)$/, '/dev/nst$1');
      if (url.host !== '' || !/^\/dev\/nst\d+$/.test(device))
        throw bad('a tape:// URL names a tape device (tape:///dev/nst0)');
      if (!options.tape) throw bad('tape:// is for backups (backup.url)');
      return new TapeDestination(display, { device, ...options.tape }, log, key);
    }
    case 'sftp': {
      if (!url.hostname || !url.username) {
        throw bad('an sftp:// URL names the user and the server (sftp://user@host[:port]/path)');
      }
      if (url.password) throw bad('put no password in the URL: use backup.sftpKey');
      if (path === '' || path === '/') throw bad(`the ${noun} directory cannot be /`);
      return new SftpDestination(
        display,
        {
          user: decodeURIComponent(url.username),
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port ? Number(url.port) : 22,
          path: path.replace(/\/+$/, ''),
          key: options.sftpKey,
          hostKey:
            options.sftpHostKey === undefined ? undefined : hostKeySha256(options.sftpHostKey),
        },
        log,
        key,
      );
    }
    default:
      throw new UsageError(`${key} ${display}: lifeboat has no destination for ${scheme}://`, {
        hint: `use ${FORMS}`,
      });
  }
}

/** A server's port in the URL (nfs://server:2049/...) is mount's port= option for NFS and CIFS. */
function withPort(options: string, port: string): string {
  if (port === '') return options;
  return options === '' ? `port=${port}` : `${options},port=${port}`;
}

/** cifs://user:password@server/...: who mount.cifs logs in as, when the URL says. */
function cifsLogin(url: URL): { user?: string; password?: string } {
  return {
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** The URL as messages show it: a password never. */
function withoutPassword(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '';
  return copy.href;
}
