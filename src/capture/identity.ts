import { hostname, release } from 'node:os';
import { parseOsRelease } from '../config/facts.js';
import type { RootView } from './fs-root.js';
import { hasKernel, newestKernelVersion } from './identity-kernel.js';
import type { Identity } from './manifest.js';

export { findKernelImage } from './identity-kernel.js';

/**
 * The `identity` section: which machine this is (hostname, OS, architecture, kernel, boot mode).
 * A root is only read: its hostname is its /etc/hostname, not the hostname of the machine doing
 * the capture, and its kernel is found among its files.
 */

export interface IdentityOptions {
  /** true: the running host (root `/`), whose kernel and firmware can be asked. */
  live: boolean;
  /** x86_64, aarch64, ... (decided by the caller: a root's arch is not in any one file). */
  arch: string;
  /** For a root: the kernel the configuration names (kernel.version), checked to exist. */
  kernelVersion?: string;
}

export interface IdentityResult {
  section: Identity;
  warnings: string[];
}

/** os-release(5): /etc/os-release first, /usr/lib/os-release when /etc has none. */
const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'];

async function readOsRelease(view: RootView, warnings: string[]): Promise<Record<string, string>> {
  for (const path of OS_RELEASE_FILES) {
    const bytes = await view.readFile(path);
    if (bytes !== undefined) return parseOsRelease(bytes.toString('utf8'));
  }
  warnings.push(`no os-release (${OS_RELEASE_FILES.join(', ')}): the OS is unknown`);
  return {};
}

/** The root's own hostname: the first line of /etc/hostname, '' when it has none. */
async function readRootHostname(view: RootView): Promise<string> {
  const bytes = await view.readFile('/etc/hostname');
  if (bytes === undefined) return '';
  // hostname(5): comments are allowed; the first other line is the name.
  const line = bytes
    .toString('utf8')
    .split('\n')
    .map((text) => text.trim())
    .find((text) => text !== '' && !text.startsWith('#'));
  return line ?? '';
}

async function rootKernelVersion(
  view: RootView,
  configured: string | undefined,
  warnings: string[],
): Promise<string | null> {
  if (configured !== undefined && configured !== '') {
    // The configuration is believed, but a typo would otherwise surface much later (no
    // modules, no kernel image), so say it now.
    if (!(await hasKernel(view, configured))) {
      warnings.push(
        `kernel ${configured} (from the configuration) is not in the root: neither /lib/modules/${configured} nor /boot/vmlinuz-${configured} exists`,
      );
    }
    return configured;
  }
  const found = await newestKernelVersion(view);
  if (found === null) warnings.push('no kernel found in the root (/boot, /usr/lib/modules)');
  return found;
}

/** Reads the identity of the root behind `view` (the running host when `live`). */
export async function readIdentity(
  view: RootView,
  options: IdentityOptions,
): Promise<IdentityResult> {
  const warnings: string[] = [];
  const osRelease = await readOsRelease(view, warnings);
  const section: Identity = {
    hostname: options.live ? hostname() : await readRootHostname(view),
    os: {
      // os-release(5) defaults: ID=linux, PRETTY_NAME="Linux".
      id: osRelease.ID ?? 'linux',
      versionId: osRelease.VERSION_ID ?? '',
      idLike: (osRelease.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
      prettyName: osRelease.PRETTY_NAME ?? 'Linux',
      versionCodename: osRelease.VERSION_CODENAME ?? '',
    },
    arch: options.arch,
    kernelVersion: options.live
      ? release()
      : await rootKernelVersion(view, options.kernelVersion, warnings),
    // The firmware interface shows in /sys only on the running host; a root says nothing.
    bootMode: options.live
      ? (await view.lookup('/sys/firmware/efi'))?.stats.isDirectory()
        ? 'uefi'
        : 'bios'
      : null,
  };
  return { section, warnings: warnings.sort() };
}
