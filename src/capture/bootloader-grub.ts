import type { RootView } from './fs-root.js';
import type { BootloaderSection } from './manifest.js';

/**
 * GRUB as its files show it. Platforms whose modules the host has (grub-pc-bin,
 * grub-efi-amd64-bin...) are directories with a modinfo.sh under the library directory;
 * grub-install copies a platform's directory, modinfo.sh included, into /boot/grub, so those
 * copies tell what was really installed. Nothing of GRUB is run.
 */

type GrubSection = NonNullable<BootloaderSection['grub']>;

/** Debian and Fedora keep the platforms in /usr/lib/grub, openSUSE in /usr/share/grub2. */
const GRUB_LIB_DIRS = ['/usr/lib/grub', '/usr/share/grub2'];
/** Debian's grub-install writes /boot/grub, Fedora's and openSUSE's grub2-install /boot/grub2. */
const GRUB_BOOT_DIRS = ['/boot/grub', '/boot/grub2'];
/** Platform directories are CPU-PLATFORM: i386-pc, x86_64-efi, arm64-efi, powerpc-ieee1275. */
const PLATFORM_NAME = /^[a-z0-9_]+-[a-z0-9_]+$/;

/** The shell assignments of a modinfo.sh (`grub_version="2.06"`); it is read, never sourced. */
export function parseModinfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|(\S*))\s*$/.exec(line);
    if (match?.[1] === undefined) continue;
    fields[match[1]] = match[2] ?? match[3] ?? match[4] ?? '';
  }
  return fields;
}

/**
 * The version modinfo.sh states. Debian also writes its package version (2.06-13+deb12u2) as
 * grub_package_version, which tells the distribution's patch level: that one is kept when it
 * refines grub_version, else grub_version.
 */
export function modinfoVersion(fields: Record<string, string>): string | null {
  const version = fields.grub_version ?? '';
  const packageVersion = fields.grub_package_version ?? '';
  if (packageVersion !== '' && packageVersion.startsWith(version)) return packageVersion;
  return version === '' ? null : version;
}

/** Platform directories of `dir` that `isPlatform` accepts, sorted. */
async function platformDirs(
  view: RootView,
  dir: string,
  isPlatform: (path: string) => Promise<boolean>,
): Promise<string[]> {
  const found: string[] = [];
  for (const name of await view.readdir(dir)) {
    if (!PLATFORM_NAME.test(name)) continue;
    const path = `${dir}/${name}`;
    if ((await view.lookup(path))?.stats.isDirectory() && (await isPlatform(path)))
      found.push(name);
  }
  return found;
}

async function hasModinfo(view: RootView, platformDir: string): Promise<boolean> {
  return (await view.lookup(`${platformDir}/modinfo.sh`))?.stats.isFile() ?? false;
}

/** An installed platform: grub-install copied its modinfo.sh, or at least its modules. */
async function isInstalledPlatform(view: RootView, platformDir: string): Promise<boolean> {
  if (await hasModinfo(view, platformDir)) return true;
  return (await view.readdir(platformDir)).some((name) => name.endsWith('.mod'));
}

/** The `grub` part of the bootloader section, or null when the root has no GRUB at all. */
export async function readGrub(view: RootView, warnings: string[]): Promise<GrubSection | null> {
  const available = new Map<string, string | null>(); // platform → version
  for (const dir of GRUB_LIB_DIRS) {
    for (const platform of await platformDirs(view, dir, (p) => hasModinfo(view, p))) {
      if (available.has(platform)) continue;
      const bytes = await view.readFile(`${dir}/${platform}/modinfo.sh`);
      available.set(
        platform,
        bytes === undefined ? null : modinfoVersion(parseModinfo(bytes.toString('utf8'))),
      );
    }
  }
  const installed = new Set<string>();
  for (const dir of GRUB_BOOT_DIRS) {
    for (const platform of await platformDirs(view, dir, (p) => isInstalledPlatform(view, p))) {
      installed.add(platform);
    }
  }
  let configFile: string | null = null;
  for (const dir of GRUB_BOOT_DIRS) {
    if ((await view.lookup(`${dir}/grub.cfg`))?.stats.isFile()) {
      configFile = `${dir}/grub.cfg`;
      break;
    }
  }
  if (available.size === 0 && installed.size === 0 && configFile === null) return null;
  const versions = [...new Set([...available.values()].filter((v) => v !== null))].sort();
  if (versions.length > 1) {
    warnings.push(
      `GRUB platforms disagree on the version (${versions.join(', ')}): packages from different releases`,
    );
  }
  const availableTargets = [...available.keys()].sort();
  const version = availableTargets.flatMap((p) => available.get(p) ?? []).at(0) ?? null;
  return {
    version,
    installedTargets: [...installed].sort(),
    availableTargets,
    configFile,
  };
}
