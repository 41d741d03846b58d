import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Disk,
  emptyLayout,
  type Filesystem,
  type Layout,
  type LogicalVolume,
  type Partition,
} from './model.js';
import { mountScript, RecreateError, recreateScript, shellQuote } from './recreate.js';

// Partition type GUIDs, as sfdisk prints them.
const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const SWAP = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F';
const LVM = 'E6D6D379-F507-44C2-A23C-238F2A3DF928';
const RAID = 'A19D880F-05FC-4D3B-A006-743F0F84911E';

const GIB = 1024 ** 3;
const EXT4_FEATURES = ['has_journal', 'ext_attr', 'dir_index', 'filetype', 'extent', '64bit'];
const HOSTILE = "a'b $(rm -rf /)";

function layoutOf(parts: Partial<Layout>): Layout {
  return { ...emptyLayout(), ...parts };
}

/** A GPT disk whose partitions follow each other from sector 2048, with made-up GUIDs. */
function gptDisk(
  device: string,
  diskNumber: number,
  partitions: Array<{ type: string; sectors: number } & Partial<Partition>>,
): Disk {
  let start = 2048;
  return {
    device,
    size: 20 * GIB,
    logicalSectorSize: 512,
    physicalSectorSize: 4096,
    serial: `SERIAL-${diskNumber}`,
    table: {
      type: 'gpt',
      id: `0D15C${diskNumber}00-0000-4000-8000-000000000000`,
      firstLba: 2048,
      lastLba: 41943006,
      partitions: partitions.map((partition, index) => {
        const entry: Partition = {
          device: `${device}${index + 1}`,
          number: index + 1,
          start,
          size: partition.sectors,
          uuid: `9A87${diskNumber}${index + 1}00-0000-4000-8000-000000000000`,
          ...partition,
        };
        delete (entry as Partial<{ sectors: number }>).sectors;
        start += partition.sectors;
        return entry;
      }),
    },
  };
}

function ext4(device: string, uuid: string, label: string): Filesystem {
  return {
    device,
    type: 'ext4',
    uuid,
    label,
    options: {
      features: EXT4_FEATURES,
      inodeSize: 256,
      blockSize: 4096,
      reservedBlocksPercent: 5,
    },
  };
}

function linear(name: string, size: number): LogicalVolume {
  return { name, uuid: `LVUUID-${name}`, size, segtype: 'linear' };
}

/** GPT, an ext4 root and a swap partition. */
function gptExt4Swap(): Layout {
  return layoutOf({
    disks: [
      gptDisk('/dev/vda', 1, [
        { type: LINUX, sectors: 16 * 1024 * 2048, name: 'root' },
        { type: SWAP, sectors: 2048 * 1024, name: 'swap', attrs: 'RequiredPartition' },
      ]),
    ],
    filesystems: [ext4('/dev/vda1', '6f1d2a3b-0000-4000-8000-00000000aaaa', 'root')],
    swaps: [{ device: '/dev/vda2', uuid: '5a5a5a5a-0000-4000-8000-00000000bbbb', label: 'swap' }],
  });
}

/** MBR: a bootable ext4 partition, an extended one and a logical one inside it. */
function mbrExt4(): Layout {
  return layoutOf({
    disks: [
      {
        device: '/dev/sda',
        size: 8 * GIB,
        logicalSectorSize: 512,
        physicalSectorSize: 512,
        table: {
          type: 'dos',
          id: '0x1234abcd',
          partitions: [
            {
              device: '/dev/sda1',
              number: 1,
              start: 2048,
              size: 1048576,
              type: '83',
              bootable: true,
            },
            { device: '/dev/sda2', number: 2, start: 1050624, size: 4194304, type: '5' },
            { device: '/dev/sda5', number: 5, start: 1052672, size: 4192256, type: '83' },
          ],
        },
      },
    ],
    filesystems: [
      ext4('/dev/sda1', '11111111-0000-4000-8000-000000000001', 'boot'),
      ext4('/dev/sda5', '11111111-0000-4000-8000-000000000005', 'data'),
    ],
  });
}

/** LVM on GPT over two disks: linear, striped, a thin pool and a thin volume. */
function lvmOnGpt(): Layout {
  return layoutOf({
    disks: [
      gptDisk('/dev/vda', 1, [{ type: LVM, sectors: 30 * 1024 * 2048 }]),
      gptDisk('/dev/vdb', 2, [{ type: LVM, sectors: 30 * 1024 * 2048 }]),
    ],
    volumeGroups: [
      {
        name: 'vg0',
        uuid: 'VGUUID-vg0',
        extentSize: 4 * 1024 * 1024,
        physicalVolumes: [
          { device: '/dev/vda1', uuid: 'PvUuid-aaaa-1111' },
          { device: '/dev/vdb1', uuid: 'PvUuid-bbbb-2222' },
        ],
        logicalVolumes: [
          linear('root', 10 * GIB),
          linear('home', 4 * GIB),
          { ...linear('data', 8 * GIB), segtype: 'striped', stripes: 2, stripeSize: 65536 },
          { ...linear('pool', 6 * GIB), segtype: 'thin-pool' },
          { ...linear('thin', 20 * GIB), segtype: 'thin', pool: 'pool' },
        ],
      },
    ],
    filesystems: [
      ext4('/dev/vg0/root', '22222222-0000-4000-8000-000000000001', 'root'),
      ext4('/dev/vg0/home', '22222222-0000-4000-8000-000000000002', 'home'),
    ],
  });
}

/** RAID1 over two GPT partitions (and a spare), LVM on the array. */
function raid1Lvm(): Layout {
  const disks = ['/dev/vda', '/dev/vdb', '/dev/vdc'].map((device, index) =>
    gptDisk(device, index + 1, [{ type: RAID, sectors: 30 * 1024 * 2048 }]),
  );
  return layoutOf({
    disks,
    raids: [
      {
        device: '/dev/md0',
        level: 'raid1',
        uuid: 'a1b2c3d4:e5f60718:293a4b5c:6d7e8f90',
        name: 'host:0',
        metadata: '1.2',
        chunkKiB: 512,
        devices: ['/dev/vda1', '/dev/vdb1'],
        spares: ['/dev/vdc1'],
      },
    ],
    volumeGroups: [
      {
        name: 'vg0',
        uuid: 'VGUUID-vg0',
        extentSize: 4 * 1024 * 1024,
        physicalVolumes: [{ device: '/dev/md0', uuid: 'PvUuid-md0' }],
        logicalVolumes: [linear('root', 10 * GIB)],
      },
    ],
    filesystems: [ext4('/dev/vg0/root', '33333333-0000-4000-8000-000000000001', 'root')],
  });
}

