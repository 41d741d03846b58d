/**
 * LVM: physical volumes keep their UUIDs (pvcreate --uuid), volume groups are recreated by name
 * with their extent size, logical volumes by name with their size and segment type. vgcreate and
 * lvcreate cannot set a UUID, so VGs and LVs get new ones; nothing on a restored system names
 * them by UUID (fstab and crypttab use /dev/VG/LV or the file system's UUID, which is kept).
 */
import type { LogicalVolume, VolumeGroup } from './model.js';
import type { Component } from './recreate-graph.js';
import {
  checkDevicePath,
  checkLvmName,
  checkPositiveInteger,
  commentText,
  RecreateError,
  shellQuote,
} from './recreate-shell.js';

export function volumeGroupComponents(vg: VolumeGroup): Component[] {
  const name = checkLvmName(vg.name, `vg:${vg.name}`);
  const id = `vg:${name}`;
  const pvs = vg.physicalVolumes.map((pv) => ({
    ...pv,
    device: checkDevicePath(pv.device, `pv:${pv.device} of ${id}`),
  }));
  if (pvs.length === 0) throw new RecreateError(`${id} has no physical volumes`);

  const pvComponents = pvs.map(
    (pv): Component => ({
      id: `pv:${pv.device}`,
      provides: [],
      needs: [pv.device],
      tools: ['pvs', 'pvcreate', 'wipefs'],
      render: () => [
        `# pv:${pv.device}: LVM physical volume of ${id}`,
        `if pv_uuid_is ${shellQuote(pv.device)} ${shellQuote(pv.uuid)}; then`,
        `  say ${shellQuote(`LVM physical volume ${pv.device} exists, skipped`)}`,
        'else',
        `  say ${shellQuote(`creating LVM physical volume ${pv.device}`)}`,
        `  wipe_signatures ${shellQuote(pv.device)}`,
        // No metadata backup to restore from here: --norestorefile lets --uuid stand alone.
        `  run pvcreate --yes --uuid ${shellQuote(pv.uuid)} --norestorefile ${shellQuote(pv.device)}`,
        'fi',
      ],
    }),
  );

  const vgComponent: Component = {
    id,
    provides: [],
    needs: pvs.map((pv) => `pv:${pv.device}`),
    tools: ['vgs', 'vgcreate'],
    render: () => [
      `# ${id}: LVM volume group on ${pvs.map((pv) => pv.device).join(' ')}`,
      `# vgcreate cannot set a VG's UUID: ${name} is recreated by name and gets a new one.`,
      `if vgs ${shellQuote(name)} >/dev/null 2>&1; then`,
      `  say ${shellQuote(`LVM volume group ${name} exists, skipped`)}`,
      'else',
      `  say ${shellQuote(`creating LVM volume group ${name}`)}`,
      `  run vgcreate --physicalextentsize ${shellQuote(kibibytes(vg.extentSize, 'extent size', id))} ${shellQuote(name)} ${pvs.map((pv) => shellQuote(pv.device)).join(' ')}`,
      'fi',
    ],
  };

  const lvComponents = vg.logicalVolumes.map((lv) => logicalVolumeComponent(name, lv));
  return [...pvComponents, vgComponent, ...lvComponents];
}

function logicalVolumeComponent(vg: string, lv: LogicalVolume): Component {
  const name = checkLvmName(lv.name, `lv:${vg}/${lv.name}`);
  const id = `lv:${vg}/${name}`;
  const pool = lv.segtype === 'thin' ? checkLvmName(lv.pool, `${id} (its thin pool)`) : undefined;
  const path = `${vg}/${name}`;
  return {
    id,
    provides: [checkDevicePath(`/dev/${vg}/${name}`, id), mapperDevice(vg, name)],
    needs: pool === undefined ? [`vg:${vg}`] : [`vg:${vg}`, `lv:${vg}/${pool}`],
    tools: ['lvs', 'lvcreate', 'lvchange'],
    render: () => [
      `# ${id}: ${lv.segtype === 'thin' ? `thin volume in ${pool}` : lv.segtype} LV of ${lv.size} bytes`,
      `# lvcreate cannot set an LV's UUID (it was ${commentText(lv.uuid)}): the new LV gets a new one.`,
      `if lvs ${shellQuote(path)} >/dev/null 2>&1; then`,
      `  say ${shellQuote(`LVM logical volume ${path} exists, skipped`)}`,
      // After a reboot an existing LV may be inactive; what is built on it needs its device.
      `  run lvchange --activate y ${shellQuote(path)}`,
      'else',
      `  say ${shellQuote(`creating LVM logical volume ${path}`)}`,
      `  run lvcreate --yes ${lvcreateArguments(vg, lv, id, pool)}`,
      'fi',
    ],
  };
}

