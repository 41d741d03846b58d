import { normalizeModuleName } from '../capture/kmod-modinfo.js';
import type { CaptureManifest } from '../capture/manifest.js';

/**
 * Whether finalize makes the restored system's initramfs again. Regenerating it in a chroot
 * costs minutes (most of a recovery under emulation), and the restored one is the host's own,
 * made for this system by its own tools: it is kept unless something it depends on changed.
 *
 * What an initramfs depends on, and so what is compared with the capture:
 *   - the disks' names (it may name /dev/sda in crypttab or resume) and sizes (a migrated
 *     layout), and the ids it finds root, swap, LUKS and RAID by (UUIDs, PARTUUIDs);
 *   - the drivers that reach the disks and the network cards: a driver the host did not use
 *     may be missing from it (dracut's host-only images take only the host's);
 *   - every kernel in /boot having one at all (a backup may leave them out).
 * What cannot be known (restoreonly did not recreate the disks, the capture does not say
 * which drivers the host used) counts as changed: a regenerated initramfs is only slower.
 *
 * ReaR decides alike: it rebuilds when the storage drivers loaded in the rescue system differ
 * from those the host had loaded, and REBUILD_INITRAMFS forces it either way.
 */
export type InitramfsSetting = 'auto' | 'always' | 'never';

/** An id of the layout that is not, on this machine, what the capture says. */
export interface IdDifference {
  /** "the UUID of file system /dev/mapper/vg-root (/)" */
  what: string;
  captured: string;
  /** undefined: it could not be read here (no such device, nothing on it). */
  here: string | undefined;
}

/** A driver (kernel module) a device of this machine uses, and which device. */
export interface DriverUse {
  module: string;
  /** /dev/vda, network card eth0 */
  device: string;
}

export interface InitramfsFacts {
  /** Undefined: this recovery did not recreate the disks (restoreonly): nothing is known of them. */
  layout?: {
    /** Captured device → its name here, for the disks and partitions that have another one. */
    renames: ReadonlyMap<string, string>;
    /** One line per disk of another size ("/dev/vda: 20.0 GiB captured, 30.0 GiB here"). */
    resized: readonly string[];
    ids: readonly IdDifference[];
  };
  /** The drivers of the layout's disks and of the network cards here; devices whose could not be read. */
  drivers: { uses: readonly DriverUse[]; unreadable: readonly string[] };
  /** The modules that drove the host's devices, from the capture; a string: why that is unknown. */
  hostDrivers: ReadonlySet<string> | string;
  /** The restored system's kernels in /boot, and whether each has an initramfs. */
  kernels: readonly { version: string; initramfs: boolean }[];
}

export interface InitramfsDecision {
  regenerate: boolean;
  /** One sentence for the log: why. */
  because: string;
}

export function decideInitramfs(
  setting: InitramfsSetting,
  facts: InitramfsFacts,
): InitramfsDecision {
  if (setting === 'always')
    return { regenerate: true, because: 'recovery.regenerateInitramfs is always' };
  const reasons = changes(facts);
  if (setting === 'never')
    return {
      regenerate: false,
      because:
        reasons.length === 0
          ? 'recovery.regenerateInitramfs is never'
          : `recovery.regenerateInitramfs is never, though ${reasons.join('; ')}`,
    };
  if (reasons.length > 0) return { regenerate: true, because: reasons.join('; ') };
  return {
    regenerate: false,
    because:
      'disk names, sizes and ids, and the drivers of the disks and network cards are as captured, and every kernel has its initramfs',
  };
}

/** Everything that makes the restored initramfs possibly wrong here, one phrase each. */
function changes(facts: InitramfsFacts): string[] {
  const reasons: string[] = [];
  const { layout, drivers, hostDrivers, kernels } = facts;
  if (kernels.length === 0)
    reasons.push(
      'the restored /boot has no kernel (vmlinuz-VERSION), so no initramfs can be checked',
    );
  const bare = kernels.filter((k) => !k.initramfs).map((k) => k.version);
  if (bare.length > 0) reasons.push(`the restored /boot has no initramfs for ${list(bare)}`);
  if (layout === undefined) {
    reasons.push('this recovery did not recreate the disks, so their ids are unknown');
  } else {
    if (layout.renames.size > 0)
      reasons.push(
        `disks have other names here (${list([...layout.renames].map(([from, to]) => `${from} → ${to}`))})`,
      );
    if (layout.resized.length > 0)
      reasons.push(`the layout was migrated to other disk sizes (${list(layout.resized)})`);
    const ids = layout.ids.map((id) =>
      id.here === undefined
        ? `${id.what} cannot be read here (captured: ${id.captured})`
        : `${id.what} changed (${id.captured} captured, ${id.here} here)`,
    );
    if (ids.length > 0) reasons.push(list(ids));
  }
  if (drivers.unreadable.length > 0)
    reasons.push(`the drivers of ${list(drivers.unreadable)} cannot be read here`);
  if (typeof hostDrivers === 'string') reasons.push(hostDrivers);
  else {
    const unknown = drivers.uses.filter((use) => !hostDrivers.has(use.module));
    if (unknown.length > 0)
      reasons.push(
        `${list(unknown.map((use) => `${use.device} uses ${use.module}`))} here, which the captured host did not`,
      );
  }
  return reasons;
}

/**
 * The modules that drove the captured host's devices: those its device aliases resolved to
 * (rescue.modules needed, on a live host) or that it had loaded (rescue.modules loaded), and its
 * network cards' drivers. A string says why the capture cannot tell.
 */
export function hostDriverModules(
  capture: CaptureManifest | undefined,
): ReadonlySet<string> | string {
  if (capture === undefined)
    return 'no capture on this system, so the drivers the host used are unknown';
  if (capture.kernel === null)
    return 'the capture has no kernel, so the drivers the host used are unknown';
  const { live, modulePolicy } = capture.source;
  if (modulePolicy === 'all')
    return 'the capture took every module (rescue.modules all), so the drivers the host used are unknown';
  if (modulePolicy === 'needed' && !live)
    return 'the capture was of a root, not a running host, so the drivers the host used are unknown';
  const modules = new Set<string>();
  for (const module of capture.kernel.modules)
    if (module.requestedBy.some((by) => by.startsWith('device ') || by === 'loaded'))
      modules.add(normalizeModuleName(module.name));
  for (const card of capture.network.interfaces)
    if (card.driver !== null) modules.add(normalizeModuleName(card.driver));
  return modules;
}

function list(items: readonly string[]): string {
  const shown = items.slice(0, 3).join(', ');
  return items.length > 3 ? `${shown} and ${items.length - 3} more` : shown;
}
