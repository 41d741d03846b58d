import type {
  CaptureDiff,
  Change,
  ChangeKind,
  Detail,
  ItemKind,
  Scalar,
  SectionDiff,
} from './diff-model.js';
import { countOf, formatBytes, pluralOf } from './show-units.js';

/**
 * `lifeboat capture diff A B` as a report: a summary line, then one heading per section that
 * changed, each item on a line of its own starting with - (only in A), + (only in B) or
 * ~ (in both, different), so `grep '^  [+-~]'` or a glance at the margin finds them.
 */

/** Lines of one kind of one item kind before "… and N more": a kernel upgrade touches thousands. */
const SHOWN_PER_KIND = 50;

const SYMBOL: Record<ChangeKind, string> = { added: '+', removed: '-', changed: '~' };
// Removed before added, as diff prints them: an upgrade reads old line, then new line.
const KIND_ORDER: readonly ChangeKind[] = ['removed', 'added', 'changed'];

export function formatCaptureDiff(diff: CaptureDiff): string {
  if (!diff.changed) return 'Captures are identical.\n';
  const blocks = [
    `Captures differ: ${summarizeCaptureDiff(diff)}.`,
    ...diff.sections.map((section) => [section.title, ...sectionLines(section)].join('\n')),
  ];
  return `${blocks.join('\n\n')}\n`;
}

/** "3 programs, 12 files, 2 modules changed", counting each added, removed or changed item. */
export function summarizeCaptureDiff(diff: CaptureDiff): string {
  const counts = new Map<ItemKind, number>();
  for (const section of diff.sections) {
    for (const change of section.changes) {
      counts.set(change.item, (counts.get(change.item) ?? 0) + 1);
    }
  }
  if (counts.size === 0) return 'no changes';
  const parts = [...counts].map(([item, count]) => countOf(count, item));
  return `${parts.join(', ')} changed`;
}

/** Grouped by item kind (modules apart from firmware), then removed, added, changed. */
function sectionLines(section: SectionDiff): string[] {
  const lines: string[] = [];
  const items = [...new Set(section.changes.map((change) => change.item))];
  for (const item of items) {
    for (const kind of KIND_ORDER) {
      const group = section.changes.filter((c) => c.item === item && c.kind === kind);
      lines.push(...group.slice(0, SHOWN_PER_KIND).map(changeLine));
      const more = group.length - SHOWN_PER_KIND;
      if (more > 0) lines.push(`    … and ${more} more ${pluralOf(item)} ${kind}`);
    }
  }
  return lines;
}

function changeLine(change: Change): string {
  const symbol = SYMBOL[change.kind];
  if (change.kind !== 'changed') {
    const note = change.note === undefined ? '' : ` (${change.note})`;
    return `  ${symbol} ${change.subject}${note}`;
  }
  return `  ${symbol} ${change.subject}: ${change.details.map(detailText).join(', ')}`;
}

function detailText(detail: Detail): string {
  switch (detail.kind) {
    case 'value': {
      const values = `${scalarText(detail.from)} → ${scalarText(detail.to)}`;
      return detail.field === '' ? values : `${detail.field} ${values}`;
    }
    case 'set': {
      const members = [
        ...detail.removed.map((m) => `-${m}`),
        ...detail.added.map((m) => `+${m}`),
        ...detail.changed.map((m) => `~${m}`),
      ];
      return `${detail.field} ${members.join(' ')}`;
    }
    case 'content': {
      const { from, to } = detail;
      const sizes =
        from.size === to.size
          ? `${formatBytes(to.size)}, same size`
          : `${formatBytes(from.size)} → ${formatBytes(to.size)}`;
      return `content changed (${sizes})`;
    }
  }
}

function scalarText(value: Scalar): string {
  if (value === null) return 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === '') return '""';
  return String(value);
}
