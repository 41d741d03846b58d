import type { RootView } from './fs-root.js';
import { normalizeDnsServer } from './network-addr.js';
import { emptyFragment, type NetworkFragment, unique } from './network-model.js';

/**
 * DNS servers and search domains from resolv.conf(5). On hosts running systemd-resolved,
 * /etc/resolv.conf names only its local stub (127.0.0.53), which means nothing to a rescue system
 * that does not run resolved: the servers behind it are in /run/systemd/resolve/resolv.conf,
 * which exists only while resolved runs, that is on the live host.
 */

const RESOLV_CONF = '/etc/resolv.conf';
const RESOLVED_UPLINK_CONF = '/run/systemd/resolve/resolv.conf';
/** resolved's stub listener and its proxy-only variant. */
const RESOLVED_STUBS = new Set(['127.0.0.53', '127.0.0.54']);

export interface ResolvConf {
  servers: string[];
  search: string[];
}

/** Parse resolv.conf(5): `nameserver` lines in order; the last `search`/`domain` line wins. */
export function parseResolvConf(text: string): ResolvConf {
  const servers: string[] = [];
  let search: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, ...args] = line.trim().split(/\s+/);
    if (keyword === undefined || keyword.startsWith('#') || keyword.startsWith(';')) continue;
    if (keyword === 'nameserver' && args[0] !== undefined) {
      const server = normalizeDnsServer(args[0]);
      if (server !== undefined) servers.push(server);
    } else if (keyword === 'search' || keyword === 'domain') {
      search = args.filter((domain) => domain !== '' && domain !== '.');
    }
  }
  return { servers: unique(servers), search: unique(search) };
}

export interface DnsResult {
  fragment: NetworkFragment;
  /** /etc/resolv.conf named only resolved's stub, and the servers behind it were not found. */
  stubOnly: boolean;
}

/** The DNS configuration of the root (and, live, of the running resolved). */
export async function readResolvConf(view: RootView, live: boolean): Promise<DnsResult> {
  const fragment = emptyFragment();
  const bytes = await view.readFile(RESOLV_CONF);
  if (bytes === undefined) return { fragment, stubOnly: false };
  fragment.files.push(RESOLV_CONF);
  const main = parseResolvConf(bytes.toString('utf8'));
  const usesStub = main.servers.some((server) => RESOLVED_STUBS.has(server));
  fragment.dns.servers = main.servers.filter((server) => !RESOLVED_STUBS.has(server));
  fragment.dns.search = main.search;
  if (!usesStub) return { fragment, stubOnly: false };
  const uplink = live ? await view.readFile(RESOLVED_UPLINK_CONF) : undefined;
  if (uplink === undefined) {
    if (live) {
      fragment.warnings.push(
        `${RESOLV_CONF} points at systemd-resolved's stub but ${RESOLVED_UPLINK_CONF} is missing: the DNS servers behind it are unknown`,
      );
    }
    return { fragment, stubOnly: fragment.dns.servers.length === 0 };
  }
  fragment.files.push(RESOLVED_UPLINK_CONF);
  const real = parseResolvConf(uplink.toString('utf8'));
  fragment.dns.servers = unique([...fragment.dns.servers, ...real.servers]);
  fragment.dns.search = unique([...main.search, ...real.search]);
  return { fragment, stubOnly: fragment.dns.servers.length === 0 };
}
