import { numberOf, parseJson, ToolOutputError, textOf } from './parse-util.js';

/**
 * `lsblk --json --bytes --paths --output-all`: every block device as a tree (disks, their
 * partitions, and what is built on them: RAID, LVM, dm-crypt), with sizes, sector sizes, ids and
 * the file system each one holds (udev must be running for FSTYPE, UUID, LABEL).
 */
export interface BlockDevice {
  path: string;
  /** disk, part, lvm, crypt, raid1, raid0..., loop, rom */
  type: string;
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  serial?: string;
  wwn?: string;
  model?: string;
  fstype?: string;
  uuid?: string;
  /** The partition table's id (GPT disk GUID, MBR disk id), when asked for. */
  ptuuid?: string;
  label?: string;
  mountpoints: string[];
  removable: boolean;
  readOnly: boolean;
  children: BlockDevice[];
}

export function parseLsblk(text: string): BlockDevice[] {
  const json = parseJson('lsblk', text) as { blockdevices?: unknown };
  if (!Array.isArray(json.blockdevices)) throw new ToolOutputError('lsblk', 'no "blockdevices"');
  return json.blockdevices.map(device);
}

function device(raw: unknown): BlockDevice {
  const d = raw as Record<string, unknown>;
  const path = textOf(d.path) ?? textOf(d.name);
  if (path === undefined) throw new ToolOutputError('lsblk', 'a device without a path');
  const mountpoints = Array.isArray(d.mountpoints)
    ? d.mountpoints.filter((m): m is string => typeof m === 'string' && m !== '')
    : textOf(d.mountpoint) !== undefined
      ? [d.mountpoint as string]
      : [];
  return {
    path,
    type: textOf(d.type) ?? 'unknown',
    size: numberOf(d.size) ?? 0,
    logicalSectorSize: numberOf(d['log-sec']) ?? 512,
    physicalSectorSize: numberOf(d['phy-sec']) ?? 512,
    serial: textOf(d.serial)?.trim(),
    wwn: textOf(d.wwn),
    model: textOf(d.model)?.trim(),
    fstype: textOf(d.fstype),
    uuid: textOf(d.uuid),
    ptuuid: textOf(d.ptuuid),
    label: textOf(d.label),
    mountpoints,
    removable: d.rm === true || d.rm === '1',
    readOnly: d.ro === true || d.ro === '1',
    children: Array.isArray(d.children) ? d.children.map(device) : [],
  };
}

/** Every device of the forest, each once (a RAID or VG on several disks appears under each). */
export function allDevices(roots: readonly BlockDevice[]): BlockDevice[] {
  const seen = new Map<string, BlockDevice>();
  const visit = (d: BlockDevice) => {
    if (!seen.has(d.path)) seen.set(d.path, d);
    for (const child of d.children) visit(child);
  };
  for (const root of roots) visit(root);
  return [...seen.values()];
}
