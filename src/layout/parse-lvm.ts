import type { LogicalVolume, VolumeGroup } from './model.js';
import { numberOf, parseJson, ToolOutputError, textOf } from './parse-util.js';

/**
 * LVM's JSON reports (`pvs`/`vgs`/`lvs --reportformat json --units b --nosuffix -o ...`), the
 * fields named in LVM_REPORT_FIELDS. Values come as strings; sizes in bytes.
 */
export const LVM_REPORT_FIELDS = {
  pvs: 'pv_name,pv_uuid,vg_name,pv_size,pe_start',
  vgs: 'vg_name,vg_uuid,vg_extent_size,vg_size',
  lvs: 'lv_name,vg_name,lv_uuid,lv_size,segtype,stripes,stripe_size,pool_lv,lv_layout,lv_dm_path,devices',
} as const;

function rows(tool: string, text: string, kind: 'pv' | 'vg' | 'lv'): Record<string, unknown>[] {
  const json = parseJson(tool, text) as { report?: Record<string, unknown>[] };
  const report = json.report?.[0]?.[kind];
  if (!Array.isArray(report)) throw new ToolOutputError(tool, `no report of ${kind}s`);
  return report as Record<string, unknown>[];
}

export interface LvmReports {
  pvs: string;
  vgs: string;
  lvs: string;
}

/** Volume groups with their PVs and LVs; also the device-mapper path of each LV. */
export function parseLvmReports(reports: LvmReports): {
  volumeGroups: VolumeGroup[];
  /** /dev/mapper/vg0-root → /dev/vg0/root */
  dmPaths: Map<string, string>;
} {
  const groups = new Map<string, VolumeGroup>();
  for (const vg of rows('vgs', reports.vgs, 'vg')) {
    const name = textOf(vg.vg_name);
    if (name === undefined) continue;
    groups.set(name, {
      name,
      uuid: textOf(vg.vg_uuid) ?? '',
      extentSize: numberOf(vg.vg_extent_size) ?? 0,
      physicalVolumes: [],
      logicalVolumes: [],
    });
  }
  for (const pv of rows('pvs', reports.pvs, 'pv')) {
    const group = groups.get(textOf(pv.vg_name) ?? '');
    const device = textOf(pv.pv_name);
    if (group && device) group.physicalVolumes.push({ device, uuid: textOf(pv.pv_uuid) ?? '' });
  }
  const dmPaths = new Map<string, string>();
  for (const lv of rows('lvs', reports.lvs, 'lv')) {
    const vgName = textOf(lv.vg_name) ?? '';
    const group = groups.get(vgName);
    const name = textOf(lv.lv_name);
    // [name]: hidden sub-volumes (a thin pool's _tdata, a mirror's images) come with their owner.
    if (!group || name === undefined || name.startsWith('[')) continue;
    const dm = textOf(lv.lv_dm_path);
    if (dm) dmPaths.set(dm, `/dev/${vgName}/${name}`);
    const segtype = textOf(lv.segtype) ?? 'linear';
    const stripes = numberOf(lv.stripes);
    const stripeSize = numberOf(lv.stripe_size);
    const volume: LogicalVolume = {
      name,
      uuid: textOf(lv.lv_uuid) ?? '',
      size: numberOf(lv.lv_size) ?? 0,
      segtype,
      ...(segtype === 'striped' && stripes !== undefined ? { stripes } : {}),
      ...(segtype === 'striped' && stripeSize ? { stripeSize } : {}),
      ...(textOf(lv.pool_lv) ? { pool: textOf(lv.pool_lv) } : {}),
    };
    group.logicalVolumes.push(volume);
  }
  const volumeGroups = [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const group of volumeGroups) {
    group.physicalVolumes.sort((a, b) => (a.device < b.device ? -1 : 1));
    group.logicalVolumes.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  return { volumeGroups, dmPaths };
}
