import type { RootView } from './fs-root.js';
import { normalizeDnsServer, normalizeMac, toCidr, toDestination, toIp } from './network-addr.js';
import { fragmentsOfFiles } from './network-files.js';
import { type IniSection, iniSections, parseIni } from './network-ini.js';
import {
  emptyFragment,
  mergeFragments,
  type NetworkFragment,
  newInterface,
} from './network-model.js';

/**
 * NetworkManager keyfiles: /etc/NetworkManager/system-connections/*.nmconnection
 * (nm-settings-keyfile(5)). Only wired kinds are kept: a rescue system does not bring up wifi,
 * VPN or modem profiles, which need secrets and services it does not have.
 */

const CONNECTIONS_DIR = '/etc/NetworkManager/system-connections';
const WIRED_TYPES = new Set([
  'ethernet',
  '802-3-ethernet',
  'bond',
  'bridge',
  'vlan',
  'team',
  'infiniband',
]);

/** The last value of `key` over all sections called `name` (GLib merges repeated groups). */
function value(sections: readonly IniSection[], name: string, key: string): string | undefined {
  return iniSections(sections, name)
    .flatMap((section) => section.entries.filter((entry) => entry.key === key))
    .at(-1)?.value;
}

/** Entries of `name` whose key matches, in file order. */
function entries(sections: readonly IniSection[], name: string, key: RegExp) {
  return iniSections(sections, name).flatMap((s) => s.entries.filter((e) => key.test(e.key)));
}

/** Keyfile lists: `a;b;` (a trailing `;` is usual). */
function listOf(text: string | undefined): string[] {
  return (text ?? '').split(/[;,\s]+/).filter((item) => item !== '');
}

/**
 * `address1=192.0.2.10/24,192.0.2.1` (address, optional gateway), or the older
 * `addresses1=192.0.2.10;24;192.0.2.1;` form.
 */
function parseAddressEntry(text: string): { cidr?: string; gateway?: string } {
  const legacy = /^([^;,]+);(\d+);([^;]*);?$/.exec(text);
  const [address, gateway] = legacy
    ? [`${legacy[1]}/${legacy[2]}`, legacy[3]]
    : text.split(',').map((part) => part.trim());
  return { cidr: toCidr(address ?? ''), gateway: gateway ? toIp(gateway) : undefined };
}

/** What one keyfile says. */
export function keyfileFragment(text: string, path: string): NetworkFragment {
  const sections = parseIni(text);
  const fragment = emptyFragment();
  const type = value(sections, 'connection', 'type');
  if (type !== undefined && !WIRED_TYPES.has(type)) return fragment;
  // Bound to a MAC only, a profile has no interface name: its id stands in.
  const name =
    value(sections, 'connection', 'interface-name') ?? value(sections, 'connection', 'id') ?? '';
  if (name === '') throw new Error('neither interface-name nor id in [connection]');
  const item = newInterface(name);
  const wired = ['ethernet', '802-3-ethernet'];
  const mac = wired.map((s) => value(sections, s, 'mac-address')).find((v) => v !== undefined);
  item.mac = mac === undefined ? null : (normalizeMac(mac) ?? null);
  const mtu = wired.map((s) => value(sections, s, 'mtu')).find((v) => v !== undefined);
  item.mtu = mtu !== undefined && /^\d+$/.test(mtu) && mtu !== '0' ? Number(mtu) : null;
  for (const family of ['ipv4', 'ipv6']) {
    if (iniSections(sections, family).length === 0) continue;
    const method = value(sections, family, 'method');
    // ipv4 auto is DHCP; ipv6 auto is router advertisements, with DHCPv6 if they say so.
    if (method === 'auto' || method === 'dhcp') item.dhcp = true;
    if (method === 'disabled' || method === 'ignore' || method === 'link-local') continue;
    for (const entry of entries(sections, family, /^address(es)?\d*$/)) {
      const { cidr, gateway } = parseAddressEntry(entry.value);
      if (cidr === undefined) {
        fragment.warnings.push(`${path}: [${family}] bad ${entry.key}=${entry.value}`);
        continue;
      }
      item.addresses.push(cidr);
      if (gateway !== undefined)
        fragment.routes.push({ destination: 'default', gateway, device: name });
    }
    const gateway = toIp(value(sections, family, 'gateway') ?? '');
    if (gateway !== undefined)
      fragment.routes.push({ destination: 'default', gateway, device: name });
    for (const entry of entries(sections, family, /^routes?\d+$/)) {
      const [to = '', via] = entry.value.split(',').map((part) => part.trim());
      const destination = toDestination(to);
      const routeGateway = via === undefined || via === '' ? null : toIp(via);
      if (destination === undefined || routeGateway === undefined) continue;
      // 0.0.0.0 as next hop means "on link" in keyfiles.
      const onLink = routeGateway === '0.0.0.0' || routeGateway === '::';
      fragment.routes.push({ destination, gateway: onLink ? null : routeGateway, device: name });
    }
    for (const server of listOf(value(sections, family, 'dns'))) {
      const ip = normalizeDnsServer(server);
      if (ip !== undefined) fragment.dns.servers.push(ip);
    }
    fragment.dns.search.push(...listOf(value(sections, family, 'dns-search')));
  }
  fragment.interfaces.push(item);
  return fragment;
}

/** The root's NetworkManager connection profiles. */
export async function readNetworkManager(view: RootView): Promise<NetworkFragment> {
  const paths = await view.glob(`${CONNECTIONS_DIR}/*.nmconnection`);
  return mergeFragments(await fragmentsOfFiles(view, paths, keyfileFragment));
}
