import { UsageError } from '../errors.js';
import type { Disk, Layout, Partition } from './model.js';

/**
 * Migration: the captured layout onto the disks this machine has, when they are not the
 * captured ones (other names, sizes or count). ReaR's migration mode and disk_mappings, with the
 * rules written down:
 *
 * Matching, in this order, each target disk used once:
 *   1. the mapping file: `OLD NEW` lines (/dev/sda /dev/vdb), `#` comments; it is the whole
 *      truth for the disks it names
 *   2. the same serial or WWN (a renamed disk)
 *   3. the same name and size (the same machine)
 *   4. the same size
 *   5. what is left, largest captured disk to largest target disk
 * A captured disk with no target is an error; target disks nobody maps to are never touched.
 *
 * Resizing, per disk whose target differs in size (partitions in sectors, aligned to 1 MiB):
 *   - BIOS boot and EFI System partitions, and any partition under 1% of the captured disk,
 *     keep their size; every other partition is scaled by the same factor, so that together
 *     they fill what the kept ones leave (growing or shrinking);
 *   - gaps before the first partition are kept; partitions follow each other in their order;
 *   - logical volumes: when a volume group shrinks below what its LVs need, every LV scales by
 *     the VG's factor (rounded down to whole extents); when it grows, LVs keep their sizes and
 *     the space stays free in the VG;
 *   - a result under the smallest size its file system takes (xfs 300 MiB, others 16 MiB) is
 *     refused, naming it, as is a disk whose kept partitions alone do not fit.
 */
export interface TargetDisk {
  device: string;
  size: number;
  logicalSectorSize: number;
  serial?: string;
  wwn?: string;
}

export interface Migration {
  /** captured disk → target disk */
  disks: Map<string, string>;
  layout: Layout;
  /** One line per decision, for the log and the confirmation question. */
  notes: string[];
  /** One line per disk here smaller than the captured disk it replaces (the layout shrinks). */
  shrunk: string[];
}

const MIB = 2 ** 20;
const GPT_FIXED_TYPES = new Set([
  '21686148-6449-6E6F-744E-656564454649', // BIOS boot
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', // EFI System
]);
const DOS_FIXED_TYPES = new Set(['ef']);
/** A GPT's backup entries (32 sectors) and header (1) at the end of the disk. */
const GPT_TAIL_SECTORS = 33;
const MIN_FS_BYTES: Record<string, number> = { xfs: 300 * MIB };
const MIN_BYTES = 16 * MIB;

/** `OLD NEW` lines; `#` starts a comment. */
export function parseDiskMapping(text: string, file: string): Map<string, string> {
  const mapping = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [from, to, extra] = line.split(/\s+/);
    if (!from?.startsWith('/dev/') || !to?.startsWith('/dev/') || extra !== undefined)
      throw new UsageError(
        `${file}:${i + 1}: expected "OLD-DISK NEW-DISK", such as "/dev/sda /dev/vdb"`,
      );
    mapping.set(from, to);
  });
  return mapping;
}

export function migrateLayout(
  layout: Layout,
  targets: readonly TargetDisk[],
  explicit: ReadonlyMap<string, string> = new Map(),
): Migration {
  const disks = matchDisks(layout.disks, targets, explicit);
  const notes: string[] = [];
  const shrunk: string[] = [];
  const rename = new Map<string, string>();
  const migrated = structuredClone(layout);
  const resized = new Map<string, number>(); // device → new size in bytes (partitions)

  for (const disk of migrated.disks) {
    const target = targets.find((t) => t.device === disks.get(disk.device));
    if (!target) continue;
    const from = disk.device;
    if (from !== target.device) notes.push(`${from} → ${target.device}`);
    rename.set(from, target.device);
    if (disk.table) {
      for (const p of disk.table.partitions) {
        const device = partitionDevice(target.device, p.number);
        rename.set(p.device, device);
      }
    }
    if (target.size !== disk.size) {
      notes.push(
        `${target.device}: ${gib(disk.size)} captured, ${gib(target.size)} here: partitions resized`,
      );
      resizeDisk(disk, target, resized);
      if (target.size < disk.size)
        shrunk.push(
          `${target.device} is ${gib(target.size)}, smaller than the ${gib(disk.size)} of ${from}`,
        );
    }
    disk.size = target.size;
    if (target.serial !== undefined) disk.serial = target.serial;
    else delete disk.serial;
    if (target.wwn !== undefined) disk.wwn = target.wwn;
    else delete disk.wwn;
  }

  const moved = (device: string) => rename.get(device) ?? device;
  for (const disk of migrated.disks) {
    disk.device = moved(disk.device);
    for (const p of disk.table?.partitions ?? []) {
      const size = resized.get(p.device);
      p.device = moved(p.device);
      if (size !== undefined) resized.set(p.device, size);
    }
  }
  for (const raid of migrated.raids) {
    raid.devices = raid.devices.map(moved);
    raid.spares = raid.spares.map(moved);
  }
  for (const vg of migrated.volumeGroups) {
    for (const pv of vg.physicalVolumes) pv.device = moved(pv.device);
  }
  for (const luks of migrated.encrypted) luks.device = moved(luks.device);
  for (const fs of migrated.filesystems) fs.device = moved(fs.device);
  for (const swap of migrated.swaps) swap.device = moved(swap.device);
  for (const mount of migrated.mounts) mount.device = moved(mount.device);

  shrinkVolumeGroups(migrated, resized, notes);
  checkMinimumSizes(migrated, resized);
  return { disks, layout: migrated, notes, shrunk };
}

