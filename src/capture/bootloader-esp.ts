import type { RootView } from './fs-root.js';
import type { BootloaderSection } from './manifest.js';

/**
 * Where the EFI system partition is: the root's /etc/fstab says how it is named (UUID=ABCD-1234,
 * as written: that name survives a restore onto the same partition table); on the live host the
 * mount table says which device it is right now, and wins.
 */

type EspSection = NonNullable<BootloaderSection['esp']>;

/** Where distributions mount the ESP, most usual first. */
const ESP_MOUNT_POINTS = ['/boot/efi', '/efi'];

export interface MountEntry {
  device: string;
  mountPoint: string;
  fsType: string;
}

/** fstab(5) and /proc/mounts escape spaces and tabs as octal (\040, \011). */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** The entries of an fstab(5) or /proc/self/mounts text, in order. */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [device, mountPoint, fsType = ''] = trimmed.split(/\s+/);
    if (device === undefined || mountPoint === undefined) continue;
    entries.push({ device: unescapeOctal(device), mountPoint: unescapeOctal(mountPoint), fsType });
  }
  return entries;
}

/**
 * The ESP among mount entries: the one at /boot/efi or /efi, else a FAT /boot (systemd-boot
 * setups mount the ESP there). The last entry wins, as the last mount hides the ones before
 * (systemd's automount shows an autofs entry first, then the real one once it is mounted).
 */
export function findEsp(entries: readonly MountEntry[]): EspSection | null {
  const usable = entries.filter((entry) => entry.fsType !== 'autofs' && entry.fsType !== 'swap');
  for (const mountPoint of ESP_MOUNT_POINTS) {
    const entry = usable.filter((e) => e.mountPoint.replace(/\/+$/, '') === mountPoint).at(-1);
    if (entry !== undefined) return { mountPoint, device: entry.device };
  }
  const boot = usable.filter((e) => e.mountPoint === '/boot' && e.fsType === 'vfat').at(-1);
  return boot === undefined ? null : { mountPoint: '/boot', device: boot.device };
}

async function readTable(view: RootView, path: string): Promise<MountEntry[]> {
  const bytes = await view.readFile(path);
  return bytes === undefined ? [] : parseMountTable(bytes.toString('utf8'));
}

/** The ESP of the root (live: as mounted now, else as fstab has it), or null. */
export async function readEsp(view: RootView, live: boolean): Promise<EspSection | null> {
  if (live) {
    const mounted = findEsp(await readTable(view, '/proc/self/mounts'));
    if (mounted !== null) return mounted;
  }
  return findEsp(await readTable(view, '/etc/fstab'));
}
