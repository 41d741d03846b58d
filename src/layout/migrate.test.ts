import { describe, expect, it } from 'vitest';
import { migrateLayout, parseDiskMapping, partitionDevice, type TargetDisk } from './migrate.js';
import { emptyLayout, type Layout } from './model.js';
import { recreateScript } from './recreate.js';

const MIB = 2 ** 20;
const SECTORS_PER_MIB = 2048;

/** The LVM scenario: GPT with an ESP and an LVM partition holding root, home and swap. */
function lvmLayout(diskMiB = 1024): Layout {
  const layout = emptyLayout();
  const lvmStart = 2048 + 64 * SECTORS_PER_MIB;
  layout.disks.push({
    device: '/dev/vda',
    size: diskMiB * MIB,
    logicalSectorSize: 512,
    physicalSectorSize: 512,
    serial: 'd1',
    table: {
      type: 'gpt',
      id: '24FD65D7-C123-364D-A59E-F1CA4D2682F3',
      firstLba: 2048,
      lastLba: diskMiB * SECTORS_PER_MIB - 35,
      partitions: [
        {
          device: '/dev/vda1',
          number: 1,
          start: 2048,
          size: 64 * SECTORS_PER_MIB,
          type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
          uuid: '6473C388-2135-5947-B10B-883234CA088D',
          name: 'esp',
        },
        {
          device: '/dev/vda2',
          number: 2,
          start: lvmStart,
          size: diskMiB * SECTORS_PER_MIB - lvmStart - 34,
          type: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
          uuid: 'D5221A90-9992-A642-B630-29D66EEC66F1',
          name: 'lvm',
        },
      ],
    },
  });
  layout.volumeGroups.push({
    name: 'vg0',
    uuid: 'x',
    extentSize: 8 * MIB,
    physicalVolumes: [{ device: '/dev/vda2', uuid: 'pv' }],
    logicalVolumes: [
      { name: 'home', uuid: 'h', size: 320 * MIB, segtype: 'linear' },
      { name: 'root', uuid: 'r', size: 400 * MIB, segtype: 'linear' },
      { name: 'swap', uuid: 's', size: 64 * MIB, segtype: 'linear' },
    ],
  });
  layout.filesystems.push(
    { device: '/dev/vda1', type: 'vfat', uuid: '1647-4417', options: { fatSize: 32 } },
    { device: '/dev/vg0/root', type: 'ext4', uuid: 'r-fs', options: {} },
    { device: '/dev/vg0/home', type: 'xfs', uuid: 'h-fs', options: {} },
  );
  layout.swaps.push({ device: '/dev/vg0/swap', uuid: 's-sw' });
  return layout;
}

const disk = (device: string, sizeMiB: number, serial?: string): TargetDisk => ({
  device,
  size: sizeMiB * MIB,
  logicalSectorSize: 512,
  ...(serial ? { serial } : {}),
});