function matchDisks(
  captured: readonly Disk[],
  targets: readonly TargetDisk[],
  explicit: ReadonlyMap<string, string>,
): Map<string, string> {
  const result = new Map<string, string>();
  const free = new Set(targets.map((t) => t.device));
  const take = (from: string, to: string) => {
    result.set(from, to);
    free.delete(to);
  };
  for (const [from, to] of explicit) {
    if (!captured.some((d) => d.device === from))
      throw new UsageError(`the disk mapping names ${from}, which the layout does not have`);
    if (!free.has(to))
      throw new UsageError(`the disk mapping names ${to}, which is not a free disk here`);
    take(from, to);
  }
  const open = () => captured.filter((d) => !result.has(d.device));
  const freeTargets = () => targets.filter((t) => free.has(t.device));
  const rules: ((d: Disk, t: TargetDisk) => boolean)[] = [
    (d, t) =>
      (d.serial !== undefined && d.serial === t.serial) || (d.wwn !== undefined && d.wwn === t.wwn),
    (d, t) => d.device === t.device && d.size === t.size,
    (d, t) => d.size === t.size,
  ];
  for (const rule of rules) {
    for (const disk of open()) {
      const target = freeTargets().find((t) => rule(disk, t));
      if (target) take(disk.device, target.device);
    }
  }
  const bySize = <T extends { size: number; device: string }>(a: T, b: T) =>
    b.size - a.size || (a.device < b.device ? -1 : 1);
  const rest = freeTargets().sort(bySize);
  for (const disk of [...open()].sort(bySize)) {
    const target = rest.shift();
    if (!target)
      throw new UsageError(
        `no disk here for ${disk.device} (${gib(disk.size)}${disk.serial ? `, serial ${disk.serial}` : ''}): the layout needs ${captured.length} disk(s), this machine has ${targets.length}`,
        {
          hint: 'Attach another disk, or map the disks yourself with --disk-mapping FILE. Nothing was written.',
        },
      );
    take(disk.device, target.device);
  }
  return result;
}

function resizeDisk(disk: Disk, target: TargetDisk, resized: Map<string, number>): void {
  const table = disk.table;
  if (!table || table.partitions.length === 0) return;
  const sector = disk.logicalSectorSize;
  const align = MIB / sector;
  const totalSectors = Math.floor(target.size / sector);
  const lastUsable = totalSectors - 1 - (table.type === 'gpt' ? GPT_TAIL_SECTORS : 0);
  const parts = [...table.partitions].sort((a, b) => a.start - b.start);
  if (table.type === 'dos' && parts.some((p) => ['5', 'f', '85'].includes(p.type.toLowerCase())))
    throw new UsageError(
      `${disk.device} has logical partitions, which are not resized onto another disk size`,
      { hint: 'Nothing was written. Use a disk of the same size, or edit the layout.' },
    );
  const fixedTypes = table.type === 'gpt' ? GPT_FIXED_TYPES : DOS_FIXED_TYPES;
  const fixed = (p: Partition) =>
    fixedTypes.has(table.type === 'gpt' ? p.type.toUpperCase() : p.type.toLowerCase()) ||
    p.size * sector < disk.size / 100;
  const first = parts[0]?.start ?? align;
  const fixedSectors = parts.filter(fixed).reduce((sum, p) => sum + p.size, 0);
  const scalable = parts.filter((p) => !fixed(p));
  const scalableSectors = scalable.reduce((sum, p) => sum + p.size, 0);
  // What the scaled ones may take: the usable area less the first gap, the kept partitions and
  // one alignment step per partition (each start is rounded up to a MiB).
  const room = lastUsable + 1 - first - fixedSectors - parts.length * align;
  if (room <= 0 || (scalableSectors === 0 && fixedSectors > lastUsable + 1 - first))
    throw new UsageError(
      `${target.device} (${gib(target.size)}) is too small for the partitions of ${disk.device} that keep their size`,
      { hint: 'Nothing was written. Use a bigger disk.' },
    );
  const factor = scalableSectors === 0 ? 1 : room / scalableSectors;
  let next = first;
  for (const p of parts) {
    p.start = Math.ceil(next / align) * align;
    if (!fixed(p)) p.size = Math.max(align, Math.floor((p.size * factor) / align) * align);
    next = p.start + p.size;
    resized.set(p.device, p.size * sector);
  }
  if (next - 1 > lastUsable)
    throw new UsageError(`${target.device} is too small for the layout of ${disk.device}`, {
      hint: 'Nothing was written. Use a bigger disk.',
    });
  if (table.type === 'gpt' && table.lastLba !== undefined) table.lastLba = lastUsable;
}

