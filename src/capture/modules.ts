import { mapLimit } from '../util/map-limit.js';
import { type FirmwareLookup, findFirmware } from './firmware.js';
import {
  type KernelModules,
  type NameResolution,
  resolveModuleName,
  rootRelative,
} from './kmod.js';
import { type ModuleInfo, normalizeModuleName, readModuleInfo } from './kmod-modinfo.js';

/**
 * Which kernel modules (and the firmware they declare) go into a rescue system made from a root.
 *
 *   all     every module file of the kernel: boots anywhere, costs the most
 *   loaded  what runs now (a /proc/modules text), plus explicit extras
 *   needed  (default) the host's devices, file systems and storage stack, a base set every rescue
 *           system needs, and explicit extras
 *
 * then everything those need: modules.dep and soft dependencies (pre and post), transitively.
 */

export type ModulePolicy = 'all' | 'loaded' | 'needed';

/**
 * What every rescue system carries when the kernel has it as a module, whatever the host runs:
 * the media it boots from, the disks and NICs of the usual machines and hypervisors, a keyboard,
 * and the file systems and storage layers it restores onto. Names the kernel has built in are
 * satisfied already; names it lacks (the cloud kernel has no USB or AHCI) are reported.
 */
export const BASE_RESCUE_MODULES: readonly string[] = [
  // Virtual machines: KVM/QEMU, Hyper-V, Xen, VMware disks, NICs and console.
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'virtio_net',
  'virtio_console',
  'hv_vmbus',
  'hv_storvsc',
  'hv_netvsc',
  'xen_blkfront',
  'xen_netfront',
  'vmw_pvscsi',
  'vmxnet3',
  // Disk controllers and SCSI-class devices (disks, optical drives, generic, tape).
  'ahci',
  'nvme',
  'sd_mod',
  'sr_mod',
  'sg',
  'st',
  // USB: sticks the rescue system boots from or restores from, and a keyboard for its shell.
  'usb_storage',
  'uas',
  'xhci_pci',
  'xhci_hcd',
  'ehci_pci',
  'ehci_hcd',
  'usbhid',
  'hid_generic',
  // The rescue medium's own file systems (ISO, EFI partition with its code pages, squashfs
  // image under an overlay, loop files) and those a restore writes.
  'isofs',
  'vfat',
  // nls_ascii: Debian's kernels mount FAT with iocharset=ascii by default; without it no ESP
  // mounts ("missing codepage").
  'nls_ascii',
  'nls_cp437',
  'nls_iso8859_1',
  'nls_utf8',
  'squashfs',
  'overlay',
  'loop',
  'efivarfs',
  'ext4',
  'xfs',
  'btrfs',
  // Storage stack: LVM, LUKS (XTS-AES, and the crypto API socket cryptsetup uses), software RAID.
  'dm_mod',
  'dm_crypt',
  'dm_raid',
  'dm_snapshot',
  'dm_mirror',
  'dm_thin_pool',
  'md_mod',
  'raid0',
  'raid1',
  'raid10',
  'raid456',
  'xts',
  'aesni_intel',
  'algif_skcipher',
  // Network, for restores from a server: raw sockets for DHCP and common NICs (QEMU's e1000 and
  // rtl8139, Intel and Realtek on real hardware).
  'af_packet',
  'e1000',
  'e1000e',
  '8139cp',
  '8139too',
  'igb',
  'r8169',
  // Backup shares: the NFS client (each protocol version is its own module) and CIFS. SMB3
  // signs and encrypts with AES-GCM and AES-CCM: cifs declares gcm and ccm as soft dependencies,
  // but the crypto API finds what those are built from (ctr, ghash) only when it asks at mount
  // time ("crypto alloc failed, rc=-2" without them).
  'nfs',
  'nfsv3',
  'nfsv4',
  'cifs',
  'ctr',
  'ghash_generic',
];

export interface ModuleSelectionOptions {
  policy: ModulePolicy;
  /** `loaded`: the text of /proc/modules (first field of each line is the name). */
  procModules?: string;
  /** `needed`: device modaliases (`pci:v00008086d0000100Esv...`); none when capturing a root. */
  modaliases?: readonly string[];
  /** `needed`: file system types (`ext4`, `iso9660`, `nfs4`), resolved like the kernel's `fs-TYPE`. */
  filesystems?: readonly string[];
  /** `needed`: modules of the storage stack (`dm_crypt`, `raid1`, `md-raid1`, ...). */
  storage?: readonly string[];
  /** Every policy: modules asked for by name. */
  extra?: readonly string[];
  /** `needed`: the base set; BASE_RESCUE_MODULES unless given. */
  base?: readonly string[];
}

