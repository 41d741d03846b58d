import { existsSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CaptureManifest } from '../capture/manifest.js';
import type { Layout } from '../layout/model.js';
import type { LayoutPlan } from '../layout/plan.js';
import { runHostTool } from '../layout/run-tool.js';
import {
  type DriverUse,
  hostDriverModules,
  type IdDifference,
  type InitramfsFacts,
} from './initramfs-decision.js';

/**
 * What initramfs-decision.ts weighs, read from this machine after the layout was recreated and
 * the backup restored: the ids on the disks, the drivers in sysfs, the restored /boot.
 */
export interface FactSources {
  /** The restored system. */
  root: string;
  /** Undefined when this recovery did not recreate the disks (restoreonly). */
  plan?: LayoutPlan;
  /** The layout as captured (before migration), for the disk sizes. */
  captured?: Layout;
  capture: CaptureManifest | undefined;
  /** Where sysfs is: /sys, or a test's tree. */
  sys?: string;
}

export async function initramfsFacts(sources: FactSources): Promise<InitramfsFacts> {
  const sys = sources.sys ?? '/sys';
  const { plan } = sources;
  const disks = plan?.layout.disks.map((d) => d.device) ?? [];
  return {
    ...(plan
      ? {
          layout: {
            renames: plan.renames,
            resized: resizedDisks(sources.captured, plan),
            ids: await idDifferences(plan.layout),
          },
        }
      : {}),
    drivers: await driversHere(disks, sys),
    hostDrivers: hostDriverModules(sources.capture),
    kernels: await kernelsIn(join(sources.root, 'boot')),
  };
}

/** Disks of the plan whose size here is not the captured one (the layout was scaled). */
export function resizedDisks(captured: Layout | undefined, plan: LayoutPlan): string[] {
  const lines: string[] = [];
  for (const disk of captured?.disks ?? []) {
    const to = plan.migration.disks.get(disk.device);
    const here = plan.layout.disks.find((d) => d.device === to);
    if (here !== undefined && here.size !== disk.size)
      lines.push(`${here.device}: ${gib(disk.size)} captured, ${gib(here.size)} here`);
  }
  return lines;
}

/**
 * The ids of the recreated layout that are not the captured ones. The recreate script keeps
 * every id, so this finds only what it could not keep, or left out (layout.exclude).
 */
export async function idDifferences(layout: Layout): Promise<IdDifference[]> {
  const mountpoint = (device: string) => {
    const mount = layout.mounts.find((m) => m.device === device);
    return mount ? ` (${mount.mountpoint})` : '';
  };
  const wanted: { what: string; device: string; tag: string; id: string }[] = [];
  for (const disk of layout.disks)
    for (const p of disk.table?.partitions ?? [])
      if (p.uuid !== undefined)
        wanted.push({
          what: `the PARTUUID of ${p.device}`,
          device: p.device,
          tag: 'PART_ENTRY_UUID',
          id: p.uuid,
        });
  for (const luks of layout.encrypted)
    wanted.push({
      what: `the LUKS UUID of ${luks.device}`,
      device: luks.device,
      tag: 'UUID',
      id: luks.uuid,
    });
  for (const fs of layout.filesystems)
    wanted.push({
      what: `the UUID of file system ${fs.device}${mountpoint(fs.device)}`,
      device: fs.device,
      tag: 'UUID',
      id: fs.uuid,
    });
  for (const swap of layout.swaps)
    if (swap.uuid !== undefined)
      wanted.push({
        what: `the UUID of swap ${swap.device}`,
        device: swap.device,
        tag: 'UUID',
        id: swap.uuid,
      });
  const differences: IdDifference[] = [];
  for (const w of wanted) {
    const here = await probeId(w.device, w.tag);
    if (here?.toLowerCase() !== w.id.toLowerCase())
      differences.push({ what: w.what, captured: w.id, here });
  }
  for (const raid of layout.raids) {
    const here = await raidUuid(raid.device);
    if (here?.toLowerCase() !== raid.uuid.toLowerCase())
      differences.push({ what: `the UUID of RAID ${raid.device}`, captured: raid.uuid, here });
  }
  return differences;
}

/** One tag of what is on a device, probed directly (-p: never blkid's cache). */
export async function probeId(device: string, tag: string): Promise<string | undefined> {
  const result = await runHostTool('blkid', ['-p', '-s', tag, '-o', 'value', device]);
  const value = result.stdout.trim();
  return result.exitCode === 0 && value !== '' ? value : undefined;
}

async function raidUuid(device: string): Promise<string | undefined> {
  const result = await runHostTool('mdadm', ['--detail', '--export', device]);
  if (result.exitCode !== 0) return undefined;
  return /^MD_UUID=(.+)$/m.exec(result.stdout)?.[1]?.trim();
}

/**
 * The modules that drive the given disks and every network card here: each device's sysfs
 * path walked up to the root, taking the module of every driver bound on the way (a disk on
 * SATA: sd_mod, ahci; on virtio: virtio_blk, virtio_pci). Built-in drivers have no module and
 * are the same kernel's as the host's: left out. Only these devices, not all of the rescue
 * system's: its own medium (a CD drive, a USB stick) is nothing the restored system boots from.
 */
export async function driversHere(
  disks: readonly string[],
  sys = '/sys',
): Promise<{ uses: DriverUse[]; unreadable: string[] }> {
  const uses: DriverUse[] = [];
  const unreadable: string[] = [];
  for (const disk of disks) {
    const name = basename(existsSync(disk) ? await realpath(disk) : disk);
    const modules = await modulesAbove(join(sys, 'class', 'block', name), sys);
    if (modules === undefined) unreadable.push(disk);
    else for (const module of modules) uses.push({ module, device: disk });
  }
  const cards = existsSync(join(sys, 'class', 'net'))
    ? await readdir(join(sys, 'class', 'net'))
    : [];
  for (const card of cards.sort()) {
    const modules = await modulesAbove(join(sys, 'class', 'net', card), sys);
    for (const module of modules ?? []) uses.push({ module, device: `network card ${card}` });
  }
  return { uses, unreadable };
}

/** The modules of the drivers bound to a sysfs device and its parents; undefined: no such device. */
async function modulesAbove(entry: string, sys: string): Promise<string[] | undefined> {
  let dir: string;
  try {
    dir = await realpath(entry);
  } catch {
    return undefined;
  }
  const top = await realpath(sys);
  const modules: string[] = [];
  while (dir.startsWith(`${top}/`)) {
    const module = join(dir, 'driver', 'module');
    if (existsSync(module)) {
      const name = basename(await realpath(module)).replaceAll('-', '_');
      if (!modules.includes(name)) modules.push(name);
    }
    dir = dirname(dir);
  }
  return modules;
}

/**
 * The kernels in a restored /boot and whether each has an initramfs, by the names the
 * distributions give them: initrd.img-V (Debian), initramfs-V.img (Fedora, RHEL), initrd-V (SUSE).
 */
export async function kernelsIn(boot: string): Promise<{ version: string; initramfs: boolean }[]> {
  const names = existsSync(boot) ? await readdir(boot) : [];
  const kernels: { version: string; initramfs: boolean }[] = [];
  for (const name of names.sort()) {
    const version = /^vmlinu[xz]-(.+)$/.exec(name)?.[1];
    if (version === undefined) continue;
    let initramfs = false;
    for (const candidate of [
      `initrd.img-${version}`,
      `initramfs-${version}.img`,
      `initrd-${version}`,
    ])
      if (await nonEmpty(join(boot, candidate))) initramfs = true;
    kernels.push({ version, initramfs });
  }
  return kernels;
}

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