/** LUKS and LVM metadata take this much of a PV on a resized partition (a generous bound). */
const PV_OVERHEAD = 20 * MIB;

function shrinkVolumeGroups(after: Layout, resized: Map<string, number>, notes: string[]): void {
  for (const vg of after.volumeGroups) {
    // A PV's new size: its partition's (directly, or under LUKS or RAID, approximately).
    const pvBytes = vg.physicalVolumes.map((pv) => sizeUnder(pv.device, after, resized));
    if (pvBytes.some((b) => b === undefined)) continue; // nothing resized under this VG
    const capacity =
      Math.floor(
        (pvBytes as number[]).reduce((sum, b) => sum + Math.max(0, b - PV_OVERHEAD), 0) /
          vg.extentSize,
      ) * vg.extentSize;
    const needed = vg.logicalVolumes.reduce((sum, lv) => sum + lv.size, 0);
    if (needed <= capacity) continue;
    const factor = capacity / needed;
    for (const lv of vg.logicalVolumes) {
      lv.size = Math.floor((lv.size * factor) / vg.extentSize) * vg.extentSize;
      resized.set(`/dev/${vg.name}/${lv.name}`, lv.size);
    }
    notes.push(`volume group ${vg.name}: logical volumes scaled to ${(factor * 100).toFixed(0)}%`);
  }
}

/** The size a device will have after migration, when something under it was resized. */
function sizeUnder(
  device: string,
  layout: Layout,
  resized: Map<string, number>,
): number | undefined {
  const direct = resized.get(device);
  if (direct !== undefined) return direct;
  const luks = layout.encrypted.find((l) => `/dev/mapper/${l.mapping}` === device);
  if (luks) return sizeUnder(luks.device, layout, resized);
  const raid = layout.raids.find((r) => r.device === device);
  if (raid) {
    const members = raid.devices.map((d) => sizeUnder(d, layout, resized));
    if (members.some((m) => m === undefined)) return undefined;
    const smallest = Math.min(...(members as number[]));
    const data = raid.devices.length;
    if (raid.level === 'raid0' || raid.level === 'linear') return smallest * data;
    if (raid.level === 'raid5') return smallest * (data - 1);
    if (raid.level === 'raid6') return smallest * (data - 2);
    if (raid.level === 'raid10') return (smallest * data) / 2;
    return smallest;
  }
  return undefined;
}

function checkMinimumSizes(layout: Layout, resized: Map<string, number>): void {
  const small: string[] = [];
  for (const fs of layout.filesystems) {
    const size = resized.get(fs.device);
    const min = MIN_FS_BYTES[fs.type] ?? MIN_BYTES;
    if (size !== undefined && size < min)
      small.push(`${fs.device} (${fs.type}) would be ${gib(size)}, under its ${gib(min)} minimum`);
  }
  if (small.length > 0)
    throw new UsageError(`the layout does not fit the disks here: ${small.join('; ')}`, {
      hint: 'Nothing was written. Use bigger disks.',
    });
}

/** /dev/sdb + 2 → /dev/sdb2; /dev/nvme0n1 + 2 → /dev/nvme0n1p2 (a name ending in a digit). */
export function partitionDevice(disk: string, number: number): string {
  return /\d$/.test(disk) ? `${disk}p${number}` : `${disk}${number}`;
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(1)} GiB`
    : `${Math.round(bytes / MIB)} MiB`;
}
