/**
 * Disks and partitions. A disk with a partition table is one component whose block wipes the disk
 * and writes the whole table with one sfdisk script, keeping the disk GUID or identifier, every
 * partition's position, type, GUID, name and attributes, and the boot flag. Each partition is a
 * component of its own that only waits for its device, so what is built on a partition depends
 * on that partition, and excluding a partition leaves it out of the table.
 */
import type { Disk, Partition, PartitionTable } from './model.js';
import type { Component, RenderContext } from './recreate-graph.js';
import {
  checkDevicePath,
  checkPositiveInteger,
  commentText,
  RecreateError,
  shellQuote,
} from './recreate-shell.js';

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const DOS_DISK_ID = /^0x[0-9A-Fa-f]{1,8}$/;
const DOS_TYPE = /^(0x)?[0-9A-Fa-f]{1,2}$/;
/** sfdisk's attribute spelling: names, GUID:63, separated by spaces or commas. */
const GPT_ATTRS = /^[A-Za-z0-9:, ]*$/;
/** dos partition types of an extended partition, the container of the logical ones (5 and up). */
const DOS_EXTENDED = new Set(['5', 'f', '85']);
/** Behind a GPT's last usable sector: the backup partition entries (32 sectors) and header. */
const GPT_BACKUP_SECTORS = 33;

export function diskComponents(disk: Disk): Component[] {
  const device = checkDevicePath(disk.device, `disk:${disk.device}`);
  const id = `disk:${device}`;
  const sectorBytes = checkPositiveInteger(disk.logicalSectorSize, 'logical sector size', id);
  // Checked here, not only where used: the header shows them for excluded disks too.
  checkPositiveInteger(disk.size, 'size', id);
  const table = disk.table;
  if (table === null) return [wholeDiskComponent(disk, id)];
  if (table.type !== 'gpt' && table.type !== 'dos') {
    throw new RecreateError(
      `${id}: partition table type ${JSON.stringify(table.type)} is not gpt or dos`,
    );
  }

  const partitions = table.partitions.map((partition) => {
    const device = checkDevicePath(partition.device, `partition ${partition.number} of ${id}`);
    checkPositiveInteger(partition.number, 'partition number', `part:${device}`);
    return { partition, id: `part:${device}` };
  });
  const extended = partitions.find(({ partition }) => isExtended(table, partition));

  const diskComponent: Component = {
    id,
    provides: [device],
    needs: [],
    tools: ['sfdisk', 'wipefs', 'dd', 'blockdev'],
    render: (context) =>
      renderTable(
        disk,
        table,
        sectorBytes,
        partitions.filter((entry) => !context.isExcluded(entry.id)).map((entry) => entry.partition),
        partitions.filter((entry) => context.isExcluded(entry.id)).map((entry) => entry.partition),
      ),
  };
  const partitionComponents = partitions.map(({ partition, id: partitionId }): Component => {
    // Logical partitions live inside the extended one: no extended partition, no logical ones.
    const isLogical = extended !== undefined && partition.number >= 5;
    return {
      id: partitionId,
      provides: [partition.device],
      needs: isLogical ? [id, extended.id] : [id],
      tools: ['blockdev'],
      render: () => [
        `# ${partitionId}: partition ${partition.number} of ${device}, made with its partition table`,
        `wait_for_device ${shellQuote(partition.device)}`,
        `say ${shellQuote(`partition ${partition.device} is there`)}`,
      ],
    };
  });
  return [diskComponent, ...partitionComponents];
}

/** A disk used whole (a PV, a RAID member, a file system): what is built on it wipes it. */
function wholeDiskComponent(disk: Disk, id: string): Component {
  const size = checkPositiveInteger(disk.size, 'size', id);
  return {
    id,
    provides: [disk.device],
    needs: [],
    tools: ['blockdev'],
    render: (_context: RenderContext) => [
      `# ${id}: no partition table, ${size} bytes${describeHardware(disk)}; used whole`,
      `check_disk ${shellQuote(disk.device)} ${shellQuote(disk.logicalSectorSize)} ${shellQuote(size)}`,
      `say ${shellQuote(`disk ${disk.device} has no partition table, nothing to create`)}`,
    ],
  };
}

function describeHardware(disk: Disk): string {
  const facts = [
    disk.model === undefined ? undefined : `model ${disk.model}`,
    disk.serial === undefined ? undefined : `serial ${disk.serial}`,
    disk.wwn === undefined ? undefined : `wwn ${disk.wwn}`,
  ].filter((fact) => fact !== undefined);
  return facts.length === 0 ? '' : `, ${commentText(facts.join(', '))}`;
}

