/**
 * Layouts for the recreate and mount script tests: one builder per storage stack (GPT, MBR, LVM,
 * RAID, LUKS, btrfs, xfs, an ESP, and all of them at once), each returning a fresh Layout a test
 * may change, and the helpers that read a generated script back (its syntax, one block's lines).
 */
import { execa } from 'execa';
import { expect } from 'vitest';
import {
  type Disk,
  emptyLayout,
  type Filesystem,
  type Layout,
  type LogicalVolume,
  type Partition,
} from '../../src/layout/model.js';

// Partition type GUIDs, as sfdisk prints them.
export const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
export const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
export const SWAP = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F';
export const LVM = 'E6D6D379-F507-44C2-A23C-238F2A3DF928';
export const RAID = 'A19D880F-05FC-4D3B-A006-743F0F84911E';

export const GIB = 1024 ** 3;
export const EXT4_FEATURES = [
  'has_journal',
  'ext_attr',
  'dir_index',
  'filetype',
  'extent',
  '64bit',
];
export const HOSTILE = "a'b $(rm -rf /)";

export function layoutOf(parts: Partial<Layout>): Layout {
  return { ...emptyLayout(), ...parts };
}

/** A GPT disk whose partitions follow each other from sector 2048, with made-up GUIDs. */
export function gptDisk(
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

export function ext4(device: string, uuid: string, label: string): Filesystem {
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

export function linear(name: string, size: number): LogicalVolume {
  return { name, uuid: `LVUUID-${name}`, size, segtype: 'linear' };
}

/** GPT, an ext4 root and a swap partition. */
export function gptExt4Swap(): Layout {
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
export function mbrExt4(): Layout {
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
export function lvmOnGpt(): Layout {
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
export function raid1Lvm(): Layout {
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
export function luksLvm(): Layout {
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

export function btrfsFs(device: string): Filesystem {
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
export function btrfsLayout(): Layout {
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

export function xfsFs(device: string, uuid = '66666666-0000-4000-8000-000000000001'): Filesystem {
  return {
    device,
    type: 'xfs',
    uuid,
    label: 'data',
    options: { blockSize: 4096, inodeSize: 512, crc: true },
  };
}

export function xfsLayout(): Layout {
  return layoutOf({
    disks: [gptDisk('/dev/vdb', 2, [{ type: LINUX, sectors: 30 * 1024 * 2048 }])],
    filesystems: [xfsFs('/dev/vdb1')],
  });
}

export function vfatFs(device: string): Filesystem {
  return { device, type: 'vfat', uuid: 'ABCD-12EF', label: 'EFI', options: { fatSize: 32 } };
}

/** An EFI system partition next to the root. */
export function espLayout(): Layout {
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
export function everything(): Layout {
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
export async function expectBashSyntaxOk(script: string): Promise<void> {
  const result = await execa('bash', ['-n'], { input: script, reject: false });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

/** The block of one component: from its comment line to the blank line after it. */
export function blockOf(script: string, id: string): string {
  const start = script.indexOf(`\n# ${id}:`);
  expect(start, `no block for ${id}`).toBeGreaterThan(-1);
  // Blocks are separated by a blank line before the next block's comment (the sfdisk input
  // has a blank line of its own).
  const rest = script.slice(start + 1);
  const end = rest.search(/\n\n(?=# |say 'done')/);
  return end === -1 ? rest : rest.slice(0, end);
}

export function linesOf(text: string): string[] {
  return text.split('\n').map((line) => line.trim());
}
