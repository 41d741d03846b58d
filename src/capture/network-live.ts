import { basename } from 'node:path';
import { execa } from 'execa';
import { RootPathError, type RootView } from './fs-root.js';
import type { NetworkInterface, NetworkRoute } from './manifest.js';
import { normalizeMac, toCidr, toDestination, toIp } from './network-addr.js';
import { emptyFragment, type NetworkFragment, newInterface } from './network-model.js';

/**
 * The running host's network as the kernel has it, from the host's own `ip -json` (iproute2):
 * its JSON is stable and complete, where /proc/net would need a parser per table. Only ever run
 * for the live host, whose `ip` is this machine's; never anything from a captured root.
 */

const IP_TIMEOUT_MS = 15_000;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function records(json: string, what: string): Json[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error(`${what}: expected a JSON array`);
  return value.filter(isRecord);
}

/**
 * The interfaces of `ip -json address show`, loopback left out. `addresses` are the ones
 * configured statically: an address the kernel marks `dynamic` (a DHCP lease, SLAAC) is not
 * configuration, it makes `dhcp` true instead, and link-local addresses come by themselves.
 */
export function parseIpAddresses(json: string): NetworkInterface[] {
  const interfaces: NetworkInterface[] = [];
  for (const link of records(json, 'ip -json address show')) {
    const name = text(link.ifname);
    const flags = Array.isArray(link.flags) ? link.flags : [];
    if (name === undefined || flags.includes('LOOPBACK') || link.link_type === 'loopback') continue;
    const item = newInterface(name);
    // A bonded NIC shows the bond's MAC; permaddr is the one burnt into the card.
    const mac = text(link.permaddr) ?? text(link.address);
    item.mac = mac === undefined ? null : (normalizeMac(mac) ?? null);
    item.mtu = typeof link.mtu === 'number' ? link.mtu : null;
    for (const info of Array.isArray(link.addr_info) ? link.addr_info.filter(isRecord) : []) {
      if (info.family !== 'inet' && info.family !== 'inet6') continue;
      if (info.scope === 'link' || info.scope === 'host') continue;
      if (info.dynamic === true) {
        item.dhcp = true;
        continue;
      }
      const local = text(info.local);
      const cidr =
        local === undefined || typeof info.prefixlen !== 'number'
          ? undefined
          : toCidr(`${local}/${info.prefixlen}`);
      if (cidr !== undefined) item.addresses.push(cidr);
    }
    interfaces.push(item);
  }
  return interfaces;
}

/**
 * The routes of `ip -json route show` worth recreating: unicast routes someone configured.
 * Routes the kernel adds by itself (`proto kernel`: the subnet of each address) come back with
 * the addresses, and blackhole/unreachable/local routes are no connectivity.
 */
export function parseIpRoutes(json: string): NetworkRoute[] {
  const routes: NetworkRoute[] = [];
  for (const route of records(json, 'ip -json route show')) {
    if (route.protocol === 'kernel') continue;
    if (route.type !== undefined && route.type !== 'unicast') continue;
    const dev = text(route.dev);
    if (dev === 'lo') continue;
    const destination = toDestination(text(route.dst) ?? '');
    if (destination === undefined) continue;
    // A multipath route lists its next hops instead of one gateway and device.
    const hops = Array.isArray(route.nexthops) ? route.nexthops.filter(isRecord) : [route];
    for (const hop of hops) {
      const gateway = text(hop.gateway);
      routes.push({
        destination,
        gateway: gateway === undefined ? null : (toIp(gateway) ?? null),
        device: text(hop.dev) ?? dev ?? null,
      });
    }
  }
  return routes;
}

/** The kernel driver bound to an interface (the basename of its device/driver link), or null. */
export async function interfaceDriver(view: RootView, name: string): Promise<string | null> {
  if (name.includes('/') || name === '.' || name === '..') return null;
  try {
    return basename(await view.readlink(`/sys/class/net/${name}/device/driver`));
  } catch (error) {
    // Virtual interfaces (bridges, bonds, tunnels) have no device, hence no driver.
    if (error instanceof RootPathError) return null;
    throw error;
  }
}

async function runIp(command: string, args: string[]): Promise<string> {
  const { stdout } = await execa(command, ['-json', ...args], { timeout: IP_TIMEOUT_MS });
  return stdout;
}

/**
 * The live host's interfaces and routes. Throws when `ip` cannot be run or its output is not
 * what iproute2 writes; the caller falls back to the configuration files.
 */
export async function readLiveNetwork(view: RootView, ipCommand = 'ip'): Promise<NetworkFragment> {
  const [addresses, routes4, routes6] = await Promise.all([
    runIp(ipCommand, ['address', 'show']),
    runIp(ipCommand, ['route', 'show']),
    runIp(ipCommand, ['-6', 'route', 'show']),
  ]);
  const fragment = emptyFragment();
  fragment.interfaces = parseIpAddresses(addresses);
  for (const item of fragment.interfaces) item.driver = await interfaceDriver(view, item.name);
  fragment.routes = [...parseIpRoutes(routes4), ...parseIpRoutes(routes6)];
  return fragment;
}