export interface ChosenModule {
  name: string;
  /** Root-relative path of the file, symlinks resolved (`usr/lib/modules/<v>/kernel/...`). */
  path: string;
  size: number;
  /** Why it is in: `base`, `extra`, `filesystem ext4`, `device pci:...`, `dependency of xfs`, ... */
  requestedBy: string[];
}

export interface RequestedName {
  name: string;
  requestedBy: string[];
}

export interface ModuleSelection {
  kernelVersion: string;
  policy: ModulePolicy;
  /** Sorted by path. */
  modules: ChosenModule[];
  /** The module files, root-relative, sorted. */
  files: string[];
  /** Total size of the module files. */
  bytes: number;
  /** Names asked for that the kernel has built in (satisfied; nothing to copy). */
  builtin: RequestedName[];
  /** Names asked for that are neither a module file, nor built in, nor an alias of either. */
  notFound: RequestedName[];
  /** Device modaliases no module or built-in driver claims. */
  unmatchedModaliases: string[];
  /** Firmware declared by chosen (and requested built-in) modules. */
  firmware: FirmwareLookup;
}

/**
 * Modules a file system asks the kernel for while mounting (request_module), which no metadata
 * records: the NFS client loads each protocol version as its own module.
 */
const FILESYSTEM_COMPANIONS: Record<string, readonly string[]> = {
  nfs: ['nfsv3', 'nfsv4'],
  nfs4: ['nfsv4'],
};

/** Reading .modinfo may spawn xz/zstd per module: a few at a time. */
const MODINFO_CONCURRENCY = 8;

export async function selectModules(
  kernel: KernelModules,
  options: ModuleSelectionOptions,
): Promise<ModuleSelection> {
  const selection = new Selection(kernel);
  switch (options.policy) {
    case 'all':
      for (const name of kernel.modules.keys()) selection.want(name, 'all');
      for (const name of kernel.builtin) selection.satisfiedBuiltin(name, 'all');
      break;
    case 'loaded':
      for (const name of parseProcModules(options.procModules ?? '')) {
        selection.request(name, 'loaded');
      }
      break;
    case 'needed':
      for (const modalias of options.modaliases ?? []) selection.requestDevice(modalias);
      for (const fs of options.filesystems ?? []) selection.requestFilesystem(fs);
      for (const name of options.storage ?? []) selection.request(name, 'storage');
      for (const name of options.base ?? BASE_RESCUE_MODULES) selection.request(name, 'base');
      break;
  }
  for (const name of options.extra ?? []) selection.request(name, 'extra');
  await selection.close();
  return selection.result(options.policy);
}

/** Module names in a /proc/modules text (`name size refs deps state address` per line). */
export function parseProcModules(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '')
    .map(normalizeModuleName);
}

/** The growing set of chosen modules and what became of every name asked for. */
class Selection {
  private readonly chosen = new Map<string, Set<string>>();
  private readonly builtin = new Map<string, Set<string>>();
  private readonly notFound = new Map<string, Set<string>>();
  private readonly unmatchedModaliases = new Set<string>();
  private readonly files = new Map<string, { path: string; size: number }>();
  /** Listed in modules.dep but not in the root (a damaged kernel package). */
  private readonly missingFiles = new Map<string, string>();
  private readonly firmware = new Map<string, Set<string>>();
  private pending: string[] = [];

  constructor(private readonly kernel: KernelModules) {}

  /** A name or alias, resolved as modprobe would. */
  request(name: string, by: string): void {
    this.take(resolveModuleName(this.kernel, name), name, by);
  }

  /** The kernel asks for `fs-TYPE` when mounting; a module name is the fallback. */
  requestFilesystem(type: string): void {
    const byAlias = resolveModuleName(this.kernel, `fs-${type}`);
    const resolution = byAlias.kind === 'absent' ? resolveModuleName(this.kernel, type) : byAlias;
    this.take(resolution, type, `filesystem ${type}`);
    for (const companion of FILESYSTEM_COMPANIONS[type] ?? []) {
      this.request(companion, `filesystem ${type}`);
    }
  }

