/**
 * The capture bundle: `capture.json` plus a content-addressed store of the files it names.
 *
 *   DIR/capture.json          this manifest, canonical JSON (sorted keys, 2-space indent, arrays
 *                             in a stable order, no timestamps): two captures of an unchanged
 *                             host are byte-identical, and `diff` of two manifests is readable
 *   DIR/files/<sha256>        the content of every regular file, named by its sha256
 *
 * A content-addressed store rather than a tar: a file that appears under several names (a
 * library and its hwcaps copy, hard links) is stored once, a bundle can be checked file by file
 * against its manifest, and two bundles of one host share almost every file. Symlinks,
 * directories, modes, owners and xattrs live in the manifest only.
 *
 * Every path in the manifest is absolute inside the captured root ("/usr/bin/curl"), whatever
 * directory the root was mounted at. The schema string changes when the format does.
 */
import type { Layout } from '../layout/model.js';

export const CAPTURE_SCHEMA = 'lifeboat.capture/v1';
export const MANIFEST_FILE = 'capture.json';
export const STORE_DIR = 'files';

export interface CaptureManifest {
  schema: typeof CAPTURE_SCHEMA;
  /** How this capture was taken. */
  source: CaptureSource;
  identity: Identity;
  programs: ProgramsSection;
  libraries: LibrariesSection;
  copyAsIs: CopyAsIsSection;
  /** null when the root has no kernel (a container image, a VM without /boot). */
  kernel: KernelSection | null;
  network: NetworkSection;
  bootloader: BootloaderSection;
  /**
   * The disk layout (src/layout/model.ts, lifeboat.layout/v1) of a live host; null for a
   * mounted root, whose disks are not this machine's.
   */
  layout: Layout | null;
  /** Everything the rescue system gets from the host, sorted by path. */
  files: FileRecord[];
  /** Things a person should know (a missing optional program, firmware not found...), sorted. */
  warnings: string[];
}

export interface CaptureSource {
  /** true: the running host (`--root /`); false: a mounted or unpacked root. */
  live: boolean;
  /** The settings that shaped what was captured. */
  modulePolicy: 'needed' | 'loaded' | 'all';
}

// ---------------------------------------------------------------------------------------------

export interface Identity {
  /** Live: the kernel's hostname; a root: its /etc/hostname ('' if none). */
  hostname: string;
  os: {
    /** os-release ID, VERSION_ID, ID_LIKE, PRETTY_NAME, VERSION_CODENAME. */
    id: string;
    versionId: string;
    idLike: string[];
    prettyName: string;
    versionCodename: string;
  };
  /** x86_64, aarch64, ... */
  arch: string;
  /** Live: the running kernel; a root: kernel.version, else the newest kernel in /boot. null: none. */
  kernelVersion: string | null;
  /** Live hosts only (from /sys/firmware/efi); null for a root. */
  bootMode: 'bios' | 'uefi' | null;
}

// ---------------------------------------------------------------------------------------------

export interface ProgramRecord {
  /** As the configuration names it: "curl" or "/opt/backup/bin/dsmc". */
  name: string;
  /** Where it was found (may be a symlink). */
  path: string;
  /** The file itself. */
  realPath: string;
  kind: 'elf' | 'script';
  /** PT_INTERP of an ELF program, or the #! interpreter of a script. */
  interpreter: string | null;
  /** Real paths of the libraries it loads, sorted. */
  libraries: string[];
  required: boolean;
}

export interface ProgramsSection {
  found: ProgramRecord[];
  /** Names not found on the root's PATH. A required one aborts the capture instead. */
  missing: { name: string; required: boolean }[];
}

export interface LibraryRecord {
  /** Where the loader finds it, e.g. /lib/x86_64-linux-gnu/libc.so.6. */
  path: string;
  realPath: string;
  soname: string | null;
  /** Real paths of the programs and libraries that need it, sorted. */
  neededBy: string[];
  /** true when it is there because of the dlopen list (rescue.libs and the defaults). */
  extra: boolean;
}