/** LUKS2 on a partition, LVM inside it. */
function luksLvm(): Layout {
  return layoutOf({
    disks: [
      gptDisk('/dev/nvme0n1', 1, [
        { type: LINUX, sectors: 1024 * 2048, device: '/dev/nvme0n1p1', name: 'boot' },
        { type: LINUX, sectors: 30 * 1024 * 2048, device: '/dev/nvme0n1p2', name: 'crypt' },
      ]),
    ],
    encrypted: [
      {
        device: '/dev/nvme0n1p2',
        mapping: 'cryptlvm',
        version: 2,
        uuid: '44444444-0000-4000-8000-00000000cccc',
        label: 'lvmcrypt',
        cipher: 'aes-xts-plain64',
        keySize: 512,
        hash: 'sha256',
        pbkdf: 'argon2id',
      },
    ],
    volumeGroups: [
      {
        name: 'vg-crypt',
        uuid: 'VGUUID-crypt',
        extentSize: 4 * 1024 * 1024,
        physicalVolumes: [{ device: '/dev/mapper/cryptlvm', uuid: 'PvUuid-crypt' }],
        logicalVolumes: [linear('root', 10 * GIB), linear('swap', GIB)],
      },
    ],
    filesystems: [
      ext4('/dev/nvme0n1p1', '44444444-0000-4000-8000-000000000001', 'boot'),
      // By its device-mapper name, as some captures report it.
      ext4('/dev/mapper/vg--crypt-root', '44444444-0000-4000-8000-000000000002', 'root'),
    ],
    swaps: [{ device: '/dev/vg-crypt/swap', uuid: '44444444-0000-4000-8000-000000000003' }],
  });
}

function btrfsFs(device: string): Filesystem {
  return {
    device,
    type: 'btrfs',
    uuid: '55555555-0000-4000-8000-000000000001',
    label: 'system',
    options: {},
    subvolumes: ['@/var/lib/machines', '@', '@home', '@snapshots'],
    defaultSubvolume: '@',
  };
}

/** btrfs with subvolumes, one of them the default. */
function btrfsLayout(): Layout {
  return layoutOf({
    disks: [gptDisk('/dev/vda', 1, [{ type: LINUX, sectors: 30 * 1024 * 2048 }])],
    filesystems: [btrfsFs('/dev/vda1')],
    mounts: [
      {
        device: '/dev/vda1',
        mountpoint: '/home',
        type: 'btrfs',
        options: 'rw,relatime,subvolid=257,subvol=/@home',
      },
      {
        device: '/dev/vda1',
        mountpoint: '/',
        type: 'btrfs',
        options: 'rw,relatime,space_cache=v2,subvolid=256,subvol=/@',
      },
    ],
  });
}

function xfsFs(device: string, uuid = '66666666-0000-4000-8000-000000000001'): Filesystem {
  return {
    device,
    type: 'xfs',
    uuid,
    label: 'data',
    options: { blockSize: 4096, inodeSize: 512, crc: true },
  };
}

function xfsLayout(): Layout {
  return layoutOf({
    disks: [gptDisk('/dev/vdb', 2, [{ type: LINUX, sectors: 30 * 1024 * 2048 }])],
    filesystems: [xfsFs('/dev/vdb1')],
  });
}

function vfatFs(device: string): Filesystem {
  return { device, type: 'vfat', uuid: 'ABCD-12EF', label: 'EFI', options: { fatSize: 32 } };
}

/** An EFI system partition next to the root. */
function espLayout(): Layout {
  return layoutOf({
    disks: [
      gptDisk('/dev/vda', 1, [
        {
          type: ESP,
          sectors: 512 * 2048,
          name: 'EFI System Partition',
          attrs: 'LegacyBIOSBootable',
        },
        { type: LINUX, sectors: 10 * 1024 * 2048 },
      ]),
    ],
    filesystems: [
      vfatFs('/dev/vda1'),
      ext4('/dev/vda2', '77777777-0000-4000-8000-000000000002', 'root'),
    ],
    mounts: [
      {
        device: '/dev/vda2',
        mountpoint: '/',
        type: 'ext4',
        options: 'rw,relatime,errors=remount-ro',
      },
      {
        device: '/dev/vda1',
        mountpoint: '/boot/efi',
        type: 'vfat',
        options: 'rw,relatime,fmask=0077,dmask=0077,x-systemd.automount',
      },
      { device: 'tmpfs', mountpoint: '/tmp', type: 'tmpfs', options: 'rw,nosuid' },
    ],
  });
}

/**
 * Everything at once, for the runs against stubbed tools: an ESP, RAID1 with LVM on it (ext4
 * with a hostile label, swap, btrfs with subvolumes), and LUKS2 holding an xfs.
 */
function everything(): Layout {
  const vda = gptDisk('/dev/vda', 1, [
    { type: ESP, sectors: 512 * 2048, name: '$(touch /tmp/lifeboat-pwned)' },
    { type: RAID, sectors: 20 * 1024 * 2048 },
    { type: LINUX, sectors: 5 * 1024 * 2048 },
  ]);
  const vdb = gptDisk('/dev/vdb', 2, [{ type: RAID, sectors: 20 * 1024 * 2048 }]);
  return layoutOf({
    disks: [vda, vdb],
    raids: [
      {
        device: '/dev/md0',
        level: 'raid1',
        uuid: 'a1b2c3d4:e5f60718:293a4b5c:6d7e8f90',
        name: 'host:0',
        metadata: '1.2',
        devices: ['/dev/vda2', '/dev/vdb1'],
        spares: [],
      },
    ],
    volumeGroups: [
      {
        name: 'vg0',
        uuid: 'VGUUID-vg0',
        extentSize: 4 * 1024 * 1024,
        physicalVolumes: [{ device: '/dev/md0', uuid: 'PvUuid-md0' }],
        logicalVolumes: [linear('root', 8 * GIB), linear('swap', GIB), linear('system', 8 * GIB)],
      },
    ],
    encrypted: [
      {
        device: '/dev/vda3',
        mapping: 'secret',
        version: 2,
        uuid: '88888888-0000-4000-8000-00000000cccc',
        cipher: 'aes-xts-plain64',
        keySize: 512,
        pbkdf: 'argon2id',
      },
    ],
    filesystems: [
      vfatFs('/dev/vda1'),
      ext4('/dev/vg0/root', '88888888-0000-4000-8000-000000000001', HOSTILE),
      btrfsFs('/dev/vg0/system'),
      xfsFs('/dev/mapper/secret', '88888888-0000-4000-8000-000000000002'),
    ],
    swaps: [
      { device: '/dev/vg0/swap', uuid: '88888888-0000-4000-8000-000000000003', label: 'swap' },
    ],
  });
}