  /** A name kmod would not even look for (an unmarked softdep): taken if it exists, else nothing. */
  private requestIfPresent(name: string, by: string): void {
    const resolution = resolveModuleName(this.kernel, name);
    if (resolution.kind !== 'absent') this.take(resolution, name, by);
  }

  requestDevice(modalias: string): void {
    const resolution = resolveModuleName(this.kernel, modalias);
    if (resolution.kind === 'absent') this.unmatchedModaliases.add(modalias);
    else this.take(resolution, modalias, `device ${modalias}`);
  }

  /** A module file of this kernel, by normalised name. */
  want(name: string, by: string): void {
    const missingFile = this.missingFiles.get(name);
    if (!this.kernel.modules.has(name) || missingFile !== undefined) {
      addTo(this.notFound, name, missingFile === undefined ? by : `${by} (${missingFile})`);
      return;
    }
    if (!this.chosen.has(name)) this.pending.push(name);
    addTo(this.chosen, name, by);
  }

  satisfiedBuiltin(name: string, by: string): void {
    if (!this.builtin.has(name)) {
      for (const fw of this.kernel.builtinInfo.get(name)?.get('firmware') ?? []) {
        addTo(this.firmware, fw, name);
      }
    }
    addTo(this.builtin, name, by);
  }

  private take(resolution: NameResolution, name: string, by: string): void {
    if (resolution.kind === 'module') for (const m of resolution.modules) this.want(m, by);
    else if (resolution.kind === 'builtin') this.satisfiedBuiltin(resolution.name, by);
    else addTo(this.notFound, normalizeModuleName(name), by);
  }

  /** Adds dependencies and soft dependencies until nothing new comes in, a wave at a time. */
  async close(): Promise<void> {
    while (this.pending.length > 0) {
      const wave = this.pending;
      this.pending = [];
      const infos = await mapLimit(wave, MODINFO_CONCURRENCY, (name) => this.inspect(name));
      wave.forEach((name, i) => {
        const entry = this.kernel.modules.get(name);
        for (const dep of entry?.deps ?? []) this.want(dep, `dependency of ${name}`);
        const soft = this.kernel.softdeps.get(name);
        const info = infos[i];
        for (const deps of [soft, info?.softdep]) {
          for (const s of [...(deps?.pre ?? []), ...(deps?.post ?? [])])
            this.request(s, `softdep of ${name}`);
          for (const s of deps?.unmarked ?? []) this.requestIfPresent(s, `softdep of ${name}`);
        }
        for (const fw of info?.firmware ?? []) addTo(this.firmware, fw, name);
      });
    }
  }

  /** Finds the module's file in the root and reads its modinfo; a missing file is not found. */
  private async inspect(name: string): Promise<ModuleInfo | undefined> {
    const entry = this.kernel.modules.get(name);
    if (entry === undefined) return undefined;
    const listed = entry.path.startsWith('/') ? entry.path : `/${this.kernel.dir}/${entry.path}`;
    const file = await this.kernel.view.lookup(listed);
    if (!file?.stats.isFile()) {
      const why = `modules.dep lists ${entry.path}, not in the root`;
      this.missingFiles.set(name, why);
      for (const by of this.chosen.get(name) ?? []) addTo(this.notFound, name, `${by} (${why})`);
      this.chosen.delete(name);
      return undefined;
    }
    this.files.set(name, { path: rootRelative(file.realPath), size: file.stats.size });
    return readModuleInfo(this.kernel.view.hostPath(file.realPath));
  }

  async result(policy: ModulePolicy): Promise<ModuleSelection> {
    const modules: ChosenModule[] = [];
    for (const [name, by] of this.chosen) {
      const file = this.files.get(name);
      if (file !== undefined) modules.push({ name, ...file, requestedBy: sorted(by) });
    }
    modules.sort((a, b) => compare(a.path, b.path));
    return {
      kernelVersion: this.kernel.version,
      policy,
      modules,
      files: modules.map((m) => m.path),
      bytes: modules.reduce((sum, m) => sum + m.size, 0),
      builtin: requested(this.builtin),
      notFound: requested(this.notFound),
      unmatchedModaliases: sorted(this.unmatchedModaliases),
      firmware: await findFirmware(this.kernel.view, this.kernel.version, this.firmware),
    };
  }
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(value);
  map.set(key, set);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort(compare);
}

function requested(map: Map<string, Set<string>>): RequestedName[] {
  return sorted(map.keys()).map((name) => ({ name, requestedBy: sorted(map.get(name) ?? []) }));
}