export interface LibrariesSection {
  resolved: LibraryRecord[];
  /** Libraries that could not be found, with who needs them (fatal for a required program). */
  unresolved: { name: string; neededBy: string[] }[];
  /** Entries of the dlopen list that matched nothing in the root. */
  extrasNotFound: string[];
}

export interface CopyAsIsSection {
  include: string[];
  exclude: string[];
  /** Included paths that do not exist in the root. */
  missing: string[];
}

// ---------------------------------------------------------------------------------------------

export interface KernelSection {
  version: string;
  /** The kernel image in the root, e.g. /boot/vmlinuz-6.1.0-50-cloud-amd64; null if not found. */
  image: string | null;
  /** The modules chosen, sorted by name. */
  modules: { name: string; path: string; requestedBy: string[] }[];
  /** Names asked for that are built into this kernel. */
  builtin: string[];
  /** Names asked for that this kernel does not have. */
  notFound: { name: string; requestedBy: string[] }[];
  firmware: {
    found: { name: string; path: string; modules: string[] }[];
    missing: { name: string; modules: string[] }[];
  };
}

// ---------------------------------------------------------------------------------------------

export interface NetworkInterface {
  name: string;
  /** Lower-case aa:bb:cc:dd:ee:ff; null when a root's config does not say. */
  mac: string | null;
  /** CIDR notation: 192.0.2.10/24, 2001:db8::10/64. */
  addresses: string[];
  dhcp: boolean;
  mtu: number | null;
  /** Kernel driver (live hosts: /sys/class/net/NAME/device/driver), so its module goes in. */
  driver: string | null;
}

export interface NetworkRoute {
  /** "default" or CIDR. */
  destination: string;
  gateway: string | null;
  device: string | null;
}

export interface NetworkSection {
  /** live: read from the kernel (`ip -json`); config: parsed from the root's files (best effort). */
  source: 'live' | 'config';
  /** Which files the config was read from (for a root), sorted. */
  configFiles: string[];
  interfaces: NetworkInterface[];
  routes: NetworkRoute[];
  dns: { servers: string[]; search: string[] };
}

// ---------------------------------------------------------------------------------------------

export interface BootloaderSection {
  grub: {
    /** From /usr/lib/grub/<platform>/modinfo.sh (grub_version). */
    version: string | null;
    /** Platforms GRUB is installed for on this host (/boot/grub/PLATFORM or /boot/grub2/PLATFORM): i386-pc, x86_64-efi. */
    installedTargets: string[];
    /** Platforms whose GRUB modules the host has (/usr/lib/grub/<platform>). */
    availableTargets: string[];
    /** /boot/grub/grub.cfg or /boot/grub2/grub.cfg, when present. */
    configFile: string | null;
  } | null;
  /** The EFI system partition as /etc/fstab (or, live, the mount table) has it. */
  esp: { mountPoint: string; device: string } | null;
  /** Live UEFI hosts: the firmware's boot entries, read from efivarfs. */
  efi: {
    bootCurrent: string | null;
    bootOrder: string[];
    entries: { id: string; description: string; path: string | null; active: boolean }[];
  } | null;
}

// ---------------------------------------------------------------------------------------------

export type FileRecord = RegularFileRecord | SymlinkRecord | DirectoryRecord;

interface RecordBase {
  /** Absolute inside the root. */
  path: string;
  uid: number;
  gid: number;
}

export interface RegularFileRecord extends RecordBase {
  type: 'file';
  /** Permission bits in octal with setuid/setgid/sticky, e.g. "0755", "4755". */
  mode: string;
  size: number;
  sha256: string;
  /** Extended attributes (name → base64 value), when the file has any. */
  xattrs?: Record<string, string>;
}

export interface SymlinkRecord extends RecordBase {
  type: 'symlink';
  target: string;
}

export interface DirectoryRecord extends RecordBase {
  type: 'dir';
  mode: string;
  xattrs?: Record<string, string>;
}