function renderTable(
  disk: Disk,
  table: PartitionTable,
  sectorBytes: number,
  included: Partition[],
  excluded: Partition[],
): string[] {
  const id = `disk:${disk.device}`;
  const input = sfdiskInput(table, sectorBytes, included, id);
  const minimumBytes = requiredSectors(table, included) * sectorBytes;
  const lines = [
    `# ${id}: ${table.type} partition table, label-id ${table.id}, ${disk.size} bytes${describeHardware(disk)}`,
  ];
  if (excluded.length > 0) {
    lines.push(
      `# Left out of the table (excluded): ${excluded.map((p) => p.device).join(' ')}; their space stays unpartitioned.`,
    );
  }
  if (table.type === 'gpt' && table.lastLba !== undefined) {
    lines.push(
      "# first-lba/last-lba are the captured disk's: on a bigger disk, edit last-lba to use it all.",
    );
  }
  const device = shellQuote(disk.device);
  lines.push(
    `sfdisk_input=${shellQuote(input)}`,
    `if table_id_is ${device} ${shellQuote(table.id)}; then`,
    `  say ${shellQuote(`partition table of ${disk.device} exists, skipped`)}`,
    'else',
    `  say ${shellQuote(`creating the ${table.type} partition table of ${disk.device}`)}`,
    `  check_disk ${device} ${shellQuote(sectorBytes)} ${shellQuote(minimumBytes)}`,
    `  wipe_disk ${device}`,
    `  printf '%s\\n' "$sfdisk_input" | run sfdisk ${device}`,
    `  reread_partitions ${device}`,
  );
  if (included.length > 0) {
    // Signatures left at the new partitions' starts (the same positions as before) would make
    // the blocks below think their file systems, PVs or arrays already exist.
    lines.push('  # New partitions at old positions: wipe what the old ones left at their starts.');
    for (const partition of included) {
      // An extended partition's only content is the chain of logical ones: never wiped.
      if (isExtended(table, partition)) continue;
      const path = shellQuote(partition.device);
      lines.push(`  wait_for_device ${path}`, `  wipe_signatures ${path}`);
    }
  }
  lines.push('fi');
  return lines;
}

/** The table as `sfdisk --dump` writes it, which sfdisk reads back as is. */
function sfdiskInput(
  table: PartitionTable,
  sectorBytes: number,
  partitions: Partition[],
  id: string,
): string {
  const checkedId =
    table.type === 'gpt'
      ? checkSfdiskValue(table.id, GUID, 'GPT disk GUID', id)
      : checkSfdiskValue(table.id, DOS_DISK_ID, 'dos disk identifier', id);
  const header = [`label: ${table.type}`, `label-id: ${checkedId}`, 'unit: sectors'];
  if (table.type === 'gpt' && table.firstLba !== undefined) {
    header.push(`first-lba: ${checkPositiveInteger(table.firstLba, 'first-lba', id)}`);
  }
  if (table.type === 'gpt' && table.lastLba !== undefined) {
    header.push(`last-lba: ${checkPositiveInteger(table.lastLba, 'last-lba', id)}`);
  }
  header.push(`sector-size: ${sectorBytes}`);
  const lines = partitions.map((partition) => partitionLine(table, partition));
  return [...header, '', ...lines].join('\n');
}

function partitionLine(table: PartitionTable, partition: Partition): string {
  const owner = `part:${partition.device}`;
  const fields = [
    `start=${checkPositiveInteger(partition.start, 'start', owner)}`,
    `size=${checkPositiveInteger(partition.size, 'size', owner)}`,
  ];
  if (table.type === 'gpt') {
    fields.push(`type=${checkSfdiskValue(partition.type, GUID, 'type GUID', owner)}`);
    if (partition.uuid !== undefined) {
      fields.push(`uuid=${checkSfdiskValue(partition.uuid, GUID, 'partition GUID', owner)}`);
    }
    if (partition.name !== undefined && partition.name !== '') {
      fields.push(`name="${checkPartitionName(partition.name, owner)}"`);
    }
    if (partition.attrs !== undefined && partition.attrs !== '') {
      fields.push(`attrs="${checkSfdiskValue(partition.attrs, GPT_ATTRS, 'attributes', owner)}"`);
    }
  } else {
    fields.push(`type=${dosType(partition.type, owner)}`);
    if (partition.bootable === true) fields.push('bootable');
  }
  return `${partition.device} : ${fields.join(', ')}`;
}

function isExtended(table: PartitionTable, partition: Partition): boolean {
  return (
    table.type === 'dos' && DOS_EXTENDED.has(dosType(partition.type, `part:${partition.device}`))
  );
}

/** The dos type byte as sfdisk writes it: hex, lower case, no 0x. */
function dosType(type: string, owner: string): string {
  return checkSfdiskValue(type, DOS_TYPE, 'dos partition type', owner)
    .toLowerCase()
    .replace(/^0x/, '')
    .replace(/^0(?=.)/, '');
}

function checkSfdiskValue(value: unknown, pattern: RegExp, what: string, owner: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new RecreateError(`${owner}: ${what} ${JSON.stringify(value)} is not valid`);
  }
  return value;
}

/** sfdisk reads a name up to the next double quote and has no escape for one. */
function checkPartitionName(name: string, owner: string): string {
  if (/["\\]/.test(name) || commentText(name) !== name) {
    throw new RecreateError(
      `${owner}: partition name ${JSON.stringify(name)} cannot be written to sfdisk (a quote, backslash or control character)`,
      { hint: 'Rename the partition in the layout, or exclude it.' },
    );
  }
  return name;
}

/** The sectors the disk needs: the last partition's end, and for GPT its backup table. */
function requiredSectors(table: PartitionTable, partitions: Partition[]): number {
  const end = Math.max(0, ...partitions.map((partition) => partition.start + partition.size));
  if (table.type === 'dos') return end;
  return Math.max(end, (table.lastLba ?? 0) + 1) + GPT_BACKUP_SECTORS;
}
