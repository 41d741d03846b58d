import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import { JobError, UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { openDestination } from './destination.js';
import { MountDestination } from './destination-mount.js';
import type { TapeDestination } from './destination-tape.js';
import { nextBackupId } from './retention.js';

const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };

async function destinationFor(url: string, sets: string[] = []) {
  const empty = mkdtempSync(join(tmpdir(), 'lifeboat-cfg-'));
  try {
    const { config } = await loadConfig({
      configDir: empty,
      cwd: empty,
      facts,
      env: {},
      sets: [`backup.url=${JSON.stringify(url)}`, ...sets],
    });
    return openDestination(config, new MemoryLog());
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

describe('backup.url', () => {
  it('names each supported form as the destination messages show, without a password', async () => {
    expect((await destinationFor('file:///srv/backup')).display).toBe('file:///srv/backup');
    expect((await destinationFor('nfs://nas/exports/rear')).display).toBe('nfs://nas/exports/rear');
    expect((await destinationFor('cifs://nas/share/dir')).display).toBe('cifs://nas/share/dir');
    expect((await destinationFor('usb:///dev/disk/by-label/REAR/backups')).display).toBe(
      'usb:///dev/disk/by-label/REAR/backups',
    );
    expect((await destinationFor('sftp://backup@nas:2222/srv')).display).toBe(
      'sftp://backup@nas:2222/srv',
    );
  });

  it('mounts a share at the port the URL names, after backup.mountOptions', async () => {
    const specOf = async (url: string, sets: string[] = []) =>
      ((await destinationFor(url, sets)) as MountDestination).spec;
    expect(await specOf('nfs://10.0.2.2:20490/backups/site')).toEqual({
      source: '10.0.2.2:/backups/site',
      type: 'nfs',
      options: 'port=20490',
      path: '',
    });
    expect(
      await specOf('cifs://nas:4445/backups/host-a', ['backup.mountOptions=credentials=/root/smb']),
    ).toEqual({
      source: '//nas/backups',
      type: 'cifs',
      options: 'credentials=/root/smb,port=4445',
      path: 'host-a',
    });
    expect((await specOf('usb:///dev/disk/by-label/LBUSB/lifeboat')).source).toBe(
      '/dev/disk/by-label/LBUSB',
    );
  });

  it('waits for a usb:// partition to appear, then says which is missing and what to do', async () => {
    expect(
      ((await destinationFor('usb:///dev/disk/by-label/LBUSB/x')) as MountDestination).spec,
    ).toMatchObject({ appearsWithinMs: 60_000 });
    const log = new MemoryLog();
    const stick = new MountDestination(
      'usb:///dev/disk/by-label/LIFEBOAT-NOT-HERE/lifeboat',
      {
        source: '/dev/disk/by-label/LIFEBOAT-NOT-HERE',
        options: '',
        path: 'lifeboat',
        appearsWithinMs: 1000,
      },
      log,
      'backup.url',
    );
    const error = await stick.open('read').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toBe(
      'backup.url usb:///dev/disk/by-label/LIFEBOAT-NOT-HERE/lifeboat: /dev/disk/by-label/LIFEBOAT-NOT-HERE is not there',
    );
    expect((error as JobError).hint).toMatch(/plug in the stick/);
    expect(log.lines.map((l) => l.message).join('\n')).toContain(
      'waiting up to 1 s for /dev/disk/by-label/LIFEBOAT-NOT-HERE',
    );
  });

  it('takes a tape drive by its non-rewinding node, the one that keeps its place between files', async () => {
    const specOf = async (url: string, sets: string[] = []) =>
      ((await destinationFor(url, sets)) as TapeDestination).spec;
    expect(await specOf('tape:///dev/nst0', ['output.dir=/srv/media'])).toEqual({
      device: '/dev/nst0',
      blockSize: 0,
      label: 'LIFEBOAT',
      filesBefore: 1,
      manifestCopyDir: '/srv/media',
    });
    expect((await specOf('tape:///dev/st1')).device).toBe('/dev/nst1');
    // OBDR: the archive follows the label, the ISO and the ISO's file marks (ReaR's fsf 3).
    expect((await specOf('tape:///dev/nst0', ['output.methods=[obdr]'])).filesBefore).toBe(3);
    expect(
      (await specOf('tape:///dev/nst0', ['output.methods=[obdr]', 'tape.isoFileMarks=1']))
        .filesBefore,
    ).toBe(2);
    const error = await destinationFor('tape:///dev/sdb').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      'backup.url tape:///dev/sdb: a tape:// URL names a tape device (tape:///dev/nst0)',
    );
  });

  it('refuses an unknown scheme, a malformed URL and incomplete forms with a usage error naming backup.url', async () => {
    const refused = async (url: string, message: RegExp) => {
      const error = await destinationFor(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(message);
      expect((error as UsageError).hint).toContain('file:///dir');
    };
    await refused(
      'ftp://nas/x',
      /^backup\.url ftp:\/\/nas\/x: lifeboat has no destination for ftp:\/\/$/,
    );
    await refused('not a url', /^backup\.url not a url is not a URL$/);
    await refused('sftp://nas/srv', /names the user and the server/);
    await refused('sftp://u:secret@nas/srv', /put no password in the URL/);
    await refused('cifs://nas', /names the server and the share/);
    await refused('usb:///mnt/stick', /names a partition under \/dev/);
    await refused('file:///', /cannot be \//);
  });

  it('refuses a host key that is not a SHA256 fingerprint', async () => {
    await expect(
      destinationFor('sftp://u@nas/srv', ['backup.sftpHostKey=MD5:aa:bb']),
    ).rejects.toThrow(/backup.sftpHostKey "MD5:aa:bb" is not a SHA256 fingerprint/);
  });
});

describe('backup ids', () => {
  it('are UTC times, and a second run in the same second gets the next second', () => {
    const now = new Date('2026-12-02T05:15:00.400Z');
    expect(nextBackupId(now, [])).toBe('20261202T051500Z');
    expect(nextBackupId(now, ['20261202T051500Z', 'notes'])).toBe('20261202T051501Z');
  });
});
