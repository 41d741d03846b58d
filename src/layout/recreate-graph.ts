/**
 * The recreate script's dependency graph: each component (a disk's partition table, a
 * partition, a RAID array, a PV, a VG, an LV, a LUKS volume, a file system, a swap area) names
 * the devices and components it is built on and the devices it makes appear. Planning resolves
 * those names, drops the excluded components with everything built on them, and orders the rest
 * so each block runs after what it needs.
 */
import { RecreateError } from './recreate-shell.js';

export interface Component {
  /** kind:name (disk:/dev/vda, lv:vg0/root). */
  id: string;
  /** The device paths that exist once this component is recreated. */
  provides: string[];
  /** What it is built on: device paths (/dev/...) or component ids. */
  needs: string[];
  /** The programs its block runs, checked before the script touches any disk. */
  tools: string[];
  /** The guarded bash block, one line per element. */
  render(context: RenderContext): string[];
}

export interface RenderContext {
  /** Whether a component is left out of the script (a disk leaves excluded partitions out). */
  isExcluded(id: string): boolean;
}

export interface Exclusion {
  id: string;
  /** Why, for the script's comment: the exclude entry, or the excluded component it needs. */
  reason: string;
}

export interface Plan {
  /** The components to recreate, dependencies first. */
  ordered: Component[];
  /** The components left out, in the order they were found. */
  excluded: Exclusion[];
}

/** Byte order of the UTF-8 ids: the tie-break that keeps the order stable across runs. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isDevicePath(need: string): boolean {
  return need.startsWith('/');
}

export function planComponents(components: Component[], exclude: readonly string[]): Plan {
  const byId = indexById(components);
  const providerOf = indexProviders(components);

  // Resolved edges (component → the components it needs), and the names nobody provides.
  const dependencies = new Map<string, string[]>();
  const unresolved = new Map<string, string[]>();
  for (const component of components) {
    const resolved: string[] = [];
    for (const need of component.needs) {
      const provider = isDevicePath(need)
        ? providerOf.get(need)
        : byId.has(need)
          ? need
          : undefined;
      if (provider === undefined) {
        unresolved.set(component.id, [...(unresolved.get(component.id) ?? []), need]);
      } else if (provider !== component.id && !resolved.includes(provider)) {
        resolved.push(provider);
      }
    }
    dependencies.set(component.id, resolved.sort(compareIds));
  }

  const excluded = excludedClosure(exclude, byId, providerOf, dependencies);
  const isExcluded = new Set(excluded.map((exclusion) => exclusion.id));

  // A missing dependency only matters for what is still recreated: excluding the component that
  // needs it is the way past a layout that names a device outside it.
  for (const [id, needs] of unresolved) {
    if (isExcluded.has(id)) continue;
    throw new RecreateError(
      `${id} needs ${needs.join(', ')}, which no component of the layout provides`,
      { hint: `Add it to the layout, or exclude ${id} (EXCLUDE_RECREATE) to recreate the rest.` },
    );
  }

  const remaining = components.filter((component) => !isExcluded.has(component.id));
  const ordered = topologicalOrder(remaining, dependencies).map((id) => byId.get(id) as Component);
  return { ordered, excluded };
}

function indexById(components: Component[]): Map<string, Component> {
  const byId = new Map<string, Component>();
  for (const component of components) {
    if (byId.has(component.id)) {
      throw new RecreateError(`The layout has ${component.id} twice`);
    }
    byId.set(component.id, component);
  }
  return byId;
}

function indexProviders(components: Component[]): Map<string, string> {
  const providerOf = new Map<string, string>();
  for (const component of components) {
    for (const device of component.provides) {
      const other = providerOf.get(device);
      if (other !== undefined && other !== component.id) {
        throw new RecreateError(`${device} is provided by both ${other} and ${component.id}`);
      }
      providerOf.set(device, component.id);
    }
  }
  return providerOf;
}

/**
 * The exclude entries (component ids or device paths) and, transitively, every component built
 * on one of them. An entry that matches nothing is an error: a typo there must not quietly
 * recreate (wipe) what was meant to be kept.
 */
function excludedClosure(
  exclude: readonly string[],
  byId: Map<string, Component>,
  providerOf: Map<string, string>,
  dependencies: Map<string, string[]>,
): Exclusion[] {
  const dependents = new Map<string, string[]>();
  for (const [id, needs] of dependencies) {
    for (const need of needs) dependents.set(need, [...(dependents.get(need) ?? []), id]);
  }

  const excluded: Exclusion[] = [];
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const entry of exclude) {
    const id = byId.has(entry) ? entry : providerOf.get(entry);
    if (id === undefined) {
      throw new RecreateError(
        `Exclude entry ${JSON.stringify(entry)} matches no component or device of the layout`,
        { hint: 'Use a component id (lv:vg0/home) or a device path (/dev/vg0/home).' },
      );
    }
    if (seen.has(id)) continue;
    seen.add(id);
    // The entry equals a checked id or device path, so it is safe to show in a comment.
    excluded.push({ id, reason: entry === id ? 'excluded' : `excluded as ${entry}` });
    queue.push(id);
  }
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const dependent of [...(dependents.get(id) ?? [])].sort(compareIds)) {
      if (seen.has(dependent)) continue;
      seen.add(dependent);
      excluded.push({ id: dependent, reason: `built on ${id}, which is excluded` });
      queue.push(dependent);
    }
  }
  return excluded;
}

/**
 * Kahn's algorithm, always taking the smallest ready id: dependencies first, and otherwise the
 * same byte order every time, so the same layout gives the same script.
 */
function topologicalOrder(components: Component[], dependencies: Map<string, string[]>): string[] {
  const waitingOn = new Map<string, Set<string>>();
  for (const component of components) {
    waitingOn.set(component.id, new Set(dependencies.get(component.id)));
  }
  const order: string[] = [];
  while (waitingOn.size > 0) {
    const ready = [...waitingOn].filter(([, needs]) => needs.size === 0).map(([id]) => id);
    if (ready.length === 0) throw new RecreateError(`Dependency cycle: ${findCycle(waitingOn)}`);
    const next = ready.sort(compareIds)[0] as string;
    order.push(next);
    waitingOn.delete(next);
    for (const needs of waitingOn.values()) needs.delete(next);
  }
  return order;
}

/** Every component left waits on another one left, so walking those edges must loop. */
function findCycle(waitingOn: Map<string, Set<string>>): string {
  const path: string[] = [];
  let current = [...waitingOn.keys()].sort(compareIds)[0] as string;
  while (!path.includes(current)) {
    path.push(current);
    current = [...(waitingOn.get(current) ?? [])].sort(compareIds)[0] as string;
  }
  return [...path.slice(path.indexOf(current)), current].join(' → ');
}
