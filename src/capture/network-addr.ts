import { isIP } from 'node:net';

/**
 * Address notation shared by every network source: the manifest writes addresses in CIDR
 * (192.0.2.10/24), MACs in lower case, whatever the configuration file used (a dotted netmask,
 * a prefix on its own line, upper-case MACs).
 */

/** The prefix length of a dotted IPv4 netmask (255.255.255.0 → 24); undefined if not contiguous. */
export function netmaskToPrefix(netmask: string): number | undefined {
  if (isIP(netmask) !== 4) return undefined;
  const bits = netmask
    .split('.')
    .map((octet) => Number(octet).toString(2).padStart(8, '0'))
    .join('');
  // A netmask is ones then zeros: 255.0.255.0 is no netmask.
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

function maxPrefix(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/**
 * `address` in CIDR notation. The prefix comes from the address itself (`a/24`), else from
 * `netmask` (dotted, or a bare prefix length as ifupdown and NetworkManager allow), else the
 * address is a single host (/32, /128), as `ip address add` takes an address without prefix.
 * undefined when the address or the netmask is not valid.
 */
export function toCidr(address: string, netmask?: string): string | undefined {
  const [host = '', prefixText, ...rest] = address.trim().split('/');
  if (rest.length > 0) return undefined;
  const family = isIP(host);
  if (family !== 4 && family !== 6) return undefined;
  const prefix = parsePrefix(prefixText ?? netmask?.trim(), family);
  if (prefix === undefined) return undefined;
  return `${host.toLowerCase()}/${prefix}`;
}

function parsePrefix(text: string | undefined, family: 4 | 6): number | undefined {
  if (text === undefined || text === '') return maxPrefix(family);
  if (/^\d{1,3}$/.test(text)) {
    const prefix = Number(text);
    return prefix <= maxPrefix(family) ? prefix : undefined;
  }
  return family === 4 ? netmaskToPrefix(text) : undefined;
}

/** A route destination: 'default' for any default route, else CIDR (a host gets /32 or /128). */
export function toDestination(destination: string): string | undefined {
  const text = destination.trim();
  if (text === 'default' || text === '0.0.0.0/0' || text === '::/0') return 'default';
  return toCidr(text);
}

/** An IP address (no prefix) in canonical lower case, or undefined. */
export function toIp(address: string): string | undefined {
  const text = address.trim();
  return isIP(text) === 0 ? undefined : text.toLowerCase();
}

/** aa:bb:cc:dd:ee:ff (also from AA-BB-... and upper case); undefined when it is no Ethernet MAC. */
export function normalizeMac(mac: string): string | undefined {
  const text = mac.trim().toLowerCase().replaceAll('-', ':');
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(text) ? text : undefined;
}

/**
 * A DNS server as systemd writes it (DNS=, resolved.conf) reduced to the address: systemd
 * accepts `1.1.1.1:53`, `[2606:4700::1111]:53`, `%ifname` and `#server-name` suffixes.
 */
export function normalizeDnsServer(server: string): string | undefined {
  let text = server.trim();
  const hash = text.indexOf('#');
  if (hash !== -1) text = text.slice(0, hash);
  const bracketed = /^\[([^\]]+)\](?::\d+)?(?:%.*)?$/.exec(text);
  if (bracketed?.[1] !== undefined) text = bracketed[1];
  else {
    const percent = text.indexOf('%');
    if (percent !== -1) text = text.slice(0, percent);
    const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
    if (v4WithPort?.[1] !== undefined) text = v4WithPort[1];
  }
  return toIp(text);
}
