import type { Layout } from './model.js';

/**
 * `lifeboat layout show`: the layout as a tree, each component under what it is built on, the
 * way a person draws it: disk, partitions, and on them RAID, LVM, LUKS and file systems.
 */
export function formatLayoutTree(layout: Layout): string {
  const lines: string[] = [];
  const shown = new Set<string>();
  const gib = (bytes: number) =>
    bytes >= 2 ** 30
      ? `${(bytes / 2 ** 30).toFixed(1)} GiB`
      : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

  const describe = (device: string): string[] => {
    const out: string[] = [];
    const raid = layout.raids.find((r) => r.devices.includes(device) || r.spares.includes(device));
    if (raid) out.push(`${raid.device}: ${raid.level} (md ${raid.metadata}, uuid ${raid.uuid})`);
    const vg = layout.volumeGroups.find((g) => g.physicalVolumes.some((p) => p.device === device));
    if (vg) out.push(`LVM PV of ${vg.name}`);
    const luks = layout.encrypted.find((l) => l.device === device);
    if (luks)
      out.push(
        `LUKS${luks.version} → /dev/mapper/${luks.mapping} (${luks.cipher}, ${luks.keySize} bits)`,
      );
    const fs = layout.filesystems.find((f) => f.device === device);
    if (fs)
      out.push(
        `${fs.type}${fs.label ? ` "${fs.label}"` : ''} uuid ${fs.uuid}${mountOf(layout, device)}`,
      );
    const swap = layout.swaps.find((s) => s.device === device);
    if (swap) out.push(`swap${swap.uuid ? ` uuid ${swap.uuid}` : ''}`);
    return out;
  };

  const node = (device: string, label: string, depth: number) => {
    const pad = '  '.repeat(depth);
    lines.push(`${pad}${label}`);
    if (shown.has(device)) return;
    shown.add(device);
    for (const what of describe(device)) lines.push(`${pad}  ${what}`);
    // What is built on this device: a RAID array, a LUKS mapping.
    const raid = layout.raids.find((r) => r.devices[0] === device);
    if (raid) node(raid.device, raid.device, depth + 1);
    const luks = layout.encrypted.find((l) => l.device === device);
    if (luks) node(`/dev/mapper/${luks.mapping}`, `/dev/mapper/${luks.mapping}`, depth + 1);
  };

  for (const disk of layout.disks) {
    const ids = [disk.serial && `serial ${disk.serial}`, disk.wwn && `wwn ${disk.wwn}`].filter(
      Boolean,
    );
    const table = disk.table ? `${disk.table.type} ${disk.table.id}` : 'no partition table';
    node(
      disk.device,
      `${disk.device} ${gib(disk.size)}, ${table}${ids.length ? `, ${ids.join(', ')}` : ''}`,
      0,
    );
    for (const part of disk.table?.partitions ?? []) {
      const name = part.name ? ` "${part.name}"` : '';
      node(
        part.device,
        `${part.device} ${gib(part.size * disk.logicalSectorSize)} type ${part.type}${name}`,
        1,
      );
    }
  }
  for (const vg of layout.volumeGroups) {
    lines.push(`volume group ${vg.name} (extent ${vg.extentSize / 2 ** 20} MiB, uuid ${vg.uuid})`);
    for (const lv of vg.logicalVolumes) {
      const device = `/dev/${vg.name}/${lv.name}`;
      node(device, `${device} ${gib(lv.size)} ${lv.segtype}${lv.pool ? ` in ${lv.pool}` : ''}`, 1);
    }
  }
  return `${lines.join('\n')}\n`;
}

function mountOf(layout: Layout, device: string): string {
  const points = layout.mounts.filter((m) => m.device === device).map((m) => m.mountpoint);
  return points.length ? ` on ${points.join(', ')}` : '';
}
