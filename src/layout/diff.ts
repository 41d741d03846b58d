import type { Disk, Layout } from './model.js';

/**
 * What changed between two layouts, component by component, matched by stable ids rather than
 * device names: a disk by its serial or WWN (else its name), a partition by its GPT PARTUUID
 * (else disk and number), an MD array, LUKS volume, file system or swap by its UUID, a volume
 * group and logical volume by name. A disk that became /dev/vdb but kept its serial is no
 * change; a device name is reported only when nothing stable names the component.
 *
 * `recreated` compares what recreation promises to keep: UUIDs of PVs, VGs and LVs are new after
 * vgcreate and lvcreate, so they are left out, and sizes may differ by the alignment the tools
 * apply (one extent for LVs).
 */
export interface LayoutChange {
  /** `disk serial d1`, `fs 1234-...`, `lv vg0/root` */
  component: string;
  what: string;
}

export interface LayoutDiffOptions {
  recreated?: boolean;
}

export function diffLayouts(
  before: Layout,
  after: Layout,
  options: LayoutDiffOptions = {},
): LayoutChange[] {
  const changes: LayoutChange[] = [];
  const note = (component: string, what: string) => changes.push({ component, what });

  // Device names in `after` that stand for a device of `before` (a disk renamed vda → vdb).
  const names = new Map<string, string>();
  const diskKey = (d: Disk) =>
    d.serial ? `serial ${d.serial}` : d.wwn ? `wwn ${d.wwn}` : `device ${d.device}`;
  const beforeDisks = new Map(before.disks.map((d) => [diskKey(d), d]));
  const afterDisks = new Map(after.disks.map((d) => [diskKey(d), d]));
  for (const [key, old] of beforeDisks) {
    const now = afterDisks.get(key);
    const component = `disk ${key}`;
    if (!now) {
      note(component, 'gone');
      continue;
    }
    names.set(now.device, old.device);
    if (now.size !== old.size) note(component, `size ${old.size} → ${now.size}`);
    if ((old.table?.type ?? 'none') !== (now.table?.type ?? 'none'))
      note(
        component,
        `partition table ${old.table?.type ?? 'none'} → ${now.table?.type ?? 'none'}`,
      );
    else if (old.table && now.table && old.table.id.toLowerCase() !== now.table.id.toLowerCase())
      note(component, `table id ${old.table.id} → ${now.table.id}`);
    const parts = (d: Disk) =>
      new Map((d.table?.partitions ?? []).map((p) => [p.uuid ?? `number ${p.number}`, p]));
    const oldParts = parts(old);
    const nowParts = parts(now);
    for (const [id, p] of oldParts) {
      const q = nowParts.get(id);
      const pc = `partition ${p.uuid ? p.uuid : `${p.number} of ${key}`}`;
      if (!q) {
        note(pc, 'gone');
        continue;
      }
      names.set(q.device, p.device);
      fields(p, q, ['start', 'size', 'type', 'name', 'attrs', 'bootable'], pc, note);
    }
    for (const [id] of nowParts) if (!oldParts.has(id)) note(`partition ${id} of ${key}`, 'new');
  }
  for (const key of afterDisks.keys()) if (!beforeDisks.has(key)) note(`disk ${key}`, 'new');

  // The name a device of `after` had in `before`, for members and devices underneath.
  const same = (device: string) => names.get(device) ?? device;

  compareById(
    before.raids,
    after.raids,
    (r) => r.uuid,
    'raid',
    (old, now, c) => {
      fields(old, now, ['level', 'metadata', 'chunkKiB', 'layout', 'name'], c, note);
      const members = now.devices.map(same).join(' ');
      if (old.devices.join(' ') !== members)
        note(c, `members ${old.devices.join(' ')} → ${members}`);
    },
    note,
  );

  compareById(
    before.volumeGroups,
    after.volumeGroups,
    (g) => g.name,
    'vg',
    (old, now, c) => {
      if (!options.recreated && old.uuid !== now.uuid) note(c, `uuid ${old.uuid} → ${now.uuid}`);
      if (old.extentSize !== now.extentSize)
        note(c, `extent size ${old.extentSize} → ${now.extentSize}`);
      const pvs = (g: typeof old, map: (d: string) => string) =>
        g.physicalVolumes
          .map((p) => `${map(p.device)}${options.recreated ? '' : `:${p.uuid}`}`)
          .sort()
          .join(' ');
      if (pvs(old, (d) => d) !== pvs(now, same))
        note(c, `physical volumes ${pvs(old, (d) => d)} → ${pvs(now, same)}`);
      compareById(
        old.logicalVolumes,
        now.logicalVolumes,
        (l) => l.name,
        `lv ${old.name}/`,
        (a, b, lc) => {
          if (!options.recreated && a.uuid !== b.uuid) note(lc, `uuid ${a.uuid} → ${b.uuid}`);
          const slack = options.recreated ? old.extentSize : 0;
          if (Math.abs(a.size - b.size) > slack) note(lc, `size ${a.size} → ${b.size}`);
          if (a.segtype !== b.segtype) note(lc, `segtype ${a.segtype} → ${b.segtype}`);
          if ((a.pool ?? '') !== (b.pool ?? ''))
            note(lc, `pool ${a.pool ?? '-'} → ${b.pool ?? '-'}`);
        },
        note,
      );
    },
    note,
  );

  compareById(
    before.encrypted,
    after.encrypted,
    (l) => l.uuid,
    'luks',
    (old, now, c) => {
      fields(
        old,
        now,
        ['version', 'cipher', 'keySize', 'hash', 'pbkdf', 'label', 'mapping'],
        c,
        note,
      );
      if (old.device !== same(now.device)) note(c, `on ${old.device} → ${now.device}`);
    },
    note,
  );

  compareById(
    before.filesystems,
    after.filesystems,
    (f) => f.uuid,
    'fs',
    (old, now, c) => {
      fields(old, now, ['type', 'label'], c, note);
      if (old.device !== same(now.device)) note(c, `on ${old.device} → ${now.device}`);
      const a = JSON.stringify(old.options);
      const b = JSON.stringify(now.options);
      if (a !== b) note(c, `options ${a} → ${b}`);
      const subs = (f: typeof old) => (f.subvolumes ?? []).join(' ');
      if (subs(old) !== subs(now)) note(c, `subvolumes ${subs(old)} → ${subs(now)}`);
      if ((old.defaultSubvolume ?? '') !== (now.defaultSubvolume ?? ''))
        note(
          c,
          `default subvolume ${old.defaultSubvolume ?? '-'} → ${now.defaultSubvolume ?? '-'}`,
        );
    },
    note,
  );

  compareById(
    before.swaps,
    after.swaps,
    (s) => s.uuid ?? s.device,
    'swap',
    (old, now, c) => fields(old, now, ['label'], c, note),
    note,
  );
  return changes;
}