describe('migrateLayout', () => {
  it('keeps the layout as it is on the same disk', () => {
    const layout = lvmLayout();
    const { layout: migrated, notes } = migrateLayout(layout, [disk('/dev/vda', 1024, 'd1')]);
    expect(migrated).toEqual(layout);
    expect(notes).toEqual([]);
  });

  it('follows a renamed disk by its serial, and renames every device built on it', () => {
    const { layout: migrated, disks } = migrateLayout(lvmLayout(), [
      disk('/dev/vdb', 1024, 'd1'),
      disk('/dev/vda', 1024, 'other'),
    ]);
    expect(disks).toEqual(new Map([['/dev/vda', '/dev/vdb']]));
    expect(migrated.disks[0]?.table?.partitions.map((p) => p.device)).toEqual([
      '/dev/vdb1',
      '/dev/vdb2',
    ]);
    expect(migrated.volumeGroups[0]?.physicalVolumes[0]?.device).toBe('/dev/vdb2');
    expect(migrated.filesystems[0]?.device).toBe('/dev/vdb1');
    // Only the mapped disk is in the script: the other one is never touched.
    const { script } = recreateScript(migrated);
    expect(script).toContain("'/dev/vdb'");
    expect(script).not.toMatch(/'\/dev\/vda\d*'/);
  });

  it('onto a larger disk: the ESP keeps its size, the LVM partition takes the rest, LVs keep theirs', () => {
    const {
      layout: migrated,
      notes,
      shrunk,
    } = migrateLayout(lvmLayout(), [disk('/dev/sdz', 2048)]);
    expect(shrunk).toEqual([]);
    const [esp, lvm] = migrated.disks[0]?.table?.partitions ?? [];
    expect(esp?.size).toBe(64 * SECTORS_PER_MIB);
    expect(esp?.device).toBe('/dev/sdz1');
    expect(lvm?.start).toBe(2048 + 64 * SECTORS_PER_MIB);
    const end = (lvm?.start ?? 0) + (lvm?.size ?? 0);
    expect(end).toBeLessThanOrEqual(2048 * SECTORS_PER_MIB - 34);
    expect(end).toBeGreaterThan(2040 * SECTORS_PER_MIB);
    expect(migrated.disks[0]?.table?.lastLba).toBe(2048 * SECTORS_PER_MIB - 34);
    expect(migrated.volumeGroups[0]?.logicalVolumes.map((l) => l.size)).toEqual([
      320 * MIB,
      400 * MIB,
      64 * MIB,
    ]);
    expect(notes).toEqual([
      '/dev/vda → /dev/sdz',
      '/dev/sdz: 1.0 GiB captured, 2.0 GiB here: partitions resized',
    ]);
  });

  it('onto a smaller disk: a full volume group shrinks, every LV by the same factor, in whole extents', () => {
    const layout = lvmLayout(1536);
    const vg = layout.volumeGroups[0];
    const root = vg?.logicalVolumes.find((l) => l.name === 'root');
    if (root) root.size = 1000 * MIB; // 1384 MiB of LVs: more than a 1 GiB disk holds
    for (const fs of layout.filesystems) if (fs.type === 'xfs') fs.type = 'ext4';
    const { layout: migrated, notes, shrunk } = migrateLayout(layout, [disk('/dev/vda', 1024)]);
    expect(shrunk).toEqual(['/dev/vda is 1.0 GiB, smaller than the 1.5 GiB of /dev/vda']);
    const before = vg?.logicalVolumes.map((l) => l.size) ?? [];
    const after = migrated.volumeGroups[0]?.logicalVolumes.map((l) => l.size) ?? [];
    expect(after.every((s) => s % (8 * MIB) === 0)).toBe(true);
    // One factor for all (root's, the largest), each rounded down to whole 8 MiB extents.
    const factor = (after[1] ?? 0) / (before[1] ?? 1);
    expect(factor).toBeLessThan(0.75);
    after.forEach((size, i) => {
      expect(Math.abs(size - (before[i] ?? 0) * factor)).toBeLessThan(8 * MIB);
    });
    const lvm = migrated.disks[0]?.table?.partitions[1];
    expect(after.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual((lvm?.size ?? 0) * 512 - 16 * MIB);
    expect(notes).toContainEqual(
      expect.stringMatching(/^volume group vg0: logical volumes scaled to \d+%$/),
    );
  });

  it('refuses a disk too small, naming what does not fit', () => {
    expect(() => migrateLayout(lvmLayout(), [disk('/dev/vda', 512)])).toThrow(
      /\/dev\/vg0\/home \(xfs\) would be \d+ MiB, under its 300 MiB minimum/,
    );
    expect(() => migrateLayout(lvmLayout(), [disk('/dev/vda', 32)])).toThrow(
      /is too small for the partitions of \/dev\/vda that keep their size/,
    );
  });

  it('refuses when a captured disk has nowhere to go', () => {
    const two = lvmLayout();
    const [first] = two.disks;
    if (first === undefined) throw new Error('the layout has no disk');
    two.disks.push({
      ...structuredClone(first),
      device: '/dev/vdb',
      serial: 'd2',
      table: null,
    });
    expect(() => migrateLayout(two, [disk('/dev/vda', 1024)])).toThrow(
      /no disk here for \/dev\/vdb \(1\.0 GiB, serial d2\): the layout needs 2 disk\(s\), this machine has 1/,
    );
  });

  it('takes an explicit mapping over everything else', () => {
    const { disks } = migrateLayout(
      lvmLayout(),
      [disk('/dev/vda', 1024, 'd1'), disk('/dev/vdc', 1024)],
      parseDiskMapping('# the new disk\n/dev/vda /dev/vdc\n', 'mapping'),
    );
    expect(disks.get('/dev/vda')).toBe('/dev/vdc');
    expect(() => parseDiskMapping('/dev/vda\n', 'map.txt')).toThrow(/map\.txt:1: expected/);
    expect(() =>
      migrateLayout(lvmLayout(), [disk('/dev/vda', 1024)], new Map([['/dev/sdq', '/dev/vda']])),
    ).toThrow(/names \/dev\/sdq, which the layout does not have/);
  });

  it('names partitions the kernel way', () => {
    expect(partitionDevice('/dev/sdb', 2)).toBe('/dev/sdb2');
    expect(partitionDevice('/dev/nvme0n1', 2)).toBe('/dev/nvme0n1p2');
  });
});
