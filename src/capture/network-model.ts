import type { NetworkInterface, NetworkRoute, NetworkSection } from './manifest.js';

/**
 * What one network configuration source (ifupdown, netplan, networkd, NetworkManager, the
 * kernel) contributes, and how contributions are merged into the `network` section: by interface
 * name, first source first. Arrays whose order means something keep it (the first address is the
 * primary one, the first DNS server is asked first); the others are sorted so that two captures
 * of one host are byte-identical.
 */

export interface NetworkFragment {
  interfaces: NetworkInterface[];
  routes: NetworkRoute[];
  dns: { servers: string[]; search: string[] };
  /** The files read (in the root), for configFiles. */
  files: string[];
  warnings: string[];
}

export function emptyFragment(): NetworkFragment {
  return { interfaces: [], routes: [], dns: { servers: [], search: [] }, files: [], warnings: [] };
}

export function newInterface(name: string): NetworkInterface {
  return { name, mac: null, addresses: [], dhcp: false, mtu: null, driver: null };
}

/** `items` without repeats, in first-seen order. */
export function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/** Two descriptions of one interface made one: lists joined, the first known value kept. */
export function mergeInterface(a: NetworkInterface, b: NetworkInterface): NetworkInterface {
  return {
    name: a.name,
    mac: a.mac ?? b.mac,
    addresses: unique([...a.addresses, ...b.addresses]),
    dhcp: a.dhcp || b.dhcp,
    mtu: a.mtu ?? b.mtu,
    driver: a.driver ?? b.driver,
  };
}

/** Interfaces merged by name, sorted by name. */
export function mergeInterfaces(interfaces: Iterable<NetworkInterface>): NetworkInterface[] {
  const byName = new Map<string, NetworkInterface>();
  for (const item of interfaces) {
    const known = byName.get(item.name);
    byName.set(item.name, known === undefined ? item : mergeInterface(known, item));
  }
  return [...byName.values()].sort((x, y) => compareText(x.name, y.name));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Routes without duplicates, default routes first, then by destination, gateway, device. */
export function sortRoutes(routes: Iterable<NetworkRoute>): NetworkRoute[] {
  const byKey = new Map<string, NetworkRoute>();
  for (const route of routes) {
    byKey.set(JSON.stringify([route.destination, route.gateway, route.device]), route);
  }
  const rank = (route: NetworkRoute) => (route.destination === 'default' ? 0 : 1);
  return [...byKey.values()].sort(
    (x, y) =>
      rank(x) - rank(y) ||
      compareText(x.destination, y.destination) ||
      compareText(x.gateway ?? '', y.gateway ?? '') ||
      compareText(x.device ?? '', y.device ?? ''),
  );
}

/** Fragments made one, in the order given (earlier sources win where a value is single). */
export function mergeFragments(fragments: readonly NetworkFragment[]): NetworkFragment {
  return {
    interfaces: mergeInterfaces(fragments.flatMap((f) => f.interfaces)),
    routes: sortRoutes(fragments.flatMap((f) => f.routes)),
    dns: {
      servers: unique(fragments.flatMap((f) => f.dns.servers)),
      search: unique(fragments.flatMap((f) => f.dns.search)),
    },
    files: unique(fragments.flatMap((f) => f.files)).sort(),
    warnings: fragments.flatMap((f) => f.warnings),
  };
}

/** The manifest section of a merged fragment. */
export function toSection(
  source: NetworkSection['source'],
  merged: NetworkFragment,
): NetworkSection {
  return {
    source,
    configFiles: unique(merged.files).sort(),
    interfaces: mergeInterfaces(merged.interfaces),
    routes: sortRoutes(merged.routes),
    dns: { servers: unique(merged.dns.servers), search: unique(merged.dns.search) },
  };
}
