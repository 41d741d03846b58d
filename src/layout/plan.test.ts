import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupMethodFor } from '../backup/methods.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { MemoryLog } from '../log/log.js';
import { disksHolding, rescueMediumPtuuid } from './plan.js';

/** The disk that holds the backup is never a recreate target: which disk that is. */
describe('the disk holding the backup', () => {
  // Only these flags: no configuration directory of this machine's.
  const empty = mkdtempSync(join(tmpdir(), 'lifeboat-cfg-'));
  const config = async (sets: string[]) =>
    (await loadConfig({ configDir: empty, cwd: empty, env: {}, sets })).config;
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  const backupDevices = (config: Config, log: Log) =>
    backupMethodFor(config, 'rescue')?.protectedDevices(config, log) ?? [];

  it('is the partition of a usb:// URL; a network destination has none', async () => {
    const log = new MemoryLog();
    const usb = await config([
      'backup.method=netfs',
      'backup.url=usb:///dev/disk/by-label/REAR-000/backups',
    ]);
    expect(backupDevices(usb, log)).toEqual(['/dev/disk/by-label/REAR-000']);
    const sftp = await config(['backup.method=netfs', 'backup.url=sftp://root@10.0.2.2/b']);
    expect(backupDevices(sftp, log)).toEqual([]);
    expect(backupDevices(await config([]), log)).toEqual([]);
  });

  it('resolves to the whole disk under it (lsblk --inverse), and refuses what is no device', async () => {
    // This machine's root file system: its device and the disk under it are real.
    const root = execFileSync('findmnt', ['-no', 'SOURCE', '/'], { encoding: 'utf8' }).trim();
    const disk = execFileSync('lsblk', ['-dnpo', 'PKNAME', root], { encoding: 'utf8' }).trim();
    const holding = await disksHolding([root]);
    expect([...holding]).toEqual([disk === '' ? root : disk]);
    await expect(disksHolding(['/dev/no-such-disk'])).rejects.toThrow(JobError);
  });
});

describe('rescueMediumPtuuid: the disk the rescue system booted from is never a target', () => {
  it('reads lifeboat.medium= from the kernel command line, in lower case', () => {
    expect(
      rescueMediumPtuuid(
        'BOOT_IMAGE=/boot/vmlinuz quiet lifeboat.medium=122B2CC1-7FB1-4B0C-B165-A55B1FEC0303 lifeboat.recover=auto\n',
      ),
    ).toBe('122b2cc1-7fb1-4b0c-b165-a55b1fec0303');
  });
  it('is undefined when the medium names none (an ISO, PXE) or names it empty', () => {
    expect(rescueMediumPtuuid('quiet console=ttyS0')).toBeUndefined();
    expect(rescueMediumPtuuid('quiet lifeboat.medium=')).toBeUndefined();
  });
});