/** `bash -n`: the script parses. The script goes in on stdin, never into a command line. */
async function expectBashSyntaxOk(script: string): Promise<void> {
  const result = await execa('bash', ['-n'], { input: script, reject: false });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

/** The block of one component: from its comment line to the blank line after it. */
function blockOf(script: string, id: string): string {
  const start = script.indexOf(`\n# ${id}:`);
  expect(start, `no block for ${id}`).toBeGreaterThan(-1);
  // Blocks are separated by a blank line before the next block's comment (the sfdisk input
  // has a blank line of its own).
  const rest = script.slice(start + 1);
  const end = rest.search(/\n\n(?=# |say 'done')/);
  return end === -1 ? rest : rest.slice(0, end);
}

function linesOf(text: string): string[] {
  return text.split('\n').map((line) => line.trim());
}

const ALL_LAYOUTS: Array<[string, () => Layout]> = [
  ['GPT with ext4 and swap', gptExt4Swap],
  ['MBR with ext4', mbrExt4],
  ['LVM on GPT', lvmOnGpt],
  ['RAID1 with LVM', raid1Lvm],
  ['LUKS2 with LVM inside', luksLvm],
  ['btrfs with subvolumes', btrfsLayout],
  ['xfs', xfsLayout],
  ['an ESP', espLayout],
  ['everything at once', everything],
];

describe('recreateScript: the script as a whole', () => {
  it.each(ALL_LAYOUTS)(
    'for %s: parses with bash -n, and so does its mount script',
    async (_, make) => {
      const { script } = recreateScript(make());
      await expectBashSyntaxOk(script);
      await expectBashSyntaxOk(mountScript(make(), '/mnt/local'));
    },
  );

  it('starts with the shebang and strict mode, explains itself and ends with done', () => {
    const { script } = recreateScript(gptExt4Swap(), {
      layoutSource: '/var/lib/lifeboat/layout.json',
    });
    expect(script.startsWith('#!/bin/bash\nset -euo pipefail\n#\n')).toBe(true);
    expect(script).toContain(
      '# Generated by lifeboat from /var/lib/lifeboat/layout.json (lifeboat.layout/v1)',
    );
    expect(script).toContain('#   /dev/vda: 21474836480 bytes, gpt');
    expect(script).toMatch(/# Read it, and edit it before it runs/);
    expect(script.trimEnd().endsWith("say 'done'")).toBe(true);
    // run echoes the quoted command, then runs it.
    expect(script).toContain(`run() { printf '+'; printf ' %q' "$@"; printf '\\n'; "$@"; }`);
  });

  it('checks every program its blocks need before the first block', () => {
    const { script } = recreateScript(everything());
    const check = script.indexOf('for tool in ');
    expect(check).toBeGreaterThan(-1);
    expect(check).toBeLessThan(script.indexOf('\n# disk:/dev/vda:'));
    const toolLine = script.slice(check, script.indexOf('\n', check));
    for (const tool of [
      'sfdisk',
      'mdadm',
      'pvcreate',
      'lvcreate',
      'cryptsetup',
      'mkfs.ext4',
      'mkfs.xfs',
      'mkfs.vfat',
      'mkfs.btrfs',
      'mkswap',
      'btrfs',
    ]) {
      expect(toolLine).toContain(`'${tool}'`);
    }
    expect(recreateScript(xfsLayout()).script).not.toContain("'mdadm'");
  });

  it('gives the same order whatever order the layout lists things in', () => {
    const layout = lvmOnGpt();
    const shuffled = { ...layout, disks: [...layout.disks].reverse() };
    const vg = shuffled.volumeGroups[0];
    if (vg === undefined) throw new Error('fixture has a VG');
    shuffled.volumeGroups = [{ ...vg, logicalVolumes: [...vg.logicalVolumes].reverse() }];
    shuffled.filesystems = [...layout.filesystems].reverse();
    expect(recreateScript(shuffled).order).toEqual(recreateScript(layout).order);
  });

  it('refuses a layout of another schema', () => {
    const layout = { ...gptExt4Swap(), schema: 'lifeboat.layout/v0' } as unknown as Layout;
    expect(() => recreateScript(layout)).toThrow(/schema "lifeboat.layout\/v0"/);
  });
});

describe('recreateScript: GPT with ext4 and swap', () => {
  const { script, order } = recreateScript(gptExt4Swap());

  it('orders the table, then each partition, then what is on it (ties by id)', () => {
    expect(order).toEqual([
      'disk:/dev/vda',
      'part:/dev/vda1',
      'fs:/dev/vda1',
      'part:/dev/vda2',
      'swap:/dev/vda2',
    ]);
    const positions = order.map((id) => script.indexOf(`\n# ${id}:`));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('writes the table with every id, in sectors, with the usable area', () => {
    const block = blockOf(script, 'disk:/dev/vda');
    expect(block).toContain(
      [
        "sfdisk_input='label: gpt",
        'label-id: 0D15C100-0000-4000-8000-000000000000',
        'unit: sectors',
        'first-lba: 2048',
        'last-lba: 41943006',
        'sector-size: 512',
        '',
        `/dev/vda1 : start=2048, size=33554432, type=${LINUX}, uuid=9A871100-0000-4000-8000-000000000000, name="root"`,
        `/dev/vda2 : start=33556480, size=2097152, type=${SWAP}, uuid=9A871200-0000-4000-8000-000000000000, name="swap", attrs="RequiredPartition"'`,
      ].join('\n'),
    );
  });

  it('skips the table when sfdisk shows its label-id, and wipes only when it writes it', () => {
    const lines = linesOf(blockOf(script, 'disk:/dev/vda'));
    const guard = lines.indexOf(
      "if table_id_is '/dev/vda' '0D15C100-0000-4000-8000-000000000000'; then",
    );
    const otherwise = lines.indexOf('else');
    expect(guard).toBeGreaterThan(-1);
    expect(lines[guard + 1]).toBe("say 'partition table of /dev/vda exists, skipped'");
    const creating = [
      "say 'creating the gpt partition table of /dev/vda'",
      // The whole usable area and the backup GPT: 41943006 + 1 + 33 sectors.
      "check_disk '/dev/vda' '512' '21474836480'",
      "wipe_disk '/dev/vda'",
      `printf '%s\\n' "$sfdisk_input" | run sfdisk '/dev/vda'`,
      "reread_partitions '/dev/vda'",
    ];
    expect(lines.slice(otherwise + 1, otherwise + 1 + creating.length)).toEqual(creating);
    // The new partitions lose what the old ones left at the same positions.
    expect(lines).toContain("wipe_signatures '/dev/vda1'");
    expect(lines).toContain("wipe_signatures '/dev/vda2'");
  });

  it('wipes the first and last MiB of the disk with direct writes, seeking from its size', () => {
    expect(script).toMatch(/wipe_disk\(\) \{[^}]*bytes=\$\(blockdev --getsize64 "\$1"\)/);
    expect(script).toContain(
      'run dd if=/dev/zero of="$1" bs="$sector" count="$count" seek=$(( bytes / sector - count ))',
    );
    expect(script.match(/oflag=direct conv=notrunc/g)).toHaveLength(2);
  });

  it('makes ext4 with its UUID, label and options, guarded by blkid', () => {
    const lines = linesOf(blockOf(script, 'fs:/dev/vda1'));
    expect(lines).toEqual([
      '# fs:/dev/vda1: ext4 file system',
      "if fs_uuid_is '/dev/vda1' '6f1d2a3b-0000-4000-8000-00000000aaaa'; then",
      "say 'ext4 file system on /dev/vda1 exists, skipped'",
      'else',
      "say 'creating ext4 file system on /dev/vda1'",
      "wipe_signatures '/dev/vda1'",
      `run mkfs.ext4 -F -U '6f1d2a3b-0000-4000-8000-00000000aaaa' -L 'root' -O 'none,${EXT4_FEATURES.join(',')}' -I '256' -b '4096' -m '5' '/dev/vda1'`,
      'fi',
    ]);
    expect(script).toContain(`uuid=$(blkid -p -s UUID -o value "$1" 2>/dev/null) || true`);
  });

  it('makes swap with its UUID and label', () => {
    expect(blockOf(script, 'swap:/dev/vda2')).toContain(
      "run mkswap -U '5a5a5a5a-0000-4000-8000-00000000bbbb' -L 'swap' '/dev/vda2'",
    );
  });

  it('drops state-only ext features that mke2fs refuses', () => {
    const layout = gptExt4Swap();
    const fs = layout.filesystems[0];
    if (fs === undefined) throw new Error('fixture has a file system');
    fs.options.features = ['has_journal', 'needs_recovery', 'extent', 'orphan_present'];
    expect(recreateScript(layout).script).toContain("-O 'none,has_journal,extent'");
  });
});

describe('recreateScript: MBR with ext4', () => {
  const { script, order } = recreateScript(mbrExt4());

  it('keeps the disk identifier, the types and the boot flag', () => {
    const block = blockOf(script, 'disk:/dev/sda');
    expect(block).toContain(
      "sfdisk_input='label: dos\nlabel-id: 0x1234abcd\nunit: sectors\nsector-size: 512\n",
    );
    expect(block).toContain('/dev/sda1 : start=2048, size=1048576, type=83, bootable\n');
    expect(block).toContain('/dev/sda2 : start=1050624, size=4194304, type=5\n');
    expect(block).toContain("/dev/sda5 : start=1052672, size=4192256, type=83'");
    expect(block).not.toContain('first-lba');
    expect(block).toContain("if table_id_is '/dev/sda' '0x1234abcd'; then");
  });

  it('never wipes the extended partition, which holds the logical ones', () => {
    const block = blockOf(script, 'disk:/dev/sda');
    expect(block).toContain("wipe_signatures '/dev/sda1'");
    expect(block).toContain("wipe_signatures '/dev/sda5'");
    expect(block).not.toContain("wipe_signatures '/dev/sda2'");
  });

  it('puts a logical partition after the extended one, and excludes it with it', () => {
    expect(order.indexOf('part:/dev/sda5')).toBeGreaterThan(order.indexOf('part:/dev/sda2'));
    const excluded = recreateScript(mbrExt4(), { exclude: ['part:/dev/sda2'] });
    expect(excluded.order).toEqual(['disk:/dev/sda', 'part:/dev/sda1', 'fs:/dev/sda1']);
    const table = blockOf(excluded.script, 'disk:/dev/sda');
    expect(table).not.toContain('/dev/sda2 :');
    expect(table).not.toContain('/dev/sda5 :');
    expect(table).toContain('# Left out of the table (excluded): /dev/sda2 /dev/sda5;');
  });
});

describe('recreateScript: LVM on GPT', () => {
  const { script, order } = recreateScript(lvmOnGpt());

  it('orders PVs before the VG before its LVs, a thin volume after its pool', () => {
    const at = (id: string) => order.indexOf(id);
    for (const pv of ['pv:/dev/vda1', 'pv:/dev/vdb1']) {
      expect(at(pv)).toBeGreaterThan(at(pv.replace('pv:', 'part:')));
      expect(at('vg:vg0')).toBeGreaterThan(at(pv));
    }
    for (const lv of ['root', 'home', 'data', 'pool', 'thin'])
      expect(at(`lv:vg0/${lv}`)).toBeGreaterThan(at('vg:vg0'));
    expect(at('lv:vg0/thin')).toBeGreaterThan(at('lv:vg0/pool'));
    expect(at('fs:/dev/vg0/root')).toBeGreaterThan(at('lv:vg0/root'));
  });

  it('keeps PV UUIDs, guarded by pvs', () => {
    const lines = linesOf(blockOf(script, 'pv:/dev/vda1'));
    expect(lines[1]).toBe("if pv_uuid_is '/dev/vda1' 'PvUuid-aaaa-1111'; then");
    expect(lines).toContain("wipe_signatures '/dev/vda1'");
    expect(lines).toContain(
      "run pvcreate --yes --uuid 'PvUuid-aaaa-1111' --norestorefile '/dev/vda1'",
    );
    expect(lines.indexOf("wipe_signatures '/dev/vda1'")).toBeLessThan(
      lines.findIndex((l) => l.includes('pvcreate')),
    );
  });

  it('recreates the VG by name with its extent size, and says its UUID cannot be kept', () => {
    const block = blockOf(script, 'vg:vg0');
    expect(block).toContain("if vgs 'vg0' >/dev/null 2>&1; then");
    expect(block).toContain(
      "run vgcreate --physicalextentsize '4096k' 'vg0' '/dev/vda1' '/dev/vdb1'",
    );
    expect(block).toMatch(/# vgcreate cannot set a VG's UUID/);
  });

  it('creates each LV by name and size in bytes, by its segment type, guarded by lvs', () => {
    const root = blockOf(script, 'lv:vg0/root');
    expect(root).toContain("if lvs 'vg0/root' >/dev/null 2>&1; then");
    expect(root).toContain("run lvchange --activate y 'vg0/root'");
    expect(root).toContain(
      "run lvcreate --yes --wipesignatures y --name 'root' --size '10737418240b' 'vg0'",
    );
    expect(root).toContain("# lvcreate cannot set an LV's UUID (it was LVUUID-root)");
    expect(blockOf(script, 'lv:vg0/data')).toContain(
      "run lvcreate --yes --wipesignatures y --name 'data' --size '8589934592b' -i '2' -I '64k' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/pool')).toContain(
      "run lvcreate --yes --size '6442450944b' --thinpool 'pool' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/thin')).toContain(
      "run lvcreate --yes --type thin -V '21474836480b' --thinpool 'pool' --name 'thin' 'vg0'",
    );
  });

  it('counts RAID LV images as lvs reports them: mirror legs for -m, data stripes for -i', () => {
    const layout = lvmOnGpt();
    layout.volumeGroups[0]?.logicalVolumes.push(
      { ...linear('mirrored', GIB), segtype: 'raid1' },
      { ...linear('parity', 2 * GIB), segtype: 'raid5', stripes: 3, stripeSize: 65536 },
    );
    const { script } = recreateScript(layout);
    expect(blockOf(script, 'lv:vg0/mirrored')).toContain(
      "run lvcreate --yes --type raid1 -m '1' --wipesignatures y --name 'mirrored' --size '1073741824b' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/parity')).toContain(
      "run lvcreate --yes --type 'raid5' -i '2' -I '64k' --wipesignatures y --name 'parity' --size '2147483648b' 'vg0'",
    );
  });

  it('refuses an LV type it cannot make, naming the LV', () => {
    const layout = lvmOnGpt();
    layout.volumeGroups[0]?.logicalVolumes.push({ ...linear('cached', GIB), segtype: 'cache' });
    expect(() => recreateScript(layout)).toThrow(/lv:vg0\/cached: LVs of segment type "cache"/);
    expect(recreateScript(layout, { exclude: ['lv:vg0/cached'] }).order).not.toContain(
      'lv:vg0/cached',
    );
  });
});

describe('recreateScript: RAID1 with LVM on top', () => {
  const { script, order } = recreateScript(raid1Lvm());

  it('orders members, array, PV, VG, LV, file system', () => {
    const chain = [
      'part:/dev/vda1',
      'part:/dev/vdb1',
      'part:/dev/vdc1',
      'raid:/dev/md0',
      'pv:/dev/md0',
      'vg:vg0',
      'lv:vg0/root',
      'fs:/dev/vg0/root',
    ];
    const positions = chain.map((id) => order.indexOf(id));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('creates the array with its UUID, name, metadata, level and spare, wiping the members first', () => {
    const lines = linesOf(blockOf(script, 'raid:/dev/md0'));
    expect(lines).toContain("if md_uuid_is '/dev/md0' 'a1b2c3d4:e5f60718:293a4b5c:6d7e8f90'; then");
    const create = lines.findIndex((line) => line.startsWith('run mdadm --create'));
    expect(lines[create]).toBe(
      "run mdadm --create '/dev/md0' --run --uuid='a1b2c3d4:e5f60718:293a4b5c:6d7e8f90' --metadata='1.2' --level='raid1' --raid-devices='2' --spare-devices='1' --name='host:0' --assume-clean \\",
    );
    expect(lines[create + 1]).toBe("'/dev/vda1' '/dev/vdb1' '/dev/vdc1'");
    for (const member of ['/dev/vda1', '/dev/vdb1', '/dev/vdc1']) {
      expect(lines.indexOf(`wipe_signatures '${member}'`)).toBeGreaterThan(-1);
      expect(lines.indexOf(`wipe_signatures '${member}'`)).toBeLessThan(create);
    }
    // raid1 has no chunk: mdadm refuses one.
    expect(lines[create]).not.toContain('--chunk');
  });

  it('gives a parity array its chunk and layout, and lets it resync', () => {
    const layout = raid1Lvm();
    const raid = layout.raids[0];
    if (raid === undefined) throw new Error('fixture has an array');
    Object.assign(raid, {
      level: 'raid5',
      layout: 'left-symmetric',
      devices: ['/dev/vda1', '/dev/vdb1', '/dev/vdc1'],
      spares: [],
    });
    const block = blockOf(recreateScript(layout).script, 'raid:/dev/md0');
    expect(block).toContain(
      "--level='raid5' --chunk='512' --layout='left-symmetric' --raid-devices='3'",
    );
    expect(block).not.toContain('--assume-clean');
    expect(block).not.toContain('--spare-devices');
  });

  it('puts the PV on the array', () => {
    expect(blockOf(script, 'pv:/dev/md0')).toContain(
      "run pvcreate --yes --uuid 'PvUuid-md0' --norestorefile '/dev/md0'",
    );
  });
});

describe('recreateScript: LUKS2 with LVM inside', () => {
  const { script, order } = recreateScript(luksLvm());

  it('formats and opens the volume before the PV inside it', () => {
    expect(order.indexOf('luks:/dev/nvme0n1p2')).toBeGreaterThan(
      order.indexOf('part:/dev/nvme0n1p2'),
    );
    expect(order.indexOf('pv:/dev/mapper/cryptlvm')).toBeGreaterThan(
      order.indexOf('luks:/dev/nvme0n1p2'),
    );
    // The file system named by its device-mapper path still follows its LV.
    expect(order.indexOf('fs:/dev/mapper/vg--crypt-root')).toBeGreaterThan(
      order.indexOf('lv:vg-crypt/root'),
    );
    expect(order.indexOf('swap:/dev/vg-crypt/swap')).toBeGreaterThan(
      order.indexOf('lv:vg-crypt/swap'),
    );
  });

  it('keeps UUID, cipher, key size, hash, PBKDF and label, with the key from the key file', () => {
    const block = blockOf(script, 'luks:/dev/nvme0n1p2');
    expect(block).toContain(
      "if luks_uuid_is '/dev/nvme0n1p2' '44444444-0000-4000-8000-00000000cccc'; then",
    );
    expect(block).toContain(
      `run cryptsetup luksFormat --batch-mode --type 'luks2' --uuid '44444444-0000-4000-8000-00000000cccc' --cipher 'aes-xts-plain64' --key-size '512' --hash 'sha256' --pbkdf 'argon2id' --label 'lvmcrypt' --key-file "$LIFEBOAT_LUKS_KEY_FILE" '/dev/nvme0n1p2'`,
    );
    expect(block).toContain(`if ! cryptsetup status 'cryptlvm' >/dev/null 2>&1; then`);
    expect(block).toContain(
      `run cryptsetup open --type luks --key-file "$LIFEBOAT_LUKS_KEY_FILE" '/dev/nvme0n1p2' 'cryptlvm'`,
    );
  });

  it('checks for the key file before the first block', () => {
    const check = script.indexOf('\nneed_luks_key_file\n');
    expect(check).toBeGreaterThan(-1);
    expect(check).toBeLessThan(script.indexOf('\n# disk:'));
    expect(recreateScript(gptExt4Swap()).script).not.toContain('\nneed_luks_key_file\n');
  });

  it('leaves the label and PBKDF out of LUKS1, which has neither', () => {
    const layout = luksLvm();
    Object.assign(layout.encrypted[0] ?? {}, { version: 1, pbkdf: 'argon2id' });
    const block = blockOf(recreateScript(layout).script, 'luks:/dev/nvme0n1p2');
    expect(block).toContain("--type 'luks1'");
    expect(block).not.toContain('--label');
    expect(block).not.toContain('--pbkdf');
  });
});

describe('recreateScript: btrfs with subvolumes', () => {
  const { script } = recreateScript(btrfsLayout());
  const lines = linesOf(blockOf(script, 'fs:/dev/vda1'));

  it('makes the file system with its UUID and label', () => {
    expect(lines).toContain(
      "run mkfs.btrfs -f -U '55555555-0000-4000-8000-000000000001' -L 'system' '/dev/vda1'",
    );
  });

  it('creates the missing subvolumes parents first under the top level, sets the default, unmounts', () => {
    const commands = lines.filter((line) => /^(run |default_id=|btrfs_tmp=)/.test(line));
    expect(commands).toEqual([
      "run mkfs.btrfs -f -U '55555555-0000-4000-8000-000000000001' -L 'system' '/dev/vda1'",
      'btrfs_tmp=$(mktemp -d -t lifeboat-btrfs.XXXXXX)',
      `run mount -t btrfs -o subvolid=5 '/dev/vda1' "$btrfs_tmp"`,
      `run btrfs subvolume create "$btrfs_tmp"/'@'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@home'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@snapshots'`,
      `run mkdir -p "$btrfs_tmp"/'@/var/lib'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@/var/lib/machines'`,
      `default_id=$(btrfs inspect-internal rootid "$btrfs_tmp"/'@')`,
      'run btrfs subvolume set-default "$default_id" "$btrfs_tmp"',
      'run umount "$btrfs_tmp"',
      "btrfs_tmp=''",
    ]);
    expect(lines).toContain(`if ! btrfs subvolume show "$btrfs_tmp"/'@home' >/dev/null 2>&1; then`);
  });

  it('refuses a subvolume path that leads out of the file system', () => {
    const layout = btrfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { subvolumes: ['@', '@/../../etc'] });
    expect(() => recreateScript(layout)).toThrow(/fs:\/dev\/vda1 subvolume: path "@\/..\/..\/etc"/);
  });

  it('refuses a default subvolume that is not one of them', () => {
    const layout = btrfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { defaultSubvolume: '@root' });
    expect(() => recreateScript(layout)).toThrow(/default subvolume "@root"/);
  });
});

describe('recreateScript: xfs and vfat', () => {
  it('makes xfs with its UUID, crc, label, block and inode size', () => {
    expect(blockOf(recreateScript(xfsLayout()).script, 'fs:/dev/vdb1')).toContain(
      "run mkfs.xfs -f -m 'uuid=66666666-0000-4000-8000-000000000001,crc=1' -L 'data' -b 'size=4096' -i 'size=512' '/dev/vdb1'",
    );
  });

  it('makes the ESP with its volume id (no dash), label and FAT size, guarded by the dashed id', () => {
    const { script } = recreateScript(espLayout());
    const block = blockOf(script, 'fs:/dev/vda1');
    expect(block).toContain("if fs_uuid_is '/dev/vda1' 'ABCD-12EF'; then");
    expect(block).toContain("run mkfs.vfat -i 'ABCD12EF' -n 'EFI' -F '32' '/dev/vda1'");
    expect(blockOf(script, 'disk:/dev/vda')).toContain(
      `/dev/vda1 : start=2048, size=1048576, type=${ESP}, uuid=9A871100-0000-4000-8000-000000000000, name="EFI System Partition", attrs="LegacyBIOSBootable"`,
    );
  });

  it('refuses a file system type it cannot make, naming it', () => {
    const layout = xfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { type: 'zfs' });
    expect(() => recreateScript(layout)).toThrow(/fs:\/dev\/vdb1: file systems of type "zfs"/);
  });
});

describe('recreateScript: exclusion', () => {
  it('drops a component given by device path and everything built on it, and says why', async () => {
    const { script, order } = recreateScript(lvmOnGpt(), { exclude: ['/dev/vg0/home'] });
    await expectBashSyntaxOk(script);
    expect(order).not.toContain('lv:vg0/home');
    expect(order).not.toContain('fs:/dev/vg0/home');
    expect(order).toContain('lv:vg0/root');
    expect(script).toContain('#   lv:vg0/home: excluded as /dev/vg0/home');
    expect(script).toContain('#   fs:/dev/vg0/home: built on lv:vg0/home, which is excluded');
    expect(script).not.toContain("--name 'home'");
    expect(script).not.toContain("'/dev/vg0/home'");
  });

  it('follows the closure through every layer: a disk takes its array and all above it', async () => {
    const { script, order } = recreateScript(raid1Lvm(), { exclude: ['disk:/dev/vdb'] });
    await expectBashSyntaxOk(script);
    expect(order).toEqual(['disk:/dev/vda', 'disk:/dev/vdc', 'part:/dev/vda1', 'part:/dev/vdc1']);
    for (const id of [
      'part:/dev/vdb1',
      'raid:/dev/md0',
      'pv:/dev/md0',
      'vg:vg0',
      'lv:vg0/root',
      'fs:/dev/vg0/root',
    ]) {
      expect(script).toMatch(new RegExp(`#   ${id.replaceAll('/', '\\/')}: built on `));
    }
    expect(script).toContain('#   disk:/dev/vdb: excluded\n');
    // Nothing is written to the excluded disk.
    expect(script).not.toContain("'/dev/vdb");
    expect(script).not.toContain('/dev/vdb1 :');
  });

  it('refuses an entry that matches nothing, rather than recreate what it meant to keep', () => {
    expect(() => recreateScript(lvmOnGpt(), { exclude: ['/dev/vg0/hoem'] })).toThrow(
      /Exclude entry "\/dev\/vg0\/hoem" matches no component/,
    );
  });
});

describe('recreateScript: the graph', () => {
  it('refuses a dependency on a device no component provides, naming both', () => {
    const layout = gptExt4Swap();
    layout.filesystems.push(xfsFs('/dev/sdz1'));
    expect(() => recreateScript(layout)).toThrow(
      'fs:/dev/sdz1 needs /dev/sdz1, which no component of the layout provides',
    );
    expect(recreateScript(layout, { exclude: ['fs:/dev/sdz1'] }).order).not.toContain(
      'fs:/dev/sdz1',
    );
  });

  it('refuses a cycle, naming it', () => {
    const layout = layoutOf({
      raids: [
        {
          device: '/dev/md0',
          level: 'raid1',
          uuid: 'u',
          metadata: '1.2',
          devices: ['/dev/mapper/loop'],
          spares: [],
        },
      ],
      encrypted: [
        { device: '/dev/md0', mapping: 'loop', version: 2, uuid: 'u', cipher: 'c', keySize: 512 },
      ],
    });
    expect(() => recreateScript(layout)).toThrow(
      'Dependency cycle: luks:/dev/md0 → raid:/dev/md0 → luks:/dev/md0',
    );
  });

  it('refuses two components for one device', () => {
    const layout = gptExt4Swap();
    layout.filesystems.push(xfsFs('/dev/vda1'));
    expect(() => recreateScript(layout)).toThrow('The layout has fs:/dev/vda1 twice');
  });
});

describe('recreateScript: untrusted values', () => {
  it('quotes a hostile label so bash reads it back as the same text', async () => {
    const layout = gptExt4Swap();
    Object.assign(layout.filesystems[0] ?? {}, { label: HOSTILE });
    const { script } = recreateScript(layout);
    expect(script).toContain(`-L 'a'\\''b $(rm -rf /)'`);
    expect(shellQuote(HOSTILE)).toBe(`'a'\\''b $(rm -rf /)'`);
    await expectBashSyntaxOk(script);
  });

  it('quotes any text so that bash reads back the same text', async () => {
    const values = [HOSTILE, "it's", '$HOME', '`id`', 'a\nb', '\\', '!', '"', '', ' lead', '*'];
    // A generated script, fed to bash on stdin, as the real ones are run from a file.
    const script = `printf '%s\\0' ${values.map(shellQuote).join(' ')}`;
    const result = await execa('bash', ['-s'], { input: script, stripFinalNewline: false });
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(values);
  });

  it.each([
    ['a space', '/dev/vda 1'],
    ['no /dev/', 'vda1'],
    ['a ..', '/dev/../etc/passwd'],
    ['a newline', '/dev/vda1\nreboot'],
    ['a tab', '/dev/vda\t1'],
  ])('refuses a device path with %s, naming the component', (_, device) => {
    const layout = gptExt4Swap();
    Object.assign(layout.filesystems[0] ?? {}, { device });
    expect(() => recreateScript(layout)).toThrow(RecreateError);
    expect(() => recreateScript(layout)).toThrow(
      `fs:${device.replace(/[\n\t]/g, '?')}: device path ${JSON.stringify(device)}`,
    );
  });

  it('refuses a partition name sfdisk would misread, and an LV name LVM would', () => {
    const named = gptExt4Swap();
    Object.assign(named.disks[0]?.table?.partitions[0] ?? {}, { name: 'a", type=0' });
    expect(() => recreateScript(named)).toThrow(/part:\/dev\/vda1: partition name/);
    const lvm = lvmOnGpt();
    Object.assign(lvm.volumeGroups[0]?.logicalVolumes[0] ?? {}, { name: '-rf' });
    expect(() => recreateScript(lvm)).toThrow(/lv:vg0\/-rf: LVM name "-rf"/);
  });

  it('keeps control characters of layout text out of comments', () => {
    const layout = gptExt4Swap();
    Object.assign(layout.disks[0] ?? {}, { model: 'disk\nreboot' });
    const { script } = recreateScript(layout, { layoutSource: 'x\nreboot' });
    expect(script.split('\n')).not.toContain('reboot');
  });
});

describe('mountScript', () => {
  it('mounts parents first under TARGET, making each directory, guarded by mountpoint', () => {
    const script = mountScript(espLayout(), '/mnt/local/');
    const mounts = script.split('\n').filter((line) => line.includes('run mount '));
    expect(mounts).toEqual([
      "  run mount -t 'ext4' -o 'relatime,errors=remount-ro' '/dev/vda2' '/mnt/local'",
      "  run mount -t 'vfat' -o 'relatime,fmask=0077,dmask=0077' '/dev/vda1' '/mnt/local/boot/efi'",
    ]);
    expect(script).toContain("if mountpoint -q '/mnt/local/boot/efi'; then");
    expect(script.indexOf("run mkdir -p '/mnt/local/boot/efi'")).toBeLessThan(
      script.indexOf("'/mnt/local/boot/efi'\nfi"),
    );
    // tmpfs is no file system of the layout.
    expect(script).toContain('#   /tmp (tmpfs, tmpfs)');
    expect(script).not.toContain("'/mnt/local/tmp'");
    expect(script.trimEnd().endsWith("say 'done'")).toBe(true);
  });

  it('mounts btrfs subvolumes by subvol=, never by the old subvolid=', () => {
    const script = mountScript(btrfsLayout(), '/mnt/local');
    const mounts = script.split('\n').filter((line) => line.includes('run mount '));
    expect(mounts).toEqual([
      "  run mount -t 'btrfs' -o 'relatime,space_cache=v2,subvol=/@' '/dev/vda1' '/mnt/local'",
      "  run mount -t 'btrfs' -o 'relatime,subvol=/@home' '/dev/vda1' '/mnt/local/home'",
    ]);
  });

  it('refuses a target or mount point that could lead elsewhere', () => {
    expect(() => mountScript(espLayout(), 'mnt')).toThrow(/Mount target "mnt"/);
    expect(() => mountScript(espLayout(), '/')).toThrow(/Mount target "\/"/);
    const layout = espLayout();
    Object.assign(layout.mounts[1] ?? {}, { mountpoint: '/boot/../../etc' });
    expect(() => mountScript(layout, '/mnt/local')).toThrow(/path "boot\/..\/..\/etc"/);
  });
});

/**
 * Runs of the generated script against test doubles of the storage tools: each logs its
 * arguments and keeps just enough state (what it "created") to answer the guards the way the
 * real tool would. PATH holds only the doubles and a few harmless real programs, so a tool the
 * doubles miss fails the run instead of touching this machine.
 */
// A template literal: \${ and \\ in it are bash's ${ and \.
const STUB = `#!/bin/bash
set -u
tool=\${0##*/}
printf '%s\\0' "$#" "$tool" "$@" >>"$STUB_LOG"
PATH=$STUB_REAL_PATH
state=$STUB_STATE
key() { printf '%s' "\${1//\\//_}"; }
put() { mkdir -p "$state/$1"; printf '%s' "$3" >"$state/$1/$(key "$2")"; }
get() { cat "$state/$1/$(key "$2")" 2>/dev/null; }
has() { [[ -e $state/$1/$(key "$2") ]]; }
last=\${!#}
option() { # FLAG ARGS...: the value after FLAG (or of FLAG=)
  local flag=$1; shift
  while (( $# > 0 )); do
    case $1 in "$flag") printf '%s' "$2"; return ;; "$flag"=*) printf '%s' "\${1#*=}"; return ;; esac
    shift
  done
}
case $tool in
  blockdev)
    case $1 in
      --getss) echo 512 ;;
      --getsize64) has dev "$2" && echo 107374182400 || exit 1 ;;
    esac ;;
  sfdisk)
    if [[ $1 == --dump ]]; then id=$(get table "$2") || exit 1; printf 'label: gpt\\nlabel-id: %s\\n' "$id"; exit 0; fi
    input=$(cat)
    put table "$last" "$(sed -n 's/^label-id: //p' <<<"$input")"
    put sfdisk-input "$last" "$input"
    while read -r part _; do put dev "$part" 1; done < <(grep '^/dev/' <<<"$input") ;;
  blkid)
    case $3 in UUID) get uuid "$last" || exit 2 ;; TYPE) get type "$last" || exit 2 ;; esac ;;
  mkfs.ext4|mkfs.btrfs|mkswap) put uuid "$last" "$(option -U "$@")" ;;
  mkfs.xfs) uuid=$(option -m "$@"); uuid=\${uuid#uuid=}; put uuid "$last" "\${uuid%%,*}" ;;
  mkfs.vfat) id=$(option -i "$@"); put uuid "$last" "\${id:0:4}-\${id:4}" ;;
  pvs) get pv "$last" || exit 5 ;;
  pvcreate) put pv "$last" "  $(option --uuid "$@")" ;;
  vgs) has vg "$1" || exit 5 ;;
  vgcreate) put vg "$3" 1 ;;
  lvs) has lv "$1" || exit 5 ;;
  lvcreate)
    name=$(option --name "$@"); [[ -n $name ]] || name=$(option --thinpool "$@")
    put lv "$last/$name" 1; put dev "/dev/$last/$name" 1 ;;
  mdadm)
    case $1 in
      --detail) uuid=$(get md "$3") || exit 1; echo "MD_LEVEL=raid1"; echo "MD_UUID=$uuid" ;;
      --create) put md "$2" "$(option --uuid "$@")"; put dev "$2" 1 ;;
    esac ;;
  cryptsetup)
    case $1 in
      isLuks) has luks "$2" || exit 1 ;;
      luksUUID) get luks "$2" || exit 1 ;;
      luksFormat) put luks "$last" "$(option --uuid "$@")" ;;
      status) has mapping "$2" || exit 4 ;;
      open) put mapping "$last" 1; put dev "/dev/mapper/$last" 1 ;;
    esac ;;
  btrfs)
    case "$1 $2" in
      'subvolume show') has subvol "\${3#*/lifeboat-btrfs.*/}" || exit 1 ;;
      'subvolume create') put subvol "\${3#*/lifeboat-btrfs.*/}" 1 ;;
      'inspect-internal rootid') echo 256 ;;
    esac ;;
  wipefs) rm -f "$state/uuid/$(key "$last")" "$state/luks/$(key "$last")" "$state/pv/$(key "$last")" ;;
  dd|partprobe|udevadm|mount|umount|mkdir|lvchange) ;;
  *) echo "stub: no double for $tool" >&2; exit 99 ;;
esac
exit 0
`;

const STUBBED = [
  'blockdev',
  'sfdisk',
  'blkid',
  'mkfs.ext4',
  'mkfs.btrfs',
  'mkfs.xfs',
  'mkfs.vfat',
  'mkswap',
  'pvs',
  'pvcreate',
  'vgs',
  'vgcreate',
  'lvs',
  'lvcreate',
  'lvchange',
  'mdadm',
  'cryptsetup',
  'btrfs',
  'wipefs',
  'dd',
  'partprobe',
  'udevadm',
  'mount',
  'umount',
  'mkdir',
];
/** Real programs the script may run: they only read, wait or touch its own temporary directory. */
const REAL = ['sed', 'grep', 'cat', 'mktemp', 'rmdir', 'sleep'];

/** Where a program is on this machine's PATH. */
function findProgram(name: string): string {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(`${name} is not on PATH`);
}

interface Call {
  tool: string;
  args: string[];
}

interface Run {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  calls: Call[];
}

describe('the script run against test doubles of the storage tools', () => {
  let dir = '';
  let bin = '';
  let state = '';
  let runNumber = 0;
  const layout = everything();
  const { script } = recreateScript(layout);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-recreate-'));
    bin = join(dir, 'bin');
    state = join(dir, 'state');
    await mkdir(bin);
    await writeFile(join(bin, 'stub'), STUB);
    await chmod(join(bin, 'stub'), 0o755);
    for (const tool of STUBBED) await symlink('stub', join(bin, tool));
    for (const tool of REAL) await symlink(findProgram(tool), join(bin, tool));
    // The disks are there before the first run; everything else appears as it is created.
    await mkdir(join(state, 'dev'), { recursive: true });
    for (const disk of layout.disks)
      await writeFile(join(state, 'dev', disk.device.replaceAll('/', '_')), '1');
    await writeFile(join(dir, 'key'), 'passphrase');
    await writeFile(join(dir, 'recreate.sh'), script);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runScript(env: Record<string, string>): Promise<Run> {
    runNumber += 1;
    const log = join(dir, `calls-${runNumber}`);
    await writeFile(log, '');
    const result = await execa(findProgram('bash'), [join(dir, 'recreate.sh')], {
      reject: false,
      stdin: 'ignore',
      extendEnv: false,
      env: {
        PATH: bin,
        TMPDIR: dir,
        STUB_LOG: log,
        STUB_STATE: state,
        STUB_REAL_PATH: process.env.PATH ?? '',
        ...env,
      },
    });
    return {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      calls: parseCalls(await readFile(log, 'utf8')),
    };
  }

  function parseCalls(text: string): Call[] {
    const fields = text.split('\0');
    const calls: Call[] = [];
    for (let at = 0; at + 1 < fields.length; ) {
      const count = Number(fields[at]);
      calls.push({ tool: fields[at + 1] ?? '', args: fields.slice(at + 2, at + 2 + count) });
      at += 2 + count;
    }
    return calls;
  }

  const withKey = () => ({ LIFEBOAT_LUKS_KEY_FILE: join(dir, 'key'), LIFEBOAT_UNATTENDED: '1' });
  const isWrite = (call: Call) =>
    ['wipefs', 'dd', 'pvcreate', 'vgcreate', 'lvcreate', 'mkswap'].includes(call.tool) ||
    call.tool.startsWith('mkfs.') ||
    (call.tool === 'sfdisk' && call.args[0] !== '--dump') ||
    (call.tool === 'mdadm' && call.args[0] === '--create') ||
    (call.tool === 'cryptsetup' && ['luksFormat', 'open'].includes(call.args[0] ?? '')) ||
    (call.tool === 'btrfs' && call.args.slice(0, 2).join(' ') === 'subvolume create');

  it('stops before touching anything when there is no LUKS key file', async () => {
    const run = await runScript({ LIFEBOAT_UNATTENDED: '1' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('set LIFEBOAT_LUKS_KEY_FILE to a file holding their passphrase');
    expect(run.calls).toEqual([]);
  });

  // The two runs share the doubles' state: the second sees what the first created.
  let first: Run;

  it('creates everything, in order, with the hostile label passed as one argument', async () => {
    first = await runScript(withKey());
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trimEnd().endsWith('lifeboat-recreate: done')).toBe(true);

    const ext4 = first.calls.find((call) => call.tool === 'mkfs.ext4');
    expect(ext4?.args).toEqual([
      '-F',
      '-U',
      '88888888-0000-4000-8000-000000000001',
      '-L',
      HOSTILE,
      '-O',
      `none,${EXT4_FEATURES.join(',')}`,
      '-I',
      '256',
      '-b',
      '4096',
      '-m',
      '5',
      '/dev/vg0/root',
    ]);
    const table = await readFile(join(state, 'sfdisk-input', '_dev_vda'), 'utf8');
    expect(table).toContain('name="$(touch /tmp/lifeboat-pwned)"');

    const firstIndex = (test: (call: Call) => boolean) => first.calls.findIndex(test);
    const steps = [
      firstIndex((c) => c.tool === 'sfdisk' && c.args[0] === '/dev/vda'),
      firstIndex((c) => c.tool === 'mdadm' && c.args[0] === '--create'),
      firstIndex((c) => c.tool === 'pvcreate'),
      firstIndex((c) => c.tool === 'vgcreate'),
      firstIndex((c) => c.tool === 'lvcreate'),
      firstIndex((c) => c.tool === 'mkfs.ext4'),
    ];
    expect(steps.every((step) => step >= 0)).toBe(true);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(firstIndex((c) => c.tool === 'mkfs.xfs')).toBeGreaterThan(
      firstIndex((c) => c.tool === 'cryptsetup' && c.args[0] === 'open'),
    );
    expect(first.stdout).toContain(
      "+ mkfs.ext4 -F -U 88888888-0000-4000-8000-000000000001 -L a\\'b\\ \\$\\(rm\\ -rf\\ /\\)",
    );
  });

  it('wiped each device right before making something on it, and wrote to no other device', () => {
    const layoutDevices = new Set([
      ...layout.disks.flatMap((disk) => [
        disk.device,
        ...(disk.table?.partitions.map((p) => p.device) ?? []),
      ]),
      '/dev/md0',
      '/dev/vg0/root',
      '/dev/vg0/swap',
      '/dev/vg0/system',
      '/dev/mapper/secret',
      '/dev/zero',
    ]);
    const written = first.calls
      .filter(isWrite)
      .flatMap((call) => call.args.flatMap((arg) => /(?:^|=)(\/dev\/\S*)/.exec(arg)?.[1] ?? []));
    expect(written.length).toBeGreaterThan(20);
    expect(written.filter((device) => !layoutDevices.has(device))).toEqual([]);

    for (const [tool, device] of [
      ['mkfs.vfat', '/dev/vda1'],
      ['mkfs.ext4', '/dev/vg0/root'],
      ['mkswap', '/dev/vg0/swap'],
      ['pvcreate', '/dev/md0'],
      ['cryptsetup', '/dev/vda3'],
    ]) {
      const made = first.calls.findIndex(
        (call) =>
          call.tool === tool &&
          call.args.at(-1) === device &&
          (tool !== 'cryptsetup' || call.args[0] === 'luksFormat'),
      );
      expect(made, `${tool} ${device}`).toBeGreaterThan(0);
      // The call just before making it wiped that very device.
      expect(first.calls[made - 1], `wipefs ${device} before ${tool}`).toEqual({
        tool: 'wipefs',
        args: ['--all', '--force', device],
      });
    }
  });

  it('on a rerun finds everything and changes nothing', async () => {
    const rerun = await runScript(withKey());
    expect(rerun.stderr).toBe('');
    expect(rerun.exitCode).toBe(0);
    expect(rerun.calls.filter(isWrite)).toEqual([]);
    const skipped = rerun.stdout
      .split('\n')
      .filter((line) => /^lifeboat-recreate: .* exists, skipped$/.test(line));
    // 2 tables, 1 array, 1 PV, 1 VG, 3 LVs, 1 LUKS volume, 4 file systems, 1 swap area.
    expect(skipped, rerun.stdout).toHaveLength(14);
    expect(rerun.stdout, rerun.stdout).not.toContain('lifeboat-recreate: creating');
  });

  it('on a rerun remakes only the file system whose UUID differs', async () => {
    await writeFile(join(state, 'uuid', '_dev_vda1'), 'DEAD-BEEF');
    const rerun = await runScript(withKey());
    expect(rerun.exitCode).toBe(0);
    expect(rerun.calls.filter(isWrite)).toEqual([
      { tool: 'wipefs', args: ['--all', '--force', '/dev/vda1'] },
      { tool: 'mkfs.vfat', args: ['-i', 'ABCD12EF', '-n', 'EFI', '-F', '32', '/dev/vda1'] },
    ]);
    expect(rerun.stdout).toContain('lifeboat-recreate: creating vfat file system on /dev/vda1');
  });
});
