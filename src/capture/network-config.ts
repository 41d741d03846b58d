import type { RootView } from './fs-root.js';
import { readIfupdown } from './network-ifupdown.js';
import { mergeFragments, type NetworkFragment } from './network-model.js';
import { readNetplan } from './network-netplan.js';
import { readNetworkd } from './network-networkd.js';
import { readNetworkManager } from './network-nm.js';

/**
 * The network a root would bring up, from its configuration files: every known tool is read,
 * because which one runs at boot is decided by services we do not start. Usually only one has
 * files; when several name one interface, their descriptions are merged by name.
 */
export async function readConfigNetwork(view: RootView): Promise<NetworkFragment> {
  return mergeFragments([
    await readIfupdown(view),
    await readNetplan(view),
    await readNetworkd(view),
    await readNetworkManager(view),
  ]);
}
