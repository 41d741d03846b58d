import type { Layout } from './model.js';

/**
 * The captured disks recovery leaves out before it matches the layout to the disks here: a disk
 * nothing of the host was mounted or swapped from (ReaR's AUTOEXCLUDE_DISKS: the backup disk
 * plugged in for `mkbackup`, a USB stick, a spare), the disk that holds the backup (found by its
 * file system's UUID, mounted at capture or not), and a disk layout.exclude names whole. Such a
 * disk needs no disk here, and nothing built on it is recreated.
 */
export interface LeftOutDisk {
  device: string;
  why: string;
}

export interface LeaveOutOptions {
  /** layout.autoExcludeDisks: leave out the disks no mount or swap of the host is on. */
  autoExclude: boolean;
  /** layout.exclude: an entry naming a disk (`disk:/dev/sdb` or `/dev/sdb`) leaves it out. */
  exclude: readonly string[];
  /** UUIDs of the file systems the backup is on, as this machine sees them. */
  backupFilesystems: readonly string[];
}

export function disksToLeaveOut(layout: Layout, options: LeaveOutOptions): LeftOutDisk[] {
  const under = disksUnder(layout);
  const whys = new Map<string, string>();
  const leave = (device: string, why: string) => {
    if (!whys.has(device)) whys.set(device, why);
  };
  for (const disk of layout.disks) {
    if (options.exclude.includes(disk.device) || options.exclude.includes(`disk:${disk.device}`))
      leave(disk.device, 'layout.exclude names it');
  }
  for (const fs of layout.filesystems) {
    if (options.backupFilesystems.includes(fs.uuid))
      for (const disk of under(fs.device)) leave(disk, 'it holds the backup');
  }
  // A layout that records nothing mounted (a hand-written one) gives nothing to judge by.
  const inUse = [...layout.mounts.map((m) => m.device), ...layout.swaps.map((s) => s.device)];
  if (options.autoExclude && inUse.length > 0) {
    const used = new Set(inUse.flatMap(under));
    for (const disk of layout.disks)
      if (!used.has(disk.device))
        leave(disk.device, 'no file system or swap area of the host was on it');
  }
  return layout.disks.flatMap((d) => {
    const why = whys.get(d.device);
    return why === undefined ? [] : [{ device: d.device, why }];
  });
}

/** The layout without those disks and everything built on them. */
export function withoutDisks(layout: Layout, disks: readonly string[]): Layout {
  const under = disksUnder(layout);
  const onLeftOut = (device: string) => under(device).some((d) => disks.includes(d));
  return {
    ...layout,
    disks: layout.disks.filter((d) => !disks.includes(d.device)),
    raids: layout.raids.filter((r) => !onLeftOut(r.device)),
    volumeGroups: layout.volumeGroups.filter(
      (vg) => !vg.physicalVolumes.some((pv) => onLeftOut(pv.device)),
    ),
    encrypted: layout.encrypted.filter((l) => !onLeftOut(l.device)),
    filesystems: layout.filesystems.filter((f) => !onLeftOut(f.device)),
    swaps: layout.swaps.filter((s) => !onLeftOut(s.device)),
    mounts: layout.mounts.filter((m) => !onLeftOut(m.device)),
  };
}

/**
 * Device → the whole disks it is built on, through partitions, RAID members, a logical volume's
 * physical volumes and a LUKS mapping's device.
 */
function disksUnder(layout: Layout): (device: string) => string[] {
  const below = new Map<string, string[]>();
  for (const disk of layout.disks)
    for (const p of disk.table?.partitions ?? []) below.set(p.device, [disk.device]);
  for (const raid of layout.raids) below.set(raid.device, [...raid.devices, ...raid.spares]);
  for (const vg of layout.volumeGroups) {
    const pvs = vg.physicalVolumes.map((pv) => pv.device);
    for (const lv of vg.logicalVolumes) below.set(`/dev/${vg.name}/${lv.name}`, pvs);
  }
  for (const luks of layout.encrypted) below.set(`/dev/mapper/${luks.mapping}`, [luks.device]);
  const disks = new Set(layout.disks.map((d) => d.device));
  return (device) => {
    const found = new Set<string>();
    const seen = new Set<string>();
    const visit = (d: string) => {
      if (seen.has(d)) return;
      seen.add(d);
      if (disks.has(d)) found.add(d);
      for (const next of below.get(d) ?? []) visit(next);
    };
    visit(device);
    return [...found];
  };
}
