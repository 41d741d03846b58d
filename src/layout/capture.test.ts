import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { captureLayout, type ToolRunner } from './capture.js';
import { diffLayouts } from './diff.js';
import { parseBtrfsSubvolumes, parseTune2fs, parseXfsInfo } from './parse-filesystems.js';
import { parseLuksDump } from './parse-luks.js';
import { parseSfdiskJson } from './parse-sfdisk.js';
import { ToolOutputError } from './parse-util.js';
import { recreateScript } from './recreate.js';
import { formatLayoutTree } from './show.js';

/**
 * The layout capture on real tool output, recorded in the rescue system under QEMU by
 * test/layout/dump-tools.sh (test/layout/fixtures/mixed: GPT with an ESP, ext4 and LVM with
 * ext4, xfs and swap; an MBR disk with a bootable ext4 and swap; MD RAID1 over two whole disks
 * with LUKS2, LVM and btrfs with subvolumes on top; and the two tar disks of the test harness,
 * which carry nothing a layout knows). fixtures/mixed.setup.sh is the script that made it.
 */
const FIXTURES = fileURLToPath(new URL('../../test/layout/fixtures/mixed/', import.meta.url));
const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** dump-tools.sh's file name for each command capture runs. */
function recordedFile(program: string, args: readonly string[]): string | undefined {
  const dev = (path: string) => path.replaceAll('/', '_');
  const last = args.at(-1) ?? '';
  switch (program) {
    case 'lsblk':
      return 'lsblk.json';
    case 'sfdisk':
      return `sfdisk-${last.replace('/dev/', '')}.json`;
    case 'lvm':
      return `${args[0]}.json`;
    case 'mdadm':
      return `mdadm-${args.includes('--export') ? 'export' : 'detail'}-${last.replace('/dev/', '')}.txt`;
    case 'cryptsetup':
      return `luksdump${dev(last)}.${args.includes('--dump-json-metadata') ? 'json' : 'txt'}`;
    case 'blkid':
      return `blkid${dev(last)}.txt`;
    case 'tune2fs':
      return `tune2fs${dev(last)}.txt`;
    case 'xfs_db':
      return `xfsdb${dev(last)}.txt`;
    case 'btrfs':
      return `btrfs-${args[1] === 'list' ? 'list' : 'default'}${dev(last)}.txt`;
    case 'findmnt':
      return 'findmnt.json';
    default:
      return undefined;
  }
}

/** The recorded outputs as a ToolRunner: a command that was not recorded failed. */
const replay: ToolRunner = async (program, args) => {
  const file = recordedFile(program, args);
  if (file === undefined || !existsSync(join(FIXTURES, file))) return { exitCode: 1, stdout: '' };
  const failed =
    existsSync(join(FIXTURES, `${file}.err`)) && /^exit \d+$/m.test(read(`${file}.err`));
  return { exitCode: failed ? 1 : 0, stdout: read(file) };
};

