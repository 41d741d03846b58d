import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RootView } from './fs-root.js';

/**
 * What the `needed` module policy asks for besides the base set: drivers for the devices
 * present (live hosts: every `modalias` under /sys/devices), the file systems the host mounts
 * and the storage stack under them. For a root that is not running, only its configuration
 * tells: /etc/fstab and /etc/crypttab.
 */
export interface ModuleHints {
  modaliases: string[];
  filesystems: string[];
  storage: string[];
}

/** Mount types that are not file systems on a device: no module to look for. */
const VIRTUAL_FILESYSTEMS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'ramfs',
  'securityfs',
  'cgroup',
  'cgroup2',
  'pstore',
  'bpf',
  'debugfs',
  'tracefs',
  'mqueue',
  'hugetlbfs',
  'configfs',
  'fusectl',
  'autofs',
  'rpc_pipefs',
  'nsfs',
  'binfmt_misc',
  'efivarfs',
  'swap',
  'none',
  'auto',
  'rootfs',
]);

function fstabEntries(text: string): { device: string; type: string }[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter((fields) => fields.length >= 3)
    .map(([device = '', , type = '']) => ({ device, type }));
}

/** Storage modules the device names of mounts point at. */
function storageFor(devices: string[]): string[] {
  const storage = new Set<string>();
  for (const device of devices) {
    if (device.startsWith('/dev/mapper/') || /^\/dev\/[^/]+\/[^/]+$/.test(device))
      storage.add('dm_mod');
    if (/^\/dev\/md/.test(device)) storage.add('md_mod');
  }
  return [...storage];
}

async function walkModaliases(dir: string, out: string[], depth = 0): Promise<void> {
  // /sys/devices is a tree of real directories (links point elsewhere and are not followed).
  if (depth > 24) return;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walkModaliases(path, out, depth + 1);
    else if (entry.name === 'modalias' && entry.isFile()) {
      const alias = (await readFile(path, 'utf8').catch(() => '')).trim();
      if (alias) out.push(alias);
    }
  }
}

/** Hints from the running kernel (/sys, /proc) and the root's configuration. */
export async function moduleHints(view: RootView, live: boolean): Promise<ModuleHints> {
  const fstab = fstabEntries((await view.readFile('/etc/fstab'))?.toString('utf8') ?? '');
  const crypttab = (await view.readFile('/etc/crypttab'))?.toString('utf8') ?? '';
  const filesystems = new Set(fstab.map((e) => e.type));
  const devices = fstab.map((e) => e.device);
  const storage = new Set(storageFor(devices));
  if (/^\s*[^#\s]/m.test(crypttab)) storage.add('dm_crypt');
  const modaliases: string[] = [];

  if (live) {
    const mounts = fstabEntries(await readFile('/proc/self/mounts', 'utf8').catch(() => ''));
    for (const mount of mounts) filesystems.add(mount.type);
    for (const name of storageFor(mounts.map((m) => m.device))) storage.add(name);
    const mdstat = await readFile('/proc/mdstat', 'utf8').catch(() => '');
    // "Personalities : [raid1] [raid6] [raid5] [raid4]": each is a module (raid456 for 4/5/6).
    for (const [, personality] of mdstat.matchAll(/\[(raid\d+|linear|multipath)\]/g)) {
      if (personality) storage.add(/^raid[456]$/.test(personality) ? 'raid456' : personality);
    }
    for (const name of await readdir('/sys/block').catch(() => [] as string[])) {
      if (!name.startsWith('dm-')) continue;
      storage.add('dm_mod');
      const uuid = await readFile(`/sys/block/${name}/dm/uuid`, 'utf8').catch(() => '');
      if (uuid.startsWith('CRYPT-')) storage.add('dm_crypt');
    }
    await walkModaliases('/sys/devices', modaliases);
  }

  const sorted = (set: Iterable<string>) => [...new Set(set)].sort();
  return {
    modaliases: sorted(modaliases),
    filesystems: sorted([...filesystems].filter((t) => t && !VIRTUAL_FILESYSTEMS.has(t))),
    storage: sorted(storage),
  };
}
