import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { JobError, UsageError } from '../errors.js';
import type { ToolRunner } from '../layout/capture.js';
import { EFI_LABEL, PARTITION_TYPES } from './format-plan.js';
import { inspectDevice, refusalOf } from './target-device.js';

/**
 * A rescue stick as `lifeboat format` made it, read back before anything is written to it: its
 * GPT, the BIOS boot and EFI System partitions (either may be missing: --efi, --bios) and the
 * data partition, found by its file system label (usb.label). Everything here only reads.
 */
export interface StickArea {
  startBytes: number;
  sizeBytes: number;
}

export interface Stick {
  /** The whole stick: a block device, or an image file. */
  path: string;
  /** Its GPT disk GUID, lower case: the rescue systems on it never recreate a layout on it. */
  ptuuid: string;
  biosBoot?: StickArea;
  efiSystem?: StickArea;
  data: StickArea & { filesystem: 'ext4' | 'xfs' };
}

const KEY = 'output.url';
const NOT_A_STICK_HINT =
  'make it a rescue stick first: lifeboat format DEVICE (docs/usb.md), with the same usb.label';

/**
 * The stick output.url names (usb:///dev/disk/by-label/LABEL, a whole device such as
 * usb:///dev/sdc, or an image file, usb:///var/tmp/stick.img), checked: not mounted, not the
 * running system's, not attached as a loop device, and laid out by `lifeboat format` with a data
 * partition labelled `label`.
 */
export async function findStick(url: string, label: string, run: ToolRunner): Promise<Stick> {
  const named = stickPath(url);
  const path = wholeDevice(named, url);
  const device = await inspectDevice(path, run);
  // A fixed disk is fine here: it was formatted (with --force) and carries lifeboat's label.
  const refusal = refusalOf(device, true);
  if (refusal) throw new UsageError(`${KEY} ${url}: ${refusal}`, { hint: 'nothing was written' });

  const listed = await run('sfdisk', ['--json', device.path]);
  if (listed.exitCode !== 0)
    throw new UsageError(`${KEY} ${url}: ${device.path} has no partition table`, {
      hint: NOT_A_STICK_HINT,
    });
  const table = (JSON.parse(listed.stdout) as SfdiskJson).partitiontable;
  if (table.label !== 'gpt' || (table.sectorsize ?? 512) !== 512)
    throw new UsageError(`${KEY} ${url}: ${device.path} has no GPT of 512-byte sectors`, {
      hint: NOT_A_STICK_HINT,
    });
  const areas = (table.partitions ?? []).map((p) => ({
    type: p.type.toUpperCase(),
    startBytes: p.start * 512,
    sizeBytes: p.size * 512,
  }));
  const ofType = (type: string) => areas.find((a) => a.type === type);
  const biosBoot = ofType(PARTITION_TYPES.biosBoot);
  const efiSystem = ofType(PARTITION_TYPES.efiSystem);

  let data: Stick['data'] | undefined;
  for (const area of areas.filter((a) => a.type === PARTITION_TYPES.linuxData)) {
    const probed = await probeFilesystem(device.path, area.startBytes, run);
    if (probed.LABEL === label && (probed.TYPE === 'ext4' || probed.TYPE === 'xfs'))
      data = { ...area, filesystem: probed.TYPE };
  }
  if (data === undefined)
    throw new UsageError(
      `${KEY} ${url}: ${device.path} has no ext4 or xfs partition labelled ${label} (usb.label)`,
      { hint: NOT_A_STICK_HINT },
    );
  if (efiSystem !== undefined) {
    const esp = await probeFilesystem(device.path, efiSystem.startBytes, run);
    if (esp.TYPE !== 'vfat' || esp.LABEL !== EFI_LABEL)
      throw new UsageError(
        `${KEY} ${url}: the EFI System partition of ${device.path} is not the FAT labelled ${EFI_LABEL} lifeboat format makes`,
        { hint: NOT_A_STICK_HINT },
      );
  }
  return {
    path: device.path,
    ptuuid: table.id.toLowerCase(),
    ...(biosBoot ? { biosBoot: area(biosBoot) } : {}),
    ...(efiSystem ? { efiSystem: area(efiSystem) } : {}),
    data,
  };
}

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    sectorsize?: number;
    partitions?: { start: number; size: number; type: string }[];
  };
}

function area(a: StickArea): StickArea {
  return { startBytes: a.startBytes, sizeBytes: a.sizeBytes };
}

/** The path in a usb:// URL: a device under /dev, or an image file. */
export function stickPath(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${KEY} ${url} is not a URL`);
  }
  const path = decodeURIComponent(parsed.pathname);
  if (parsed.protocol !== 'usb:' || parsed.host !== '' || path === '/' || path === '')
    throw new UsageError(
      `${KEY} ${url}: the usb output writes a stick named usb:///dev/disk/by-label/LABEL, usb:///dev/sdX or usb:///path/to/stick.img`,
    );
  return path.replace(/\/+$/, '');
}

/** The whole device a path names: itself, or the disk a partition (by-label...) is on. */
function wholeDevice(named: string, url: string): string {
  if (!existsSync(named))
    throw new UsageError(`${KEY} ${url}: ${named} does not exist`, {
      hint: named.startsWith('/dev/')
        ? 'plug in the stick (lsblk -o PATH,LABEL shows its label), or make one: lifeboat format DEVICE'
        : 'make the image first: truncate -s 4G stick.img && lifeboat format stick.img --yes',
    });
  const path = realpathSync(named);
  if (!statSync(path).isBlockDevice()) return path;
  const sys = `/sys/class/block/${basename(path)}`;
  if (!existsSync(`${sys}/partition`)) return path;
  // /sys/class/block/sdc3 links into .../block/sdc/sdc3: its parent is the disk.
  return `/dev/${basename(realpathSync(`${sys}/..`))}`;
}

/** blkid's low-level probe of the file system at `offset` (TYPE, LABEL), read from the device. */
async function probeFilesystem(
  device: string,
  offset: number,
  run: ToolRunner,
): Promise<Record<string, string>> {
  const probed = await run('blkid', ['-p', '-O', String(offset), '-o', 'export', device]);
  if (probed.exitCode !== 0) return {};
  return Object.fromEntries(
    probed.stdout
      .split('\n')
      .map((line) => line.split('='))
      .filter((kv): kv is [string, string] => kv.length >= 2)
      .map(([k, ...v]) => [k, v.join('=')]),
  );
}

/** A write that found the stick too small for what goes on it: a JobError naming the area. */
export function tooSmall(what: string, needed: number, has: number): JobError {
  return new JobError(`${KEY}: the stick's ${what} holds ${has} bytes; ${needed} are needed`, {
    hint: 'format the stick again with lifeboat format (docs/usb.md)',
  });
}