describe('captureLayout on recorded tool output', async () => {
  const layout = await captureLayout({ run: replay, root: '/nonexistent' });

  it('takes the used disks with their ids and tables, not the blank ones', () => {
    expect(layout.disks.map((d) => [d.device, d.serial, d.table?.type ?? null])).toEqual([
      ['/dev/vda', 'd1', 'gpt'],
      ['/dev/vdb', 'd2', 'dos'],
      ['/dev/vdc', 'd3', null],
      ['/dev/vdd', 'd4', null],
    ]);
    const vda = layout.disks[0];
    expect(vda?.size).toBe(1536 * 2 ** 20);
    expect(vda?.table?.id).toBe('24FD65D7-C123-364D-A59E-F1CA4D2682F3');
    expect(vda?.table?.partitions[0]).toEqual({
      device: '/dev/vda1',
      number: 1,
      start: 2048,
      size: 131072,
      type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
      uuid: '6473C388-2135-5947-B10B-883234CA088D',
      name: 'esp',
    });
    expect(layout.disks[1]?.table?.partitions[0]?.bootable).toBe(true);
  });

  it('reads the RAID1 array: level, metadata, name, members in role order', () => {
    expect(layout.raids).toEqual([
      {
        device: '/dev/md0',
        level: 'raid1',
        uuid: 'c1cc29eb:593ac404:f026f6a2:dbdf39c8',
        name: 'lifeboat-rescue:data',
        metadata: '1.2',
        devices: ['/dev/vdc', '/dev/vdd'],
        spares: [],
      },
    ]);
  });

  it('reads LVM: volume groups, PVs with UUIDs (on a partition and on LUKS), LVs by /dev/VG/LV', () => {
    expect(layout.volumeGroups.map((g) => g.name)).toEqual(['vg0', 'vg1']);
    const [vg0, vg1] = layout.volumeGroups;
    expect(vg0?.extentSize).toBe(4 * 2 ** 20);
    expect(vg0?.physicalVolumes.map((p) => p.device)).toEqual(['/dev/vda3']);
    expect(vg1?.physicalVolumes.map((p) => p.device)).toEqual(['/dev/mapper/cryptdata']);
    expect(vg0?.logicalVolumes.map((l) => [l.name, l.size, l.segtype])).toEqual([
      ['home', 320 * 2 ** 20, 'linear'],
      ['root', 400 * 2 ** 20, 'linear'],
      ['swap', 64 * 2 ** 20, 'linear'],
    ]);
    expect(layout.filesystems.map((f) => f.device)).toContain('/dev/vg0/root');
  });

  it('reads LUKS2 on the array: cipher, key size, PBKDF, hash, label; never a key', () => {
    expect(layout.encrypted).toEqual([
      {
        device: '/dev/md0',
        mapping: 'cryptdata',
        version: 2,
        uuid: 'e6438708-fd44-4c70-9a86-d98365580cdd',
        label: 'cryptdata',
        cipher: 'aes-xts-plain64',
        keySize: 512,
        hash: 'sha256',
        pbkdf: 'pbkdf2',
      },
    ]);
    expect(JSON.stringify(layout)).not.toContain('secret-test-key');
  });

  it('reads file systems with the parameters that recreate them', () => {
    const fs = (device: string) => layout.filesystems.find((f) => f.device === device);
    expect(fs('/dev/vg0/root')).toMatchObject({
      type: 'ext4',
      label: 'root',
      uuid: '12e5e905-7344-4a5c-858b-dd2cfb70864f',
      options: { inodeSize: 256, blockSize: 1024, reservedBlocksPercent: 1 },
    });
    // Mounted when captured: needs_recovery is a state, not a feature to make it with.
    expect(fs('/dev/vg0/root')?.options.features).not.toContain('needs_recovery');
    expect(fs('/dev/vg0/root')?.options.features).toContain('metadata_csum');
    expect(fs('/dev/vg0/home')).toMatchObject({
      type: 'xfs',
      label: 'home',
      options: {
        blockSize: 4096,
        inodeSize: 512,
        crc: true,
        finobt: true,
        sparse: true,
        rmapbt: false,
        reflink: true,
        bigtime: true,
        inobtcount: true,
        nrext64: false,
        ftype: true,
      },
    });
    expect(fs('/dev/vda1')).toMatchObject({
      type: 'vfat',
      uuid: '1647-4417',
      label: 'ESP',
      options: { fatSize: 32 },
    });
    expect(fs('/dev/vg1/data')).toMatchObject({
      type: 'btrfs',
      subvolumes: ['@', '@/nested', '@home'],
      defaultSubvolume: '@',
    });
    expect(layout.swaps.map((s) => s.device)).toEqual(['/dev/vdb2', '/dev/vg0/swap']);
  });

  it('keeps the mounts of captured file systems, by their layout names', () => {
    expect(layout.mounts.map((m) => [m.device, m.mountpoint])).toEqual(
      [
        ['/dev/vg1/data', '/mnt/t/data'],
        ['/dev/vda1', '/mnt/t/esp'],
        ['/dev/vg0/home', '/mnt/t/home'],
        ['/dev/vg0/root', '/mnt/t/root'],
        ['/dev/vda2', '/mnt/t/boot'],
      ].sort((a, b) => ((a[1] ?? '') < (b[1] ?? '') ? -1 : 1)),
    );
  });

  it('shows the layout as a tree', () => {
    const tree = formatLayoutTree(layout);
    expect(tree).toContain('/dev/vda 1.5 GiB, gpt 24FD65D7-C123-364D-A59E-F1CA4D2682F3, serial d1');
    expect(tree).toMatch(/\/dev\/md0: raid1 \(md 1\.2/);
    expect(tree).toMatch(/LUKS2 → \/dev\/mapper\/cryptdata \(aes-xts-plain64, 512 bits\)/);
    expect(tree).toMatch(
      /btrfs "data" uuid 6380cfcc-995f-4b9e-b93f-1995fc6a2bec on \/mnt\/t\/data/,
    );
  });

  it('is unchanged against itself, and a renamed disk with the same serial is no change', () => {
    expect(diffLayouts(layout, layout)).toEqual([]);
    const renamed = structuredClone(layout);
    const disk = renamed.disks[1];
    if (disk?.table) {
      disk.device = '/dev/vdz';
      for (const p of disk.table.partitions) p.device = p.device.replace('vdb', 'vdz');
    }
    for (const s of renamed.swaps) s.device = s.device.replace('vdb', 'vdz');
    for (const f of renamed.filesystems) f.device = f.device.replace('vdb', 'vdz');
    expect(diffLayouts(layout, renamed)).toEqual([]);
  });

  it('reports what changed, by stable id', () => {
    const changed = structuredClone(layout);
    const root = changed.volumeGroups[0]?.logicalVolumes.find((l) => l.name === 'root');
    if (root) root.size += 2 ** 30;
    changed.filesystems = changed.filesystems.filter((f) => f.type !== 'xfs');
    const changes = diffLayouts(layout, changed);
    expect(changes).toEqual([
      { component: 'lv vg0/root', what: `size ${400 * 2 ** 20} → ${1424 * 2 ** 20}` },
      { component: 'fs fdab646e-3e29-482a-9326-cfd517febfe9', what: 'gone' },
    ]);
  });
});

describe('the recreate script for the recorded layout', async () => {
  const layout = await captureLayout({ run: replay, root: '/nonexistent' });

  it('orders every component after what it is built on, and is valid bash', async () => {
    const { script, order } = recreateScript(layout);
    const at = (id: string) => order.indexOf(id);
    for (const [first, then] of [
      ['disk:/dev/vda', 'part:/dev/vda3'],
      ['part:/dev/vda3', 'pv:/dev/vda3'],
      ['raid:/dev/md0', 'luks:/dev/md0'],
      ['luks:/dev/md0', 'pv:/dev/mapper/cryptdata'],
      ['vg:vg1', 'lv:vg1/data'],
      ['lv:vg1/data', 'fs:/dev/vg1/data'],
    ] as const) {
      expect(at(first), first).toBeGreaterThanOrEqual(0);
      expect(at(first), `${first} before ${then}`).toBeLessThan(at(then));
    }
    const checked = await execa('bash', ['-n'], { input: script, reject: false });
    expect(checked.stderr).toBe('');
    expect(checked.exitCode).toBe(0);
    // The tar disks of the harness are in no layout, so in no script.
    expect(script).not.toMatch(/\/dev\/vd[ef]/);
  });
});

describe('tool output parsers', () => {
  it('refuse what the tool does not print, naming the tool', () => {
    expect(() => parseSfdiskJson('{}')).toThrow(ToolOutputError);
    expect(() => parseSfdiskJson('not json')).toThrow(/sfdisk: not JSON/);
    expect(() => parseTune2fs('hello')).toThrow(/tune2fs -l: no features/);
    expect(() => parseXfsInfo('')).toThrow(/xfs_db info/);
    expect(() => parseLuksDump('/dev/x', 'x', 'Version: 3\n')).toThrow(/no LUKS version/);
    expect(() => parseBtrfsSubvolumes('', 'nonsense')).toThrow(/get-default/);
  });

  it('read a btrfs whose default is the top level', () => {
    expect(parseBtrfsSubvolumes('ID 256 gen 7 top level 5 path a\n', 'ID 5 (FS_TREE)\n')).toEqual({
      subvolumes: ['a'],
      defaultSubvolume: '',
    });
  });
});
