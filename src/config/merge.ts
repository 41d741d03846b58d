import type { Operation, Origin } from './layer.js';

/**
 * Applies layer operations in order (later wins) and remembers, for every key, which layers
 * made its value what it is: a `set` starts the list again, `+` and `-` add to it.
 */
export interface Merged {
  values: Record<string, unknown>;
  origins: Map<string, Origin[]>;
}

export function emptyMerged(): Merged {
  return { values: {}, origins: new Map() };
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export function applyOperations(merged: Merged, operations: readonly Operation[]): void {
  for (const op of operations) {
    const parentPath = op.path.slice(0, -1);
    const leaf = op.path.at(-1);
    if (leaf === undefined) continue;
    let parent = merged.values;
    for (const key of parentPath) {
      const next = parent[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) parent[key] = {};
      parent = parent[key] as Record<string, unknown>;
    }
    const dotted = op.path.join('.');
    const current = Array.isArray(parent[leaf]) ? (parent[leaf] as unknown[]) : [];
    const items = op.value as unknown[];
    switch (op.kind) {
      case 'set':
        parent[leaf] = structuredClone(op.value);
        merged.origins.set(dotted, [op.origin]);
        break;
      case 'append':
        // A list is a set of names: appending one that is there already changes nothing.
        parent[leaf] = [
          ...current,
          ...items.filter(
            (item, i) =>
              !current.some((c) => sameValue(c, item)) &&
              items.findIndex((x) => sameValue(x, item)) === i,
          ),
        ];
        merged.origins.set(dotted, [...(merged.origins.get(dotted) ?? []), op.origin]);
        break;
      case 'remove':
        parent[leaf] = current.filter((c) => !items.some((item) => sameValue(c, item)));
        merged.origins.set(dotted, [...(merged.origins.get(dotted) ?? []), op.origin]);
        break;
    }
  }
}

/** The value at a dotted key path, or undefined. */
export function valueAt(values: Record<string, unknown>, dotted: string): unknown {
  let current: unknown = values;
  for (const key of dotted.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
