import { posix } from 'node:path';
import type { RootView } from './fs-root.js';
import { normalizeMac, toCidr, toIp } from './network-addr.js';
import { parseRootFile } from './network-files.js';
import {
  emptyFragment,
  mergeFragments,
  type NetworkFragment,
  newInterface,
} from './network-model.js';

/**
 * Debian's ifupdown: /etc/network/interfaces(5) and the files it includes with `source` (a path
 * or glob) and `source-directory` (a directory, run-parts style). Only what a rescue system needs
 * is kept: addresses, gateway, DNS, MTU and MAC of `iface` stanzas; `up` commands and mappings
 * are scripts, which a capture does not interpret.
 */

const INTERFACES_FILE = '/etc/network/interfaces';
/** Includes nest; a loop (a file sourcing itself) must end. */
const MAX_INCLUDE_DEPTH = 8;

export interface IfaceStanza {
  name: string;
  family: string;
  method: string;
  options: { key: string; value: string }[];
}

export type InterfacesItem =
  | { kind: 'iface'; stanza: IfaceStanza }
  | { kind: 'source'; pattern: string }
  | { kind: 'source-directory'; dir: string };

/** Stanza keywords: a line starting with one ends the options of the `iface` before it. */
function isStanzaKeyword(word: string): boolean {
  return (
    ['iface', 'mapping', 'auto', 'rename', 'source', 'source-directory', 'source-dir'].includes(
      word,
    ) ||
    word.startsWith('allow-') ||
    word.startsWith('no-')
  );
}

/** Lines with comments dropped and backslash continuations joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    // interfaces(5): only whole-line comments; `#` inside a line is data.
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  if (pending.trim() !== '') lines.push(pending.trim());
  return lines;
}

/** Parse one interfaces(5) file into its stanzas and includes, in order. Throws when malformed. */
export function parseInterfacesFile(text: string): InterfacesItem[] {
  const items: InterfacesItem[] = [];
  // Options belong to the iface (or mapping) stanza before them; null: a stanza without options.
  let current: IfaceStanza | null | undefined;
  for (const line of logicalLines(text)) {
    const [keyword = '', ...args] = line.split(/\s+/);
    if (!isStanzaKeyword(keyword)) {
      if (current === undefined) throw new Error(`option outside an iface stanza: ${line}`);
      if (current !== null) current.options.push({ key: keyword, value: args.join(' ') });
      continue;
    }
    current = null;
    if (keyword === 'iface') {
      const [name, family, method] = args;
      if (name === undefined || family === undefined || method === undefined) {
        throw new Error(`iface needs a name, an address family and a method: ${line}`);
      }
      current = { name, family, method, options: [] };
      items.push({ kind: 'iface', stanza: current });
    } else if (keyword === 'mapping') {
      current = { name: '', family: '', method: 'mapping', options: [] };
    } else if (keyword === 'source' && args[0] !== undefined) {
      items.push({ kind: 'source', pattern: args.join(' ') });
    } else if ((keyword === 'source-directory' || keyword === 'source-dir') && args[0]) {
      items.push({ kind: 'source-directory', dir: args.join(' ') });
    }
  }
  return items;
}

function optionValues(stanza: IfaceStanza, key: string): string[] {
  return stanza.options.filter((option) => option.key === key).map((option) => option.value);
}

/** What one iface stanza says about its interface. */
export function stanzaFragment(stanza: IfaceStanza, file: string): NetworkFragment {
  const fragment = emptyFragment();
  const { name, family, method } = stanza;
  if (method === 'loopback' || name === 'lo') return fragment;
  if (family !== 'inet' && family !== 'inet6') return fragment; // ipx, can: no IP
  const item = newInterface(name);
  const where = `${file}: iface ${name} ${family}`;
  // dhcp: addresses come automatically; for inet6 `auto` (SLAAC) is that too.
  if (method === 'dhcp' || (family === 'inet6' && method === 'auto')) item.dhcp = true;
  if (method === 'static') {
    const [netmask] = optionValues(stanza, 'netmask');
    // ifupdown2 and newer ifupdown accept several addresses, on several lines or one.
    for (const address of optionValues(stanza, 'address').flatMap((v) => v.split(/\s+/))) {
      const cidr = toCidr(address, netmask);
      if (cidr === undefined)
        fragment.warnings.push(
          `${where}: bad address/netmask ${address} ${netmask ?? ''}`.trimEnd(),
        );
      else item.addresses.push(cidr);
    }
  }
  for (const gatewayText of optionValues(stanza, 'gateway')) {
    const gateway = toIp(gatewayText);
    if (gateway === undefined) fragment.warnings.push(`${where}: bad gateway ${gatewayText}`);
    else fragment.routes.push({ destination: 'default', gateway, device: name });
  }
  const [mtu] = optionValues(stanza, 'mtu');
  if (mtu !== undefined && /^\d+$/.test(mtu)) item.mtu = Number(mtu);
  // `hwaddress ether aa:bb:...` or, in newer ifupdown, just the address.
  const [hwaddress] = optionValues(stanza, 'hwaddress');
  const mac = hwaddress?.split(/\s+/).at(-1);
  if (mac !== undefined) item.mac = normalizeMac(mac) ?? null;
  for (const value of optionValues(stanza, 'dns-nameservers')) {
    for (const server of value.split(/\s+/)) {
      const ip = toIp(server);
      if (ip !== undefined) fragment.dns.servers.push(ip);
    }
  }
  for (const key of ['dns-search', 'dns-domain']) {
    for (const value of optionValues(stanza, key)) fragment.dns.search.push(...value.split(/\s+/));
  }
  fragment.interfaces.push(item);
  return fragment;
}

/** run-parts(8) names: source-directory ignores editor backups, dpkg leftovers, dotfiles. */
function isRunPartsName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name);
}

/** Reads /etc/network/interfaces and everything it includes. */
export async function readIfupdown(view: RootView): Promise<NetworkFragment> {
  const fragments: NetworkFragment[] = [];
  const status = emptyFragment();
  const seen = new Set<string>();

  async function readFile(path: string, depth: number): Promise<void> {
    if (seen.has(path)) return;
    seen.add(path);
    if (depth > MAX_INCLUDE_DEPTH) {
      status.warnings.push(`${path}: included more than ${MAX_INCLUDE_DEPTH} levels deep, skipped`);
      return;
    }
    const items = await parseRootFile(view, path, status, parseInterfacesFile);
    for (const item of items ?? []) {
      if (item.kind === 'iface') {
        fragments.push(stanzaFragment(item.stanza, path));
        continue;
      }
      // Relative includes are taken from the including file's directory.
      const base = posix.dirname(path);
      if (item.kind === 'source') {
        for (const match of await view.glob(posix.resolve(base, item.pattern))) {
          if ((await view.lookup(match))?.stats.isFile()) await readFile(match, depth + 1);
        }
      } else {
        const dir = posix.resolve(base, item.dir);
        for (const name of (await view.readdir(dir)).filter(isRunPartsName)) {
          if ((await view.lookup(`${dir}/${name}`))?.stats.isFile()) {
            await readFile(`${dir}/${name}`, depth + 1);
          }
        }
      }
    }
  }

  await readFile(INTERFACES_FILE, 0);
  return mergeFragments([status, ...fragments]);
}
