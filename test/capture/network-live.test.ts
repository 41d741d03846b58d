import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { readBootloader } from '../../src/capture/bootloader.js';
import { RootView } from '../../src/capture/fs-root.js';
import { readIdentity } from '../../src/capture/identity.js';
import { captureNetwork } from '../../src/capture/network.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * Capture of the machine running the tests (root `/`, live), checked against the machine
 * itself: its hostname, /sys/firmware/efi, and `ip -json` run here as the oracle. The machine
 * is expected to have a network: one interface with an address and a default route.
 */

type IpLink = { ifname: string; flags?: string[]; addr_info?: Record<string, unknown>[] };
type IpRoute = { dst: string; gateway?: string; dev?: string };

async function ipJson<T>(...args: string[]): Promise<T> {
  return JSON.parse((await execa('ip', ['-json', ...args])).stdout) as T;
}

describeTier('host', hostMissing())('live capture of this machine', () => {
  const view = new RootView('/');

  it('has this host identity and boot mode', async () => {
    const { section } = await readIdentity(view, { live: true, arch: 'x86_64' });
    expect(section.hostname).toBe(hostname());
    expect(section.bootMode).toBe(existsSync('/sys/firmware/efi') ? 'uefi' : 'bios');
    const bootloader = await readBootloader(view, { live: true });
    expect(bootloader.section.efi === null).toBe(!existsSync('/sys/firmware/efi/efivars'));
  });

  it('matches ip -json: static addresses and the default route', async () => {
    const { section, warnings } = await captureNetwork(view, { live: true });
    expect(section.source).toBe('live');
    expect(warnings.filter((w) => w.includes('ip -json'))).toEqual([]);

    const links = await ipJson<IpLink[]>('address', 'show');
    for (const link of links) {
      if (link.flags?.includes('LOOPBACK')) {
        expect(section.interfaces.map((i) => i.name)).not.toContain(link.ifname);
        continue;
      }
      const expected = (link.addr_info ?? [])
        .filter((a) => a.scope === 'global' && a.dynamic !== true)
        .map((a) => `${String(a.local)}/${String(a.prefixlen)}`);
      const ours = section.interfaces.find((i) => i.name === link.ifname);
      expect(ours?.addresses).toEqual(expected);
    }
    expect(section.interfaces.some((i) => i.addresses.some((a) => /^[\d.]+\/\d+$/.test(a)))).toBe(
      true,
    );

    const defaults = [
      ...(await ipJson<IpRoute[]>('route', 'show')),
      ...(await ipJson<IpRoute[]>('-6', 'route', 'show')),
    ].filter((route) => route.dst === 'default');
    expect(defaults.length).toBeGreaterThan(0);
    for (const route of defaults) {
      expect(section.routes).toContainEqual({
        destination: 'default',
        gateway: route.gateway ?? null,
        device: route.dev ?? null,
      });
    }
  });
});
