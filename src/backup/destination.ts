import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { DirectoryDestination } from './destination-file.js';
import { MountDestination } from './destination-mount.js';
import { hostKeySha256, SftpDestination } from './destination-sftp.js';
import type { BackupDestination } from './method.js';

/**
 * backup.url → the destination module for its scheme. Nothing is contacted here: open() does
 * that, so a bad URL is a usage error (exit 2) and an unreachable server a job error (exit 1).
 */
export const DESTINATION_SCHEMES = ['file', 'nfs', 'cifs', 'usb', 'sftp'] as const;

const FORMS =
  'file:///dir, nfs://server[:port]/export/path, cifs://server[:port]/share/path, usb:///dev/disk/by-label/LABEL/path or sftp://user@host[:port]/path';

export function openDestination(config: Config, log: Log): BackupDestination {
  const raw = config.backup.url;
  if (!raw) {
    throw new UsageError('backup.url is not set: lifeboat does not know where backups go', {
      hint: `set backup.url to ${FORMS}`,
    });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`backup.url ${raw} is not a URL`, { hint: `use ${FORMS}` });
  }
  const display = withoutPassword(url);
  const path = decodeURIComponent(url.pathname);
  const bad = (why: string) =>
    new UsageError(`backup.url ${display}: ${why}`, { hint: `use ${FORMS}` });
  const scheme = url.protocol.replace(/:$/, '');

  switch (scheme) {
    case 'file':
      if (url.host !== '') throw bad('a file:// URL names no host (file:///dir)');
      if (path === '/' || path === '') throw bad('the backup directory cannot be /');
      return new DirectoryDestination(display, path);
    case 'nfs': {
      if (!url.hostname) throw bad('an nfs:// URL names the server (nfs://server/export/path)');
      return new MountDestination(
        display,
        {
          source: `${url.hostname}:${path}`,
          type: 'nfs',
          options: withPort(config.backup.mountOptions, url.port),
          path: '',
        },
        log,
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
          options: withPort(config.backup.mountOptions, url.port),
          path: rest.join('/'),
        },
        log,
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
          options: config.backup.mountOptions,
          path: parts.slice(deviceParts).join('/'),
        },
        log,
      );
    }
    case 'sftp': {
      if (!url.hostname || !url.username) {
        throw bad('an sftp:// URL names the user and the server (sftp://user@host[:port]/path)');
      }
      if (url.password) throw bad('put no password in the URL: use backup.sftpKey');
      if (path === '' || path === '/') throw bad('the backup directory cannot be /');
      return new SftpDestination(
        display,
        {
          user: decodeURIComponent(url.username),
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port ? Number(url.port) : 22,
          path: path.replace(/\/+$/, ''),
          key: config.backup.sftpKey,
          hostKey:
            config.backup.sftpHostKey === undefined
              ? undefined
              : hostKeySha256(config.backup.sftpHostKey),
        },
        log,
      );
    }
    default:
      throw new UsageError(`backup.url ${display}: lifeboat has no destination for ${scheme}://`, {
        hint: `use ${FORMS}`,
      });
  }
}

/** A server's port in the URL (nfs://server:2049/...) is mount's port= option for NFS and CIFS. */
function withPort(options: string, port: string): string {
  if (port === '') return options;
  return options === '' ? `port=${port}` : `${options},port=${port}`;
}

/** The URL as messages show it: a password never. */
function withoutPassword(url: URL): string {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '';
  return copy.href;
}

/**
 * The block devices of this machine that hold the backups (a usb:// partition): recovery leaves
 * the disks they are on alone. None for a network destination or a backup method without one.
 */
export function backupDevices(config: Config, log: Log): string[] {
  if (config.backup.method !== 'netfs' || config.backup.url === undefined) return [];
  const device = openDestination(config, log).localDevice;
  return device === undefined ? [] : [device];
}
