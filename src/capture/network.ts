import { errorMessage } from '../errors.js';
import type { RootView } from './fs-root.js';
import type { NetworkSection } from './manifest.js';
import { readConfigNetwork } from './network-config.js';
import { readResolvConf } from './network-dns.js';
import { readLiveNetwork } from './network-live.js';
import { mergeFragments, type NetworkFragment, toSection } from './network-model.js';

/**
 * The `network` section: interfaces, routes and DNS the rescue system should bring up. The live
 * host is asked (the kernel knows what is really configured, whichever tool did it); a root can
 * only be read, so its configuration files are parsed, best effort.
 */

export interface NetworkOptions {
  /** true: the running host (root `/`): `ip -json` is run (the host's own `ip`). */
  live: boolean;
  /** The iproute2 program to run when live (tests point it elsewhere). */
  ipCommand?: string;
}

export interface NetworkResult {
  section: NetworkSection;
  warnings: string[];
}

/** Live: `ip`, else (no `ip`, or it failed) the configuration files. */
async function readInterfaces(
  view: RootView,
  options: NetworkOptions,
): Promise<{ source: NetworkSection['source']; fragment: NetworkFragment }> {
  if (!options.live) return { source: 'config', fragment: await readConfigNetwork(view) };
  try {
    return { source: 'live', fragment: await readLiveNetwork(view, options.ipCommand) };
  } catch (error) {
    const fragment = await readConfigNetwork(view);
    fragment.warnings.push(
      `the network was read from configuration files: \`ip -json\` could not be used (${errorMessage(error).split('\n')[0]})`,
    );
    return { source: 'config', fragment };
  }
}

/** Reads the network of the root behind `view` (the running host when `live`). */
export async function captureNetwork(
  view: RootView,
  options: NetworkOptions,
): Promise<NetworkResult> {
  const { source, fragment } = await readInterfaces(view, options);
  const dns = await readResolvConf(view, options.live);
  // resolv.conf first: it is what the host used; servers named in interface configs follow.
  const merged = mergeFragments([dns.fragment, fragment]);
  const section = toSection(source, merged);
  const warnings = [...merged.warnings];
  const anyDhcp = section.interfaces.some((item) => item.dhcp);
  if (section.dns.servers.length === 0 && !anyDhcp && section.interfaces.length > 0) {
    warnings.push(
      dns.stubOnly
        ? 'no DNS servers found: /etc/resolv.conf names only systemd-resolved (127.0.0.53), and no configuration file names a server'
        : 'no DNS servers found (/etc/resolv.conf, interface configuration)',
    );
  }
  return { section, warnings: [...new Set(warnings)].sort() };
}
