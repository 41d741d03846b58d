import { readFileSync, realpathSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ToolRunner } from '../layout/capture.js';
import { type BlockDevice, parseLsblk } from '../layout/parse-lsblk.js';

/**
 * The device `lifeboat format` was named, as far as deciding whether to write it goes: a whole
 * block device (a stick, a disk) or an image file, what is mounted from it, what uses it.
 * Everything here only reads.
 */
export interface TargetDevice {
  /** The path as resolved (symlinks such as /dev/disk/by-id/... followed). */
  path: string;
  kind: 'block' | 'file';
  bytes: number;
  /** The kernel says it is removable (a stick, a card): always true of an image file. */
  removable: boolean;
  /** For the question: "SanDisk Cruzer, 15.3 GiB". */
  description: string;
  /** Mount points of file systems on it, on its partitions and on whatever is stacked on them. */
  mountpoints: string[];
  /** Swap areas on it (and on what is stacked on it). */
  swaps: string[];
  /** Loop devices that use it (an image file attached with losetup). */
  loopDevices: string[];
}

/** Mounts that mean the running system itself is on the device. */
const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/usr', '/var', '/etc'];

/**
 * Why the device must not be written, or undefined. The running system's disk, a mounted one, an
 * attached image and swap are refused whatever the options; a fixed disk only without --force.
 */
export function refusalOf(device: TargetDevice, force: boolean): string | undefined {
  const system = device.mountpoints.filter((m) => SYSTEM_MOUNTS.includes(m));
  if (system.length > 0)
    return `${device.path} holds the running system (${system.join(', ')} ${system.length === 1 ? 'is' : 'are'} on it)`;
  if (device.mountpoints.length > 0)
    return `${device.path} is mounted (${device.mountpoints.join(', ')}): unmount it first`;
  if (device.swaps.length > 0)
    return `${device.path} is in use as swap (${device.swaps.join(', ')}): swapoff first`;
  if (device.loopDevices.length > 0)
    return `${device.path} is attached as ${device.loopDevices.join(', ')}: detach it first (losetup -d)`;
  if (!device.removable && !force)
    return `${device.path} (${device.description}) is not a removable device; give --force if it is the disk you mean to erase`;
  return undefined;
}

export async function inspectDevice(named: string, run: ToolRunner): Promise<TargetDevice> {
  let path: string;
  try {
    path = realpathSync(named);
  } catch {
    throw new UsageError(`${named}: no such device or file`, {
      hint: 'name a whole stick or disk (/dev/sdX, /dev/disk/by-id/usb-...) or an image file (create it first: truncate -s 4G stick.img)',
    });
  }
  const stat = statSync(path);
  const loopDevices = await loopsUsing(path, run);
  if (stat.isFile()) {
    return {
      path,
      kind: 'file',
      bytes: stat.size,
      removable: true,
      description: `image file, ${gib(stat.size)}`,
      mountpoints: [],
      swaps: swapsOn([path]),
      loopDevices,
    };
  }
  if (!stat.isBlockDevice())
    throw new UsageError(`${named} is neither a block device nor an image file`);
  const listed = await run('lsblk', [
    '--json',
    '--bytes',
    '--paths',
    '--output',
    'PATH,TYPE,SIZE,RM,MODEL,MOUNTPOINTS',
    path,
  ]);
  if (listed.exitCode !== 0)
    throw new UsageError(`${named}: lsblk cannot read it (${(listed.stderr ?? '').trim()})`);
  const top = parseLsblk(listed.stdout)[0];
  if (top === undefined) throw new UsageError(`${named}: lsblk does not list it`);
  if (top.type === 'part')
    throw new UsageError(`${named} is a partition: lifeboat format takes the whole device`, {
      hint: 'name the disk it is on (lsblk shows it)',
    });
  const tree = flatten(top);
  return {
    path,
    kind: 'block',
    bytes: top.size,
    removable: top.removable,
    description: [top.model, gib(top.size)].filter(Boolean).join(', '),
    mountpoints: tree.flatMap((d) => d.mountpoints),
    swaps: swapsOn(tree.map((d) => d.path)),
    loopDevices,
  };
}

function flatten(device: BlockDevice): BlockDevice[] {
  return [device, ...device.children.flatMap(flatten)];
}

/** The loop devices whose backing file or device is `path`. */
async function loopsUsing(path: string, run: ToolRunner): Promise<string[]> {
  const listed = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  if (listed.exitCode !== 0) return [];
  return listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([name, back]) => name && back && sameFile(back, path))
    .map(([name]) => name as string);
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === b;
  } catch {
    return a === b;
  }
}

function swapsOn(paths: string[]): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/swaps', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/)[0] ?? '')
    .filter((swap) => swap !== '' && paths.some((p) => sameFile(swap, p)));
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
