import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobError } from '../errors.js';
import {
  type ConfigFile,
  emptyLayout,
  type Filesystem,
  type Layout,
  type LuksVolume,
  type RaidArray,
  type Swap,
} from './model.js';
import {
  parseBlkidExport,
  parseBtrfsSubvolumes,
  parseTune2fs,
  parseXfsInfo,
  vfatOptions,
} from './parse-filesystems.js';
import { parseFindmnt } from './parse-findmnt.js';
import { allDevices, type BlockDevice, parseLsblk } from './parse-lsblk.js';
import { parseLuksDump } from './parse-luks.js';
import { LVM_REPORT_FIELDS, parseLvmReports } from './parse-lvm.js';
import { parseMdadm } from './parse-mdadm.js';
import { parseSfdiskJson } from './parse-sfdisk.js';
import { compact } from './parse-util.js';

/**
 * Captures the disk layout of the running system with the standard tools (lsblk, sfdisk, the LVM
 * reports, mdadm, cryptsetup, blkid, tune2fs, xfs_db, btrfs, findmnt): nothing is installed,
 * nothing is written, nothing is mounted. `run` runs one tool with an argument list and gives its
 * output; a test gives recorded outputs instead.
 */
export type ToolRunner = (
  program: string,
  args: readonly string[],
) => Promise<{ exitCode: number; stdout: string; stderr?: string }>;

export interface LayoutCaptureOptions {
  run: ToolRunner;
  /** Where fstab, crypttab and mdadm.conf are read from (default /). */
  root?: string;
  /** Told about what could not be captured (a btrfs not mounted, so no subvolumes). */
  warn?: (message: string) => void;
}

const FILE_SYSTEMS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat']);
const CONFIG_FILES = ['/etc/fstab', '/etc/crypttab', '/etc/mdadm/mdadm.conf', '/etc/mdadm.conf'];

