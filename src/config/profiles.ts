import { type HostFacts, osFamily } from './facts.js';
import type { ConfigLayer } from './schema.js';

/**
 * OS and architecture profiles: the layer between the built-in defaults and the site file
 * (ReaR's $ARCH.conf, $OS.conf and $OS/$OS_VER.conf). Only what really differs between
 * systems belongs here.
 */
export interface Profile {
  /** Shown as the origin of its values in `lifeboat dump`: "arch x86_64", "os debian". */
  name: string;
  applies(facts: HostFacts): boolean;
  values: ConfigLayer;
}

export const PROFILES: Profile[] = [
  {
    name: 'arch x86_64',
    applies: (f) => f.arch === 'x86_64',
    values: { boot: { firmware: ['bios', 'uefi'] } },
  },
  {
    // No legacy BIOS on these: GRUB EFI is the only way in.
    name: 'arch aarch64',
    applies: (f) => f.arch === 'aarch64',
    values: { boot: { firmware: ['uefi'] } },
  },
  {
    name: 'os debian',
    applies: (f) => osFamily(f) === 'debian',
    values: { recovery: { initramfsTool: 'update-initramfs' } },
  },
  {
    name: 'os rhel/fedora',
    applies: (f) => ['rhel', 'fedora'].includes(osFamily(f)),
    values: { recovery: { initramfsTool: 'dracut' } },
  },
  {
    // SLES 12+ also uses dracut; older ones had mkinitrd, which dracut replaced with a wrapper.
    name: 'os suse',
    applies: (f) => osFamily(f) === 'suse',
    values: { recovery: { initramfsTool: 'dracut' } },
  },
];

export function applicableProfiles(facts: HostFacts): Profile[] {
  return PROFILES.filter((p) => p.applies(facts));
}
