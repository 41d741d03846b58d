import { describe, expect, it } from 'vitest';
import { disksToLeaveOut, withoutDisks } from './disks-left-out.js';
import { migrateLayout, type TargetDisk } from './migrate.js';
import { emptyLayout, type Layout } from './model.js';
import { recreateScript } from './recreate.js';

const MIB = 2 ** 20;
const GPT_LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

/** A disk with one partition spanning it (or none: a file system on the whole disk). */
function disk(device: string, sizeMiB: number, partitioned = true): Layout['disks'][number] {
  // GUIDs the recreate script accepts, one per disk (vda → ...0a).
  const guid = (n: number) =>
    `0FC63DAF-8483-4772-8E79-${device.slice(-1).charCodeAt(0).toString(16).padStart(10, '0')}${n}${n}`;
  return {
    device,
    size: sizeMiB * MIB,
    logicalSectorSize: 512,
    physicalSectorSize: 512,
    table: partitioned
      ? {
          type: 'gpt',
          id: guid(0),
          firstLba: 2048,
          lastLba: sizeMiB * 2048 - 35,
          partitions: [
            {
              device: `${device}1`,
              number: 1,
              start: 2048,
              size: sizeMiB * 2048 - 4096,
              type: GPT_LINUX,
              uuid: guid(1),
            },
          ],
        }
      : null,
  };
}

/**
 * The server of the issue, and more: its system disk (root on LVM, swap), RAID1 under LUKS
 * under LVM for /srv, the backup disk plugged in for mkbackup (not mounted), a spare disk with a
 * file system on the whole disk, and a disk holding a volume group nothing mounts.
 */
function server(): Layout {
  const layout = emptyLayout();
  layout.disks.push(
    disk('/dev/vda', 4096),
    disk('/dev/vdb', 3072),
    disk('/dev/vdc', 1024),
    disk('/dev/vdd', 1024),
    disk('/dev/vde', 512, false),
    disk('/dev/vdf', 512),
  );
  layout.raids.push({
    device: '/dev/md0',
    level: 'raid1',
    uuid: 'md0',
    metadata: '1.2',
    devices: ['/dev/vdc1', '/dev/vdd1'],
    spares: [],
  });
  layout.encrypted.push({
    device: '/dev/md0',
    mapping: 'cryptsrv',
    version: 2,
    uuid: 'luks',
    cipher: 'aes-xts-plain64',
    keySize: 512,
  } as Layout['encrypted'][number]);
  const vg = (name: string, pv: string, lvs: string[]) => ({
    name,
    uuid: name,
    extentSize: 4 * MIB,
    physicalVolumes: [{ device: pv, uuid: `${name}-pv` }],
    logicalVolumes: lvs.map((lv) => ({ name: lv, uuid: lv, size: 256 * MIB, segtype: 'linear' })),
  });
  layout.volumeGroups.push(
    vg('vg0', '/dev/vda1', ['root', 'swap']),
    vg('vg1', '/dev/mapper/cryptsrv', ['srv']),
    vg('old', '/dev/vdf1', ['archive']),
  );
  layout.filesystems.push(
    { device: '/dev/vg0/root', type: 'ext4', uuid: 'root-fs', options: {} },
    { device: '/dev/vg1/srv', type: 'xfs', uuid: 'srv-fs', options: {} },
    { device: '/dev/vdb1', type: 'ext4', uuid: 'backup-fs', label: 'BACKUP', options: {} },
    { device: '/dev/vde', type: 'ext4', uuid: 'spare-fs', options: {} },
    { device: '/dev/old/archive', type: 'ext4', uuid: 'archive-fs', options: {} },
  );
  layout.swaps.push({ device: '/dev/vg0/swap', uuid: 'swap' });
  layout.mounts.push(
    { device: '/dev/vg0/root', mountpoint: '/', type: 'ext4', options: 'rw' },
    { device: '/dev/vg1/srv', mountpoint: '/srv', type: 'xfs', options: 'rw' },
  );
  return layout;
}

