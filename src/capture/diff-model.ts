/**
 * The shape of a capture diff, and the keyed comparisons every section is built from.
 *
 * Items are matched by a stable key (a program's name, a file's path, an interface's name), never
 * by position: the manifest sorts its arrays, but a sort order is not an identity, and an item
 * added at the front must not make everything after it look changed.
 */

export type ChangeKind = 'added' | 'removed' | 'changed';

/** What a change is about; counted per kind in the one-line summary ("3 programs, 2 files"). */
export type ItemKind =
  | 'identity field'
  | 'program'
  | 'library'
  | 'copy-as-is path'
  | 'kernel field'
  | 'module'
  | 'firmware file'
  | 'network setting'
  | 'interface'
  | 'route'
  | 'DNS entry'
  | 'bootloader setting'
  | 'EFI entry'
  | 'file'
  | 'warning';

export type Scalar = string | number | boolean | null;

export type Detail =
  /** One value replaced: `mode 0644 → 0600`. An empty field names the subject itself. */
  | { kind: 'value'; field: string; from: Scalar; to: Scalar }
  /** Members of an unordered list: `addresses -192.0.2.10/24 +192.0.2.11/24`. */
  | { kind: 'set'; field: string; added: string[]; removed: string[]; changed: string[] }
  /** A regular file's bytes. */
  | {
      kind: 'content';
      from: { sha256: string; size: number };
      to: { sha256: string; size: number };
    };

export interface Change {
  kind: ChangeKind;
  item: ItemKind;
  /** What the line is about, as printed: "curl", "/etc/ssh/sshd_config", "module ext4". */
  subject: string;
  /** Added or removed: a short description of the item ("/usr/bin/rsync, optional"). */
  note?: string;
  /** Changed: what changed, in a fixed order per section. Empty for added and removed. */
  details: Detail[];
}

export type SectionName =
  | 'identity'
  | 'programs'
  | 'libraries'
  | 'copyAsIs'
  | 'kernel'
  | 'network'
  | 'bootloader'
  | 'files'
  | 'warnings';

export interface SectionDiff {
  section: SectionName;
  title: string;
  /** In key order; never empty (sections without changes are left out). */
  changes: Change[];
}

export interface CaptureDiff {
  changed: boolean;
  sections: SectionDiff[];
}

// --- comparisons -----------------------------------------------------------------------------

/** [] when equal, else the one value detail. */
export function valueDetail(field: string, from: Scalar, to: Scalar): Detail[] {
  return from === to ? [] : [{ kind: 'value', field, from, to }];
}

/** [] when both lists hold the same members (order and duplicates ignored). */
export function setDetail(field: string, from: readonly string[], to: readonly string[]): Detail[] {
  const { added, removed } = setDifference(from, to);
  return added.length === 0 && removed.length === 0
    ? []
    : [{ kind: 'set', field, added, removed, changed: [] }];
}

export function setDifference(
  from: readonly string[],
  to: readonly string[],
): { added: string[]; removed: string[] } {
  const before = new Set(from);
  const after = new Set(to);
  return {
    added: [...after].filter((x) => !before.has(x)).sort(),
    removed: [...before].filter((x) => !after.has(x)).sort(),
  };
}

export interface KeyedSpec<T> {
  item: ItemKind;
  key: (value: T) => string;
  /** The printed subject for a key; the key itself by default. */
  subject?: (key: string) => string;
  /** Description of an added or removed item. */
  note?: (value: T) => string | undefined;
  /** What changed between two items with the same key; [] when nothing did. */
  compare: (from: T, to: T) => Detail[];
}

/** Changes between two lists of items matched by key, in key order. */
export function diffKeyed<T>(from: readonly T[], to: readonly T[], spec: KeyedSpec<T>): Change[] {
  const before = new Map(from.map((value) => [spec.key(value), value]));
  const after = new Map(to.map((value) => [spec.key(value), value]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: Change[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    const subject = spec.subject?.(key) ?? key;
    if (a === undefined && b !== undefined) {
      changes.push(withNote({ kind: 'added', item: spec.item, subject, details: [] }, spec, b));
    } else if (a !== undefined && b === undefined) {
      changes.push(withNote({ kind: 'removed', item: spec.item, subject, details: [] }, spec, a));
    } else if (a !== undefined && b !== undefined) {
      const details = spec.compare(a, b);
      if (details.length > 0) changes.push({ kind: 'changed', item: spec.item, subject, details });
    }
  }
  return changes;
}

function withNote<T>(change: Change, spec: KeyedSpec<T>, value: T): Change {
  const note = spec.note?.(value);
  return note === undefined ? change : { ...change, note };
}

/** Members of a plain list added or removed, each its own line ("+ dns server 192.0.2.53"). */
export function diffMembers(
  from: readonly string[],
  to: readonly string[],
  item: ItemKind,
  subject: (member: string) => string = (member) => member,
): Change[] {
  return diffKeyed(from, to, {
    item,
    key: (member) => member,
    subject,
    compare: () => [],
  });
}

/** Named scalar fields compared one by one: each changed one is a line of its own. */
export function diffFields(item: ItemKind, fields: readonly [string, Scalar, Scalar][]): Change[] {
  return fields.flatMap(([name, from, to]) =>
    valueDetail('', from, to).map(
      (detail): Change => ({ kind: 'changed', item, subject: name, details: [detail] }),
    ),
  );
}
