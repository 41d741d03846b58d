import { posix } from 'node:path';
import { parseDocument } from 'yaml';
import type { RootView } from './fs-root.js';
import { normalizeDnsServer, normalizeMac, toCidr, toDestination, toIp } from './network-addr.js';
import { parseRootFile } from './network-files.js';
import {
  emptyFragment,
  mergeFragments,
  type NetworkFragment,
  newInterface,
} from './network-model.js';

/**
 * Netplan (Ubuntu): YAML in /lib/netplan, /etc/netplan and /run/netplan (netplan-generate(8)).
 * A file shadows a file of the same name in a directory read earlier; the rest are read in
 * file-name order, each adding to and overriding the ones before. Netplan itself only writes
 * networkd or NetworkManager files under /run, which a captured root does not have, so the YAML
 * is the configuration.
 */

/** In shadowing order: a name in a later directory replaces the same name in an earlier one. */
const NETPLAN_DIRS = ['/lib/netplan', '/etc/netplan', '/run/netplan'];
/** Device kinds with IP configuration a rescue system can recreate (not wifis, modems, tunnels). */
const DEVICE_KINDS = ['ethernets', 'bonds', 'bridges', 'vlans'];

type Yaml = Record<string, unknown>;

function isMapping(value: unknown): value is Yaml {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Netplan reads YAML 1.1 booleans (yes/on/true); the yaml package reads 1.2, where yes is text. */
function isTrue(value: unknown): boolean {
  return value === true || ['true', 'yes', 'on', 'y'].includes(String(value).toLowerCase());
}

/** One netplan file parsed; throws on YAML errors and when `network` is not a mapping. */
export function parseNetplanYaml(text: string): Yaml {
  const document = parseDocument(text);
  const [error] = document.errors;
  if (error !== undefined) throw new Error(error.message.split('\n')[0]);
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {}; // an empty file
  if (!isMapping(value)) throw new Error('the document is not a mapping');
  if (value.network !== undefined && value.network !== null && !isMapping(value.network)) {
    throw new Error('`network` is not a mapping');
  }
  return value;
}

/** Netplan's merge of a later file into the earlier ones: mappings merge, lists add, scalars replace. */
export function mergeNetplan(base: unknown, next: unknown): unknown {
  if (isMapping(base) && isMapping(next)) {
    const merged: Yaml = { ...base };
    for (const [key, value] of Object.entries(next)) merged[key] = mergeNetplan(base[key], value);
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(next)) return [...base, ...next];
  return next === undefined ? base : next;
}

/** `addresses:` entries are `10.0.0.5/24` or `{10.0.0.5/24: {lifetime: 0, label: x}}`. */
function addressTexts(value: unknown): string[] {
  return list(value).flatMap((entry) => {
    if (isMapping(entry)) return Object.keys(entry);
    const text = scalarText(entry);
    return text === undefined ? [] : [text];
  });
}

/** What one device definition says. */
function deviceFragment(kind: string, id: string, device: Yaml): NetworkFragment {
  const fragment = emptyFragment();
  const where = `netplan ${kind}.${id}`;
  const match = isMapping(device.match) ? device.match : {};
  // `id` is only a label when the device is matched by other properties and renamed.
  const name = scalarText(device['set-name']) ?? scalarText(match.name) ?? id;
  const item = newInterface(name);
  const mac = scalarText(match.macaddress) ?? scalarText(device.macaddress);
  item.mac = mac === undefined ? null : (normalizeMac(mac) ?? null);
  item.dhcp = isTrue(device.dhcp4) || isTrue(device.dhcp6);
  item.mtu = typeof device.mtu === 'number' ? device.mtu : null;
  for (const text of addressTexts(device.addresses)) {
    const cidr = toCidr(text);
    if (cidr === undefined) fragment.warnings.push(`${where}: bad address ${text}`);
    else item.addresses.push(cidr);
  }
  for (const key of ['gateway4', 'gateway6']) {
    const gateway = toIp(scalarText(device[key]) ?? '');
    if (gateway !== undefined)
      fragment.routes.push({ destination: 'default', gateway, device: name });
  }
  for (const route of list(device.routes).filter(isMapping)) {
    const destination = toDestination(scalarText(route.to) ?? '');
    const via = scalarText(route.via);
    const gateway = via === undefined ? null : toIp(via);
    if (destination === undefined || gateway === undefined) {
      fragment.warnings.push(`${where}: bad route to ${String(route.to)} via ${String(via)}`);
      continue;
    }
    fragment.routes.push({ destination, gateway, device: name });
  }
  const nameservers = isMapping(device.nameservers) ? device.nameservers : {};
  for (const server of list(nameservers.addresses)) {
    const ip = normalizeDnsServer(scalarText(server) ?? '');
    if (ip !== undefined) fragment.dns.servers.push(ip);
  }
  fragment.dns.search.push(...list(nameservers.search).flatMap((d) => scalarText(d) ?? []));
  fragment.interfaces.push(item);
  return fragment;
}

/** The interfaces of a (merged) netplan document. */
export function netplanFragment(document: Yaml): NetworkFragment {
  const network = isMapping(document.network) ? document.network : {};
  const fragments: NetworkFragment[] = [];
  for (const kind of DEVICE_KINDS) {
    const devices = isMapping(network[kind]) ? network[kind] : {};
    for (const id of Object.keys(devices).sort()) {
      const device = devices[id];
      if (isMapping(device)) fragments.push(deviceFragment(kind, id, device));
    }
  }
  return mergeFragments(fragments);
}

/** The netplan files that count, in the order netplan reads them. */
async function netplanFiles(view: RootView): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const dir of NETPLAN_DIRS) {
    for (const path of await view.glob(`${dir}/*.yaml`)) byName.set(posix.basename(path), path);
  }
  return [...byName.keys()].sort().map((name) => byName.get(name) as string);
}

/** The root's netplan configuration. */
export async function readNetplan(view: RootView): Promise<NetworkFragment> {
  const status = emptyFragment();
  let merged: unknown = {};
  for (const path of await netplanFiles(view)) {
    const document = await parseRootFile(view, path, status, parseNetplanYaml);
    if (document !== undefined) merged = mergeNetplan(merged, document);
  }
  return mergeFragments([status, netplanFragment(isMapping(merged) ? merged : {})]);
}