const NOTHING = { autoExclude: false, exclude: [], backupFilesystems: [] };

describe('disks left out of recovery', () => {
  it('leaves out every disk no mount or swap area of the host is on, and only those', () => {
    expect(disksToLeaveOut(server(), { ...NOTHING, autoExclude: true })).toEqual([
      { device: '/dev/vdb', why: 'no file system or swap area of the host was on it' },
      { device: '/dev/vde', why: 'no file system or swap area of the host was on it' },
      { device: '/dev/vdf', why: 'no file system or swap area of the host was on it' },
    ]);
  });

  it('leaves out the disk holding the backup, mounted at capture or not, whatever the setting', () => {
    const layout = server();
    layout.mounts.push({ device: '/dev/vdb1', mountpoint: '/backup', type: 'ext4', options: 'rw' });
    for (const autoExclude of [true, false])
      expect(
        disksToLeaveOut(layout, { ...NOTHING, autoExclude, backupFilesystems: ['backup-fs'] }),
      ).toContainEqual({ device: '/dev/vdb', why: 'it holds the backup' });
    expect(disksToLeaveOut(layout, NOTHING)).toEqual([]);
  });

  it('leaves out a disk layout.exclude names whole, by component id or device', () => {
    expect(
      disksToLeaveOut(server(), { ...NOTHING, exclude: ['disk:/dev/vdc', '/dev/vdf'] }),
    ).toEqual([
      { device: '/dev/vdc', why: 'layout.exclude names it' },
      { device: '/dev/vdf', why: 'layout.exclude names it' },
    ]);
  });

  it('judges nothing in a layout that records no mount and no swap', () => {
    const layout = server();
    layout.mounts = [];
    layout.swaps = [];
    expect(disksToLeaveOut(layout, { ...NOTHING, autoExclude: true })).toEqual([]);
  });

  it('takes everything built on a left-out disk with it', () => {
    const trimmed = withoutDisks(server(), ['/dev/vdc', '/dev/vdf']);
    expect(trimmed.disks.map((d) => d.device)).toEqual([
      '/dev/vda',
      '/dev/vdb',
      '/dev/vdd',
      '/dev/vde',
    ]);
    expect(trimmed.raids).toEqual([]);
    expect(trimmed.encrypted).toEqual([]);
    expect(trimmed.volumeGroups.map((vg) => vg.name)).toEqual(['vg0']);
    expect(trimmed.filesystems.map((f) => f.device)).toEqual([
      '/dev/vg0/root',
      '/dev/vdb1',
      '/dev/vde',
    ]);
    expect(trimmed.mounts.map((m) => m.mountpoint)).toEqual(['/']);
    expect(trimmed.swaps).toHaveLength(1);
  });

  it('lets a layout captured with the backup disk plugged in recover onto one blank disk', () => {
    // The host: one system disk, and the backup disk attached while capturing.
    const layout = server();
    layout.disks = layout.disks.filter((d) => ['/dev/vda', '/dev/vdb'].includes(d.device));
    const full = withoutDisks(server(), ['/dev/vdc', '/dev/vdd', '/dev/vde', '/dev/vdf']);
    const here: TargetDisk[] = [{ device: '/dev/vda', size: 4096 * MIB, logicalSectorSize: 512 }];
    expect(() => migrateLayout(full, here)).toThrow(/no disk here for \/dev\/vdb/);

    const leftOut = disksToLeaveOut(full, { ...NOTHING, autoExclude: true });
    expect(leftOut.map((d) => d.device)).toEqual(['/dev/vdb']);
    const migration = migrateLayout(
      withoutDisks(
        full,
        leftOut.map((d) => d.device),
      ),
      here,
    );
    expect([...migration.disks]).toEqual([['/dev/vda', '/dev/vda']]);
    const { script } = recreateScript(migration.layout);
    expect(script).not.toContain('/dev/vdb');
    expect(script).toContain('/dev/vg0/root');
  });
});
