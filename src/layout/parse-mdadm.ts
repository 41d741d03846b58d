import type { RaidArray } from './model.js';
import { exportLines, keyValueLines, numberOf, ToolOutputError } from './parse-util.js';

/**
 * An MD array from `mdadm --detail --export DEV` (level, members and their roles, UUID, name,
 * metadata) and `mdadm --detail DEV` (chunk size and layout, which the export leaves out).
 */
export function parseMdadm(device: string, exported: string, detail: string): RaidArray {
  const values = exportLines(exported);
  const level = values.get('MD_LEVEL');
  const uuid = values.get('MD_UUID');
  if (level === undefined || uuid === undefined)
    throw new ToolOutputError('mdadm', `${device}: no MD_LEVEL or MD_UUID in --detail --export`);
  const members: { device: string; role: number | 'spare' }[] = [];
  for (const [key, value] of values) {
    const match = /^MD_DEVICE_(.+)_ROLE$/.exec(key);
    if (!match) continue;
    const dev = values.get(`MD_DEVICE_${match[1]}_DEV`);
    if (dev === undefined) continue;
    members.push({ device: dev, role: value === 'spare' ? 'spare' : Number(value) });
  }
  const active = members
    .filter((m): m is { device: string; role: number } => m.role !== 'spare')
    .sort((a, b) => a.role - b.role)
    .map((m) => m.device);
  const spares = members
    .filter((m) => m.role === 'spare')
    .map((m) => m.device)
    .sort();
  const text = keyValueLines(detail, /\s:\s/);
  const chunk = /^(\d+)K$/.exec(text.get('Chunk Size') ?? '')?.[1];
  const layout = text.get('Layout');
  return {
    device,
    level,
    uuid,
    ...(values.get('MD_NAME') ? { name: values.get('MD_NAME') } : {}),
    metadata: values.get('MD_METADATA') ?? '1.2',
    ...(chunk !== undefined ? { chunkKiB: numberOf(chunk) } : {}),
    ...(layout ? { layout } : {}),
    devices: active,
    spares,
  };
}