/** Notes each of `keys` whose value differs (missing values compare as empty). */
function fields<T extends object>(
  old: T,
  now: T,
  keys: readonly (keyof T)[],
  component: string,
  note: (component: string, what: string) => void,
): void {
  for (const key of keys) {
    const a = old[key] as unknown;
    const b = now[key] as unknown;
    if (String(a ?? '') !== String(b ?? ''))
      note(component, `${String(key)} ${String(a ?? '-')} → ${String(b ?? '-')}`);
  }
}

function compareById<T>(
  before: readonly T[],
  after: readonly T[],
  id: (item: T) => string,
  kind: string,
  compare: (old: T, now: T, component: string) => void,
  note: (component: string, what: string) => void,
): void {
  const now = new Map(after.map((item) => [id(item), item]));
  const was = new Set(before.map(id));
  const component = (key: string) => (kind.endsWith('/') ? `${kind}${key}` : `${kind} ${key}`);
  for (const item of before) {
    const match = now.get(id(item));
    if (match === undefined) note(component(id(item)), 'gone');
    else compare(item, match, component(id(item)));
  }
  for (const key of now.keys()) if (!was.has(key)) note(component(key), 'new');
}

export function formatLayoutChanges(changes: readonly LayoutChange[]): string {
  return changes.map((c) => `${c.component}: ${c.what}\n`).join('');
}
