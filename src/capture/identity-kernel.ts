import type { RootView } from './fs-root.js';
import { newestVersion } from './identity-version.js';

/**
 * Which kernel a captured root boots, found from its files alone (a root is never run, so no
 * `uname -r`): the kernel images in /boot first, since that is what the bootloader offers, and
 * the module trees when /boot is empty or lives on a partition that was not mounted.
 */

/** Where distributions keep module trees: merged-/usr roots, and older split ones. */
const MODULE_DIRS = ['/usr/lib/modules', '/lib/modules'];

/**
 * Where a kernel image may be, most specific first: Debian/Ubuntu/RHEL install
 * /boot/vmlinuz-VERSION; Fedora and Arch also keep the image in the module tree; the bare
 * /boot/vmlinuz (openSUSE's link to the default kernel) comes last because it may be another
 * version than the one asked for.
 */
function kernelImageCandidates(version: string): string[] {
  return [
    `/boot/vmlinuz-${version}`,
    ...MODULE_DIRS.map((dir) => `${dir}/${version}/vmlinuz`),
    '/boot/vmlinuz',
  ];
}

/** The path in the root of the kernel image of `version`, or null when there is none. */
export async function findKernelImage(view: RootView, version: string): Promise<string | null> {
  if (!isPlausibleVersion(version)) return null;
  for (const candidate of kernelImageCandidates(version)) {
    const entry = await view.lookup(candidate);
    if (entry?.stats.isFile()) return candidate;
  }
  return null;
}

/** Whether the root has anything of kernel `version`: its image or its module tree. */
export async function hasKernel(view: RootView, version: string): Promise<boolean> {
  if ((await findKernelImage(view, version)) !== null) return true;
  for (const dir of MODULE_DIRS) {
    if ((await view.lookup(`${dir}/${version}`))?.stats.isDirectory()) return true;
  }
  return false;
}

/**
 * A kernel release string starts with a digit (6.1.0-50-cloud-amd64). This rejects names that
 * only look like versions in a directory listing: Fedora's rescue image
 * /boot/vmlinuz-0-rescue-<machine-id>, Arch's /boot/vmlinuz-linux, and anything with a slash.
 */
function isPlausibleVersion(version: string): boolean {
  return /^[0-9]/.test(version) && !version.includes('/') && !version.startsWith('0-rescue-');
}

/** Versions of the regular kernel images in /boot (vmlinuz-VERSION). */
async function bootKernelVersions(view: RootView): Promise<string[]> {
  const versions: string[] = [];
  for (const name of await view.readdir('/boot')) {
    if (!name.startsWith('vmlinuz-')) continue;
    const version = name.slice('vmlinuz-'.length);
    if (!isPlausibleVersion(version)) continue;
    if ((await view.lookup(`/boot/${name}`))?.stats.isFile()) versions.push(version);
  }
  return versions;
}

/** Versions of the module trees (a directory per kernel). */
async function moduleTreeVersions(view: RootView): Promise<string[]> {
  const versions = new Set<string>();
  for (const dir of MODULE_DIRS) {
    for (const name of await view.readdir(dir)) {
      if (!isPlausibleVersion(name)) continue;
      if ((await view.lookup(`${dir}/${name}`))?.stats.isDirectory()) versions.add(name);
    }
  }
  return [...versions];
}

/** The newest kernel of the root: from /boot, else from the module trees; null if none. */
export async function newestKernelVersion(view: RootView): Promise<string | null> {
  return (
    newestVersion(await bootKernelVersions(view)) ??
    newestVersion(await moduleTreeVersions(view)) ??
    null
  );
}
