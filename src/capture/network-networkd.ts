import { posix } from 'node:path';
import type { RootView } from './fs-root.js';
import { normalizeDnsServer, normalizeMac, toCidr, toDestination, toIp } from './network-addr.js';
import { fragmentsOfFiles } from './network-files.js';
import { type IniSection, iniSections, iniValue, iniValues, parseIni } from './network-ini.js';
import {
  emptyFragment,
  mergeFragments,
  type NetworkFragment,
  newInterface,
} from './network-model.js';

/**
 * systemd-networkd: /etc/systemd/network/*.network (systemd.network(5)). networkd applies to a
 * link the first file, in file-name order, whose [Match] fits it; so a later file naming an
 * interface already claimed is ignored here too.
 */

const NETWORK_DIR = '/etc/systemd/network';

function words(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(/\s+/)).filter((word) => word !== '');
}

/** The [Match]/[Network]/[Link] keys, from every section of that name (later ones add). */
function allValues(sections: readonly IniSection[], section: string, key: string): string[] {
  return iniSections(sections, section).flatMap((s) => iniValues(s, key));
}

function lastValue(sections: readonly IniSection[], section: string, key: string) {
  return iniSections(sections, section)
    .map((s) => iniValue(s, key))
    .filter((value) => value !== undefined)
    .at(-1);
}

/** MTUBytes= takes K, M, G suffixes (base 1024). */
function parseBytes(value: string | undefined): number | null {
  const match = /^(\d+)\s*([KMG]?)$/i.exec(value?.trim() ?? '');
  if (match?.[1] === undefined) return null;
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? '').toUpperCase()];
  return Number(match[1]) * (scale ?? 1);
}

/** DHCP=yes|ipv4|ipv6|both (and the boolean spellings systemd accepts) turn it on. */
function dhcpEnabled(value: string | undefined): boolean {
  return ['yes', 'true', 'on', '1', 'ipv4', 'ipv6', 'both'].includes(value?.toLowerCase() ?? '');
}

/**
 * The names a .network file configures: [Match] Name= (a list, possibly globs such as `en*`,
 * kept as written). A file matching by MAC only has no name; the file's own name stands in, so
 * its addresses are not lost and the MAC tells which card it is.
 */
function matchNames(sections: readonly IniSection[], path: string): string[] {
  const names = words(allValues(sections, 'Match', 'Name')).filter((n) => !n.startsWith('!'));
  return names.length > 0 ? names : [posix.basename(path, '.network')];
}

/** What one .network file says (for every interface it names). */
export function networkdFragment(text: string, path: string): NetworkFragment {
  const sections = parseIni(text);
  const fragment = emptyFragment();
  const macs = words(allValues(sections, 'Match', 'MACAddress'));
  // Several MACs mean several cards share this file: none of them identifies the interface.
  const mac = macs.length === 1 && macs[0] !== undefined ? (normalizeMac(macs[0]) ?? null) : null;
  const addresses: string[] = [];
  const addressTexts = [
    ...allValues(sections, 'Network', 'Address'),
    ...iniSections(sections, 'Address').flatMap((s) => iniValues(s, 'Address')),
  ];
  for (const text of words(addressTexts)) {
    const cidr = toCidr(text);
    if (cidr === undefined) fragment.warnings.push(`${path}: bad Address=${text}`);
    else addresses.push(cidr);
  }
  const dhcp = dhcpEnabled(lastValue(sections, 'Network', 'DHCP'));
  const mtu = parseBytes(lastValue(sections, 'Link', 'MTUBytes'));
  for (const name of matchNames(sections, path)) {
    fragment.interfaces.push({ ...newInterface(name), mac, addresses: [...addresses], dhcp, mtu });
    for (const text of words(allValues(sections, 'Network', 'Gateway'))) {
      const gateway = toIp(text);
      if (gateway !== undefined)
        fragment.routes.push({ destination: 'default', gateway, device: name });
    }
    for (const route of iniSections(sections, 'Route')) {
      // Gateway=_dhcp4/_ipv6ra: whatever DHCP says, which DHCP will say again.
      const gatewayText = iniValue(route, 'Gateway');
      const gateway = gatewayText === undefined ? null : (toIp(gatewayText) ?? undefined);
      const destination = toDestination(iniValue(route, 'Destination') ?? 'default');
      if (gateway === undefined || destination === undefined) continue;
      fragment.routes.push({ destination, gateway, device: name });
    }
  }
  for (const server of words(allValues(sections, 'Network', 'DNS'))) {
    const ip = normalizeDnsServer(server);
    if (ip !== undefined) fragment.dns.servers.push(ip);
  }
  // `~example.com` is a routing-only domain (which server to ask), not a search domain.
  fragment.dns.search.push(
    ...words(allValues(sections, 'Network', 'Domains')).filter((d) => !d.startsWith('~')),
  );
  return fragment;
}

/** The .network files of the root, first match per interface name. */
export async function readNetworkd(view: RootView): Promise<NetworkFragment> {
  const paths = await view.glob(`${NETWORK_DIR}/*.network`);
  const fragments = await fragmentsOfFiles(view, paths, networkdFragment);
  const claimed = new Set<string>();
  for (const fragment of fragments) {
    if (fragment.interfaces.length === 0) continue; // a file's status: files read, warnings
    const shadowed = new Set(fragment.interfaces.map((i) => i.name).filter((n) => claimed.has(n)));
    fragment.interfaces = fragment.interfaces.filter((item) => !shadowed.has(item.name));
    fragment.routes = fragment.routes.filter((route) => !shadowed.has(route.device ?? ''));
    if (fragment.interfaces.length === 0) fragment.dns = { servers: [], search: [] };
    for (const item of fragment.interfaces) claimed.add(item.name);
  }
  return mergeFragments(fragments);
}