export async function captureLayout(options: LayoutCaptureOptions): Promise<Layout> {
  const { run } = options;
  const warn = options.warn ?? (() => undefined);
  const tool = async (program: string, args: string[]): Promise<string | undefined> => {
    const result = await run(program, args);
    return result.exitCode === 0 ? result.stdout : undefined;
  };
  const required = async (program: string, args: string[]): Promise<string> => {
    const result = await run(program, args);
    if (result.exitCode !== 0) {
      const said = result.stderr?.trim().split('\n').slice(-3).join('; ');
      throw new JobError(
        `could not read the disk layout: ${program} ${args.join(' ')} exited ${result.exitCode}${said ? `: ${said}` : ''}`,
      );
    }
    return result.stdout;
  };

  const roots = parseLsblk(
    await required('lsblk', ['--json', '--bytes', '--paths', '--output-all']),
  );
  const devices = allDevices(roots);
  // Without udev (a minimal host, a container) lsblk knows no file systems: blkid probes them.
  for (const device of devices) {
    if (device.fstype !== undefined) continue;
    const probe = parseBlkidExport(
      (await tool('blkid', ['-p', '-o', 'export', device.path])) ?? '',
    );
    if (probe.type === undefined) continue;
    device.fstype = probe.type;
    device.uuid ??= probe.uuid;
    device.label ??= probe.label;
  }
  const parents = parentMap(roots);

  // LVM first: its device-mapper names (/dev/mapper/vg0-root) become /dev/VG/LV everywhere.
  const lvm = await lvmReports(tool);
  const rename = (path: string) => lvm.dmPaths.get(path) ?? path;

  const layout = emptyLayout();
  layout.volumeGroups = lvm.volumeGroups;
  const used = (d: BlockDevice) => d.children.length > 0 || d.fstype !== undefined;
  for (const disk of roots.filter((d) => d.type === 'disk' && used(d))) {
    const table = await tool('sfdisk', ['--json', disk.path]);
    layout.disks.push(
      compact({
        device: disk.path,
        size: disk.size,
        logicalSectorSize: disk.logicalSectorSize,
        physicalSectorSize: disk.physicalSectorSize,
        serial: disk.serial,
        wwn: disk.wwn,
        model: disk.model,
        table: table === undefined ? null : parseSfdiskJson(table),
      }),
    );
  }

  for (const md of devices.filter((d) => /^(raid\d+|linear)$/.test(d.type))) {
    const exported = await required('mdadm', ['--detail', '--export', md.path]);
    const detail = await required('mdadm', ['--detail', md.path]);
    layout.raids.push(parseMdadm(md.path, exported, detail) satisfies RaidArray);
  }

  for (const crypt of devices.filter((d) => d.type === 'crypt')) {
    const underlying = parents.get(crypt.path);
    if (underlying === undefined) continue;
    const mapping = crypt.path.replace(/^\/dev\/mapper\//, '');
    const dump = await required('cryptsetup', ['luksDump', underlying]);
    const json = /^Version:\s*2/m.test(dump)
      ? await required('cryptsetup', ['luksDump', '--dump-json-metadata', underlying])
      : undefined;
    layout.encrypted.push(
      parseLuksDump(rename(underlying), mapping, dump, json) satisfies LuksVolume,
    );
  }

  for (const device of devices) {
    if (device.fstype === 'swap') {
      layout.swaps.push(
        compact({ device: rename(device.path), uuid: device.uuid, label: device.label }) as Swap,
      );
      continue;
    }
    if (device.fstype === undefined || !FILE_SYSTEMS.has(device.fstype)) continue;
    layout.filesystems.push(await filesystem(device, rename(device.path), tool, warn));
  }

  const mounts = await tool('findmnt', [
    '--json',
    '--real',
    '--output',
    'SOURCE,TARGET,FSTYPE,OPTIONS',
  ]);
  // Mounts of the file systems captured here (not of a disk left out, nor of the rescue medium).
  const captured = new Set(layout.filesystems.map((f) => f.device));
  layout.mounts = (mounts === undefined ? [] : parseFindmnt(mounts))
    .map((m) => ({ ...m, device: rename(m.device) }))
    .filter((m) => captured.has(m.device));
  layout.configFiles = await configFiles(options.root ?? '/');

  const byDevice = <T extends { device: string }>(a: T, b: T) => (a.device < b.device ? -1 : 1);
  layout.disks.sort(byDevice);
  layout.raids.sort(byDevice);
  layout.encrypted.sort(byDevice);
  layout.filesystems.sort(byDevice);
  layout.swaps.sort(byDevice);
  return layout;
}

/** Each device's parent in the lsblk tree (the device a partition, LV or mapping sits on). */
function parentMap(roots: readonly BlockDevice[]): Map<string, string> {
  const parents = new Map<string, string>();
  const visit = (d: BlockDevice) => {
    for (const child of d.children) {
      if (!parents.has(child.path)) parents.set(child.path, d.path);
      visit(child);
    }
  };
  roots.forEach(visit);
  return parents;
}

async function lvmReports(tool: (p: string, a: string[]) => Promise<string | undefined>) {
  const report = (command: 'pvs' | 'vgs' | 'lvs') =>
    tool('lvm', [
      command,
      '--reportformat',
      'json',
      '--units',
      'b',
      '--nosuffix',
      ...(command === 'lvs' ? ['-a'] : []),
      '-o',
      LVM_REPORT_FIELDS[command],
    ]);
  const [pvs, vgs, lvs] = await Promise.all([report('pvs'), report('vgs'), report('lvs')]);
  // No LVM tools, or no LVM: no volume groups.
  if (pvs === undefined || vgs === undefined || lvs === undefined)
    return { volumeGroups: [], dmPaths: new Map<string, string>() };
  return parseLvmReports({ pvs, vgs, lvs });
}

async function filesystem(
  device: BlockDevice,
  path: string,
  tool: (p: string, a: string[]) => Promise<string | undefined>,
  warn: (message: string) => void,
): Promise<Filesystem> {
  const probe = parseBlkidExport((await tool('blkid', ['-p', '-o', 'export', device.path])) ?? '');
  const type = probe.type ?? device.fstype ?? '';
  const base = {
    device: path,
    type,
    uuid: probe.uuid ?? device.uuid ?? '',
    ...((probe.label ?? device.label) ? { label: probe.label ?? device.label } : {}),
  };
  switch (type) {
    case 'ext2':
    case 'ext3':
    case 'ext4': {
      const text = await tool('tune2fs', ['-l', device.path]);
      return { ...base, options: text === undefined ? {} : parseTune2fs(text) };
    }
    case 'xfs': {
      const text = await tool('xfs_db', ['-r', '-c', 'info', device.path]);
      return { ...base, options: text === undefined ? {} : parseXfsInfo(text) };
    }
    case 'vfat':
      return { ...base, options: vfatOptions(probe) };
    case 'btrfs': {
      const mountpoint = device.mountpoints[0];
      if (mountpoint === undefined) {
        warn(`${path}: btrfs is not mounted, so its subvolumes are not captured`);
        return { ...base, options: {} };
      }
      const list = await tool('btrfs', ['subvolume', 'list', '-a', mountpoint]);
      const def = await tool('btrfs', ['subvolume', 'get-default', mountpoint]);
      if (list === undefined || def === undefined) return { ...base, options: {} };
      return { ...base, options: {}, ...parseBtrfsSubvolumes(list, def) };
    }
    default:
      return { ...base, options: {} };
  }
}

async function configFiles(root: string): Promise<ConfigFile[]> {
  const files: ConfigFile[] = [];
  for (const path of CONFIG_FILES) {
    try {
      files.push({ path, content: await readFile(join(root, path), 'utf8') });
    } catch {
      // Not there: nothing to keep.
    }
  }
  return files;
}
