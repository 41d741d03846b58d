import { canonicalJson } from '../capture/canonical-json.js';
import type { CaptureManifest, NetworkInterface } from '../capture/manifest.js';

/**
 * What the rescue system reads about the captured host, in files its /init can parse without a
 * JSON parser (and without executing them):
 *
 *   etc/lifeboat/capture.json      the manifest itself, for the recovery that comes later
 *   etc/lifeboat/layout.json       the disk layout of a live host (layout/store.ts MEDIUM_LAYOUT)
 *   etc/lifeboat/modules           the captured modules, one name a line: /init loads them
 *   etc/lifeboat/network.capture   the host's network settings, one setting a line:
 *                                    iface NAME MAC|- dhcp|static MTU|-
 *                                    addr NAME CIDR
 *                                    route DESTINATION GATEWAY|- DEVICE|-
 *                                    dns SERVER
 *                                    search DOMAIN
 *
 * Every field is one word: a value with white space in it (which no interface name, address or
 * domain has) drops its line rather than shifting the fields after it.
 */
export function captureFacts(
  manifest: CaptureManifest,
  manifestBytes: Buffer,
): Map<string, Buffer> {
  return new Map([
    ['etc/lifeboat/capture.json', manifestBytes],
    // The layout that came with the medium: layoutonly and recover use it by default.
    ...(manifest.layout === null
      ? []
      : ([['etc/lifeboat/layout.json', Buffer.from(canonicalJson(manifest.layout))]] as const)),
    ['etc/lifeboat/modules', Buffer.from(modulesFile(manifest))],
    ['etc/lifeboat/network.capture', Buffer.from(networkFile(manifest))],
  ]);
}

export function modulesFile(manifest: CaptureManifest): string {
  const names = [...new Set((manifest.kernel?.modules ?? []).map((m) => m.name))].sort();
  const kernel = manifest.kernel?.version ?? 'no kernel';
  return [
    `# Modules the rescue system loads at boot, from the capture (kernel ${kernel}).`,
    '# Their dependencies come with them (modprobe); udev adds what the hardware needs.',
    ...names.filter(isWord),
    '',
  ].join('\n');
}

export function networkFile(manifest: CaptureManifest): string {
  const { network } = manifest;
  const lines = [
    `# Network settings of the captured host (${network.source === 'live' ? 'read from its kernel' : `from ${network.configFiles.join(', ') || 'its configuration'}`}).`,
    '# /init matches interfaces by MAC (by name when the MAC is -); unmatched ones get DHCP.',
  ];
  const interfaces = [...network.interfaces].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const iface of interfaces) {
    const method = methodOf(iface);
    if (method === undefined) continue;
    lines.push(line('iface', iface.name, iface.mac ?? '-', method, iface.mtu?.toString() ?? '-'));
    if (method === 'static') {
      for (const address of iface.addresses) lines.push(line('addr', iface.name, address));
    }
  }
  for (const route of network.routes) {
    lines.push(line('route', route.destination, route.gateway ?? '-', route.device ?? '-'));
  }
  // A loopback resolver (systemd-resolved's 127.0.0.53, a local dnsmasq) is the host's own
  // process: the rescue system has none, so it would answer nothing.
  for (const server of network.dns.servers) {
    if (!isLoopback(server)) lines.push(line('dns', server));
  }
  for (const domain of network.dns.search) lines.push(line('search', domain));
  return `${lines.filter((l) => l !== '').join('\n')}\n`;
}

/** static: addresses without DHCP; dhcp; undefined when the host configured neither. */
function methodOf(iface: NetworkInterface): 'dhcp' | 'static' | undefined {
  if (iface.dhcp) return 'dhcp';
  return iface.addresses.length > 0 ? 'static' : undefined;
}

function line(...fields: string[]): string {
  return fields.every(isWord) ? fields.join(' ') : '';
}

function isWord(field: string): boolean {
  return /^[^\s#][^\s]*$/.test(field);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
