import type { Filesystem } from './model.js';
import { exportLines, keyValueLines, numberOf, ToolOutputError } from './parse-util.js';

/**
 * What a file system was made with, from the tools that read it without mounting: `blkid -p -o
 * export` (type, UUID, label; vfat's FAT size), `tune2fs -l` (ext2/3/4), `xfs_db -r -c info`
 * (xfs), and for btrfs `btrfs subvolume list -a` and `get-default` on its mount point.
 */
export interface Probe {
  type?: string;
  uuid?: string;
  label?: string;
  /** vfat: FAT12, FAT16, FAT32 */
  version?: string;
}

export function parseBlkidExport(text: string): Probe {
  const v = exportLines(text);
  return {
    ...(v.get('TYPE') ? { type: v.get('TYPE') } : {}),
    ...(v.get('UUID') ? { uuid: v.get('UUID') } : {}),
    ...(v.get('LABEL') ? { label: v.get('LABEL') } : {}),
    ...(v.get('VERSION') ? { version: v.get('VERSION') } : {}),
  };
}

/**
 * Listed among the features while a file system is mounted or was not cleanly unmounted, but
 * states, not how it was made: mkfs refuses them, and a capture must not differ because of them.
 */
const STATE_FLAGS = new Set(['needs_recovery', 'orphan_present']);

/** ext2/3/4: features, inode size, block size, reserved blocks as a percentage. */
export function parseTune2fs(text: string): Filesystem['options'] {
  const v = keyValueLines(text, /:\s+/);
  const features = v.get('Filesystem features');
  const blockCount = numberOf(v.get('Block count'));
  const reserved = numberOf(v.get('Reserved block count'));
  if (features === undefined || blockCount === undefined)
    throw new ToolOutputError('tune2fs -l', 'no features or block count');
  return {
    features: features
      .split(/\s+/)
      .filter((f) => f !== '' && f !== '(none)' && !STATE_FLAGS.has(f)),
    inodeSize: numberOf(v.get('Inode size')) ?? 256,
    blockSize: numberOf(v.get('Block size')) ?? 4096,
    // mkfs -m takes a percentage; two decimals keep what mkfs -m 1 or 5 wrote.
    reservedBlocksPercent:
      reserved === undefined || blockCount === 0
        ? 5
        : Math.round((reserved / blockCount) * 10000) / 100,
  };
}

/**
 * The on/off features of an xfs file system that mkfs.xfs sets and whose defaults change between
 * xfsprogs versions (trixie's mkfs.xfs turns on rmapbt and nrext64, bookworm's does not): kept so
 * that recreation makes the file system the host had, not what the rescue system's mkfs.xfs
 * defaults to.
 */
const XFS_FEATURES = [
  'finobt',
  'sparse',
  'rmapbt',
  'reflink',
  'bigtime',
  'inobtcount',
  'nrext64',
  'ftype',
] as const;

/**
 * xfs, from xfs_db's `info` (the same text as xfs_info): block size, inode size, crc, and each of
 * XFS_FEATURES that this xfsprogs reports.
 */
export function parseXfsInfo(text: string): Filesystem['options'] {
  const field = (name: string) => numberOf(new RegExp(`\\b${name}=(\\d+)`).exec(text)?.[1]);
  const blockSize = /^data\s*=\s*bsize=(\d+)/m.exec(text)?.[1];
  const inodeSize = field('isize');
  if (blockSize === undefined || inodeSize === undefined)
    throw new ToolOutputError('xfs_db info', 'no data bsize or isize');
  const options: Filesystem['options'] = {
    blockSize: Number(blockSize),
    inodeSize,
    crc: field('crc') === 1,
  };
  for (const feature of XFS_FEATURES) {
    const value = field(feature);
    if (value !== undefined) options[feature] = value === 1;
  }
  return options;
}

/** vfat: the FAT size mkfs.vfat -F takes. */
export function vfatOptions(probe: Probe): Filesystem['options'] {
  const bits = /^FAT(12|16|32)$/.exec(probe.version ?? '')?.[1];
  return bits === undefined ? {} : { fatSize: Number(bits) };
}

/**
 * btrfs subvolumes by path (relative to the top level), from `btrfs subvolume list -a`
 * ("ID 256 gen 9 top level 5 path <FS_TREE>/@"), and the default one from `get-default`
 * ("ID 5 (FS_TREE)" for the top level, else "ID 256 gen 9 top level 5 path @").
 */
export function parseBtrfsSubvolumes(
  list: string,
  getDefault: string,
): { subvolumes: string[]; defaultSubvolume: string } {
  const subvolumes: string[] = [];
  for (const line of list.split('\n')) {
    const path = /^ID \d+ .*\bpath (.+)$/.exec(line.trim())?.[1];
    if (path !== undefined) subvolumes.push(path.replace(/^<FS_TREE>\//, ''));
  }
  subvolumes.sort();
  const line = getDefault.trim();
  const path = /\bpath (.+)$/.exec(line)?.[1];
  if (path === undefined && !/^ID 5\b/.test(line))
    throw new ToolOutputError('btrfs subvolume get-default', `unexpected "${line}"`);
  return { subvolumes, defaultSubvolume: path?.replace(/^<FS_TREE>\//, '') ?? '' };
}
