/**
 * The disk layout of a host: every layer of its storage, as the capture's `layout` section and
 * as `lifeboat savelayout` writes it (layout.json). ReaR keeps the same facts in disklayout.conf,
 * one component a line; here they are typed records, canonical JSON, diffable.
 *
 * Devices are named by their path when captured (/dev/vda, /dev/vda2, /dev/md0, /dev/VG/LV,
 * /dev/mapper/NAME). Each component names the devices it is built on, so the layout is a
 * dependency graph: disk → partition → RAID → LVM PV → VG → LV → LUKS → file system. Stable ids
 * (serial, WWN, UUIDs) are kept beside the names, so a renamed disk is recognised.
 *
 * Sizes are bytes; partition positions are sectors of the disk's logical sector size, as sfdisk
 * gives them. Nothing here is a secret: LUKS keys are never captured.
 */
export const LAYOUT_SCHEMA = 'lifeboat.layout/v1';

export interface Layout {
  schema: typeof LAYOUT_SCHEMA;
  disks: Disk[];
  raids: RaidArray[];
  volumeGroups: VolumeGroup[];
  encrypted: LuksVolume[];
  filesystems: Filesystem[];
  swaps: Swap[];
  /** What was mounted where (live hosts), sorted by mount point. */
  mounts: Mount[];
  /** fstab, crypttab, mdadm.conf as they were: recovery keeps them working unchanged. */
  configFiles: ConfigFile[];
}

export interface Disk {
  /** /dev/vda */
  device: string;
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Stable ids, when the hardware has them: matched before the size when disks are mapped. */
  serial?: string;
  wwn?: string;
  model?: string;
  /** null: no partition table (a whole-disk PV, file system or RAID member). */
  table: PartitionTable | null;
}

export interface PartitionTable {
  type: 'gpt' | 'dos';
  /** GPT: the disk GUID; dos: the disk identifier (0x1234abcd). Kept when recreated. */
  id: string;
  /** GPT usable area, in sectors, when sfdisk reports it. */
  firstLba?: number;
  lastLba?: number;
  partitions: Partition[];
}

export interface Partition {
  /** /dev/vda1 */
  device: string;
  number: number;
  /** In sectors of the disk's logical sector size. */
  start: number;
  size: number;
  /** GPT: the type GUID (upper case, as sfdisk prints it); dos: the type byte in hex (83, 8e, ef...). */
  type: string;
  /** GPT only: the partition GUID (PARTUUID) and name. */
  uuid?: string;
  name?: string;
  /** GPT attribute bits as sfdisk spells them (LegacyBIOSBootable, RequiredPartition, GUID:63...). */
  attrs?: string;
  /** dos only: the boot flag. */
  bootable?: boolean;
}

export interface RaidArray {
  /** /dev/md0 (or /dev/md/NAME resolved to its node) */
  device: string;
  /** raid0, raid1, raid4, raid5, raid6, raid10, linear */
  level: string;
  uuid: string;
  /** The array's name in its superblock (host:name), when it has one. */
  name?: string;
  /** Superblock version: 0.90, 1.0, 1.1, 1.2 */
  metadata: string;
  chunkKiB?: number;
  /** raid5/6/10 layout (left-symmetric, n2...) */
  layout?: string;
  /** Active members, in role order. */
  devices: string[];
  spares: string[];
}

export interface VolumeGroup {
  name: string;
  uuid: string;
  extentSize: number;
  physicalVolumes: PhysicalVolume[];
  logicalVolumes: LogicalVolume[];
}

export interface PhysicalVolume {
  device: string;
  uuid: string;
}

export interface LogicalVolume {
  name: string;
  uuid: string;
  size: number;
  /** linear, striped, mirror, raid1, thin-pool, thin... (lvs' segtype of the first segment) */
  segtype: string;
  stripes?: number;
  stripeSize?: number;
  /** thin volumes: their pool; thin pools: nothing here. */
  pool?: string;
}

export interface LuksVolume {
  /** The encrypted device (/dev/vda3, /dev/VG/LV...). */
  device: string;
  /** The mapping it is opened as: /dev/mapper/<mapping>. */
  mapping: string;
  version: 1 | 2;
  uuid: string;
  label?: string;
  /** aes-xts-plain64 */
  cipher: string;
  /** Bits. */
  keySize: number;
  /** LUKS1 header hash / LUKS2 digest hash. */
  hash?: string;
  /** LUKS2: argon2id, argon2i, pbkdf2. */
  pbkdf?: string;
}

export interface Filesystem {
  device: string;
  /** ext2, ext3, ext4, xfs, btrfs, vfat */
  type: string;
  uuid: string;
  label?: string;
  /**
   * The creation parameters that matter for recreating it: ext*: features (list), inodeSize,
   * blockSize, reservedBlocksPercent; xfs: blockSize, inodeSize (isize), crc; vfat: fatSize
   * (12, 16, 32); btrfs: subvolumes and the default one (below).
   */
  options: Record<string, string | number | boolean | string[]>;
  /** btrfs only: every subvolume by path, and the default one (its path, '' for the top level). */
  subvolumes?: string[];
  defaultSubvolume?: string;
}

export interface Swap {
  device: string;
  uuid?: string;
  label?: string;
}

export interface Mount {
  device: string;
  mountpoint: string;
  type: string;
  options: string;
}

export interface ConfigFile {
  /** /etc/fstab, /etc/crypttab, /etc/mdadm/mdadm.conf */
  path: string;
  content: string;
}

/** The device a volume group's logical volume is known by. */
/** An empty layout (a host with no disks captured, or a container). */
export function emptyLayout(): Layout {
  return {
    schema: LAYOUT_SCHEMA,
    disks: [],
    raids: [],
    volumeGroups: [],
    encrypted: [],
    filesystems: [],
    swaps: [],
    mounts: [],
    configFiles: [],
  };
}