/** device-mapper's name for /dev/VG/LV: dashes doubled, joined by one dash. */
function mapperDevice(vg: string, lv: string): string {
  return `/dev/mapper/${vg.replaceAll('-', '--')}-${lv.replaceAll('-', '--')}`;
}

/**
 * The lvcreate options after --yes, by segment type. `stripes` is what lvs reports: for RAID
 * types it counts every image, parity and mirror legs included, which lvcreate's -i does not.
 */
function lvcreateArguments(
  vg: string,
  lv: LogicalVolume,
  id: string,
  pool: string | undefined,
): string {
  const size = shellQuote(`${checkPositiveInteger(lv.size, 'size', id)}b`);
  const stripes = lv.stripes ?? 1;
  const stripeSize =
    lv.stripeSize === undefined
      ? ''
      : ` -I ${shellQuote(kibibytes(lv.stripeSize, 'stripe size', id))}`;
  const named = `--name ${shellQuote(lv.name)}`;
  // Clear what an old LV at the same extents left, so the file system guard cannot be fooled.
  const sized = `--wipesignatures y ${named} --size ${size}`;
  const group = shellQuote(vg);
  const segtype = lv.segtype;
  if (segtype === 'linear') return `${sized} ${group}`;
  if (segtype === 'striped') return `${sized} -i ${shellQuote(stripes)}${stripeSize} ${group}`;
  if (segtype === 'raid1' || segtype === 'mirror') {
    // Legacy mirrors are recreated as raid1, LVM's own default for -m since 2.02.100: a legacy
    // mirror's disk log would need a PV of its own.
    return `--type raid1 -m ${shellQuote(Math.max(1, stripes - 1))} ${sized} ${group}`;
  }
  if (segtype === 'raid0' || segtype === 'raid0_meta' || /^raid[456]/.test(segtype)) {
    const parity = segtype.startsWith('raid6') ? 2 : segtype.startsWith('raid0') ? 0 : 1;
    const data = checkPositiveInteger(stripes - parity, 'data stripes', id);
    return `--type ${shellQuote(segtype)} -i ${shellQuote(data)}${stripeSize} ${sized} ${group}`;
  }
  if (segtype === 'raid10') {
    const data = checkPositiveInteger(Math.floor(stripes / 2), 'data stripes', id);
    return `--type raid10 -i ${shellQuote(data)} -m 1${stripeSize} ${sized} ${group}`;
  }
  if (segtype === 'thin-pool') return `--size ${size} --thinpool ${shellQuote(lv.name)} ${group}`;
  if (segtype === 'thin' && pool !== undefined) {
    // Unprovisioned blocks of a new pool read as zeros: nothing old to wipe.
    return `--type thin -V ${size} --thinpool ${shellQuote(pool)} ${named} ${group}`;
  }
  throw new RecreateError(
    `${id}: LVs of segment type ${JSON.stringify(segtype)} are not recreated`,
    {
      hint: `Exclude ${id} (EXCLUDE_RECREATE) and create it by hand after the rest.`,
    },
  );
}

/** LVM's size arguments for extents and stripes, in KiB (what they always are a multiple of). */
function kibibytes(bytes: number, what: string, id: string): string {
  const checked = checkPositiveInteger(bytes, what, id);
  if (checked % 1024 !== 0) throw new RecreateError(`${id}: ${what} ${bytes} is not whole KiB`);
  return `${checked / 1024}k`;
}
