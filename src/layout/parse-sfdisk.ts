import type { PartitionTable } from './model.js';
import { compact, numberOf, parseJson, ToolOutputError, textOf } from './parse-util.js';

/** `sfdisk --json DISK`: the partition table, positions in sectors. */
export function parseSfdiskJson(text: string): PartitionTable {
  const json = parseJson('sfdisk', text) as { partitiontable?: Record<string, unknown> };
  const table = json.partitiontable;
  if (table === undefined) throw new ToolOutputError('sfdisk', 'no "partitiontable"');
  const label = table.label;
  if (label !== 'gpt' && label !== 'dos')
    throw new ToolOutputError('sfdisk', `partition table type ${String(label)} is not gpt or dos`);
  const partitions = (Array.isArray(table.partitions) ? table.partitions : []).map((raw) => {
    const p = raw as Record<string, unknown>;
    const node = textOf(p.node);
    const start = numberOf(p.start);
    const size = numberOf(p.size);
    if (node === undefined || start === undefined || size === undefined)
      throw new ToolOutputError('sfdisk', 'a partition without node, start or size');
    const number = Number(/(\d+)$/.exec(node)?.[1]);
    return {
      device: node,
      number,
      start,
      size,
      type: String(p.type ?? '').toUpperCase(),
      ...(label === 'gpt'
        ? { uuid: textOf(p.uuid)?.toUpperCase(), name: textOf(p.name), attrs: textOf(p.attrs) }
        : { bootable: p.bootable === true }),
    };
  });
  return {
    type: label,
    id: String(table.id ?? ''),
    ...(numberOf(table.firstlba) !== undefined ? { firstLba: numberOf(table.firstlba) } : {}),
    ...(numberOf(table.lastlba) !== undefined ? { lastLba: numberOf(table.lastlba) } : {}),
    partitions: partitions.map(compact),
  };
}
