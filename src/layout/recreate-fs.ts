/**
 * File systems and swap, made again with their UUID and label (what fstab, crypttab and the boot
 * loader find them by) and the creation options the layout kept. A block is skipped when the
 * device already carries a file system with that UUID.
 */
import type { Filesystem, Swap } from './model.js';
import { renderBtrfsSubvolumes } from './recreate-btrfs.js';
import type { Component } from './recreate-graph.js';
import { checkDevicePath, RecreateError, shellQuote } from './recreate-shell.js';

/**
 * Features dumpe2fs lists that describe the file system's state, not how it was made: mke2fs
 * refuses them.
 */
const EXT_STATE_FEATURES = new Set(['needs_recovery', 'orphan_present']);

/** The programs that make each file system type (btrfs also mounts it for its subvolumes). */
const MKFS_TOOLS: Record<string, string[]> = {
  ext2: ['mkfs.ext2'],
  ext3: ['mkfs.ext3'],
  ext4: ['mkfs.ext4'],
  xfs: ['mkfs.xfs'],
  vfat: ['mkfs.vfat'],
  btrfs: ['mkfs.btrfs', 'btrfs', 'mount', 'umount', 'mktemp'],
};

export function filesystemComponent(fs: Filesystem): Component {
  const device = checkDevicePath(fs.device, `fs:${fs.device}`);
  const id = `fs:${device}`;
  return {
    id,
    provides: [],
    needs: [device],
    tools: [...(MKFS_TOOLS[fs.type] ?? []), 'wipefs'],
    // Rendered only when not excluded: excluding a file system of a type this cannot make is
    // the way past it.
    render: () => [
      ...formatBlock(id, fs.device, `fs_uuid_is ${shellQuote(device)} ${shellQuote(fs.uuid)}`, {
        what: `${fs.type} file system`,
        command: mkfsCommand(fs, id),
      }),
      ...(fs.type === 'btrfs' ? renderBtrfsSubvolumes(fs, id) : []),
    ],
  };
}

export function swapComponent(swap: Swap): Component {
  const device = checkDevicePath(swap.device, `swap:${swap.device}`);
  const id = `swap:${device}`;
  const options: string[] = [];
  if (swap.uuid !== undefined) options.push(`-U ${shellQuote(swap.uuid)}`);
  if (swap.label !== undefined && swap.label !== '') options.push(`-L ${shellQuote(swap.label)}`);
  // Without a captured UUID, any swap signature counts: the devices under it were wiped when
  // they were recreated, so one found there was made by an earlier run.
  const guard =
    swap.uuid === undefined
      ? `fs_type_is ${shellQuote(device)} swap`
      : `fs_uuid_is ${shellQuote(device)} ${shellQuote(swap.uuid)}`;
  return {
    id,
    provides: [],
    needs: [device],
    tools: ['mkswap', 'wipefs'],
    render: () =>
      formatBlock(id, device, guard, {
        what: 'swap area',
        command: ['mkswap', ...options, shellQuote(device)].join(' '),
      }),
  };
}

/** The guarded block every file system and swap area shares. */
function formatBlock(
  id: string,
  device: string,
  guard: string,
  make: { what: string; command: string },
): string[] {
  return [
    `# ${id}: ${make.what}`,
    `if ${guard}; then`,
    `  say ${shellQuote(`${make.what} on ${device} exists, skipped`)}`,
    'else',
    `  say ${shellQuote(`creating ${make.what} on ${device}`)}`,
    `  wipe_signatures ${shellQuote(device)}`,
    `  run ${make.command}`,
    'fi',
  ];
}

function mkfsCommand(fs: Filesystem, id: string): string {
  const options = new FsOptions(fs, id);
  const device = shellQuote(fs.device);
  const label = fs.label !== undefined && fs.label !== '' ? fs.label : undefined;
  switch (fs.type) {
    case 'ext2':
    case 'ext3':
    case 'ext4': {
      const args = [`mkfs.${fs.type}`, '-F', '-U', shellQuote(fs.uuid)];
      if (label !== undefined) args.push('-L', shellQuote(label));
      const features = options.list('features').filter((name) => !EXT_STATE_FEATURES.has(name));
      // "none" first: exactly the captured features, not this mke2fs.conf's defaults plus them
      // (a newer default such as metadata_csum_seed can be one an old boot loader cannot read).
      if (features.length > 0) args.push('-O', shellQuote(['none', ...features].join(',')));
      pushNumber(args, '-I', options.number('inodeSize'));
      pushNumber(args, '-b', options.number('blockSize'));
      pushNumber(args, '-m', options.number('reservedBlocksPercent'));
      return [...args, device].join(' ');
    }
    case 'xfs': {
      // Every feature the layout kept, on or off, in the option group mkfs.xfs takes it in: the
      // host's file system, whatever this mkfs.xfs would default to.
      const set = (names: readonly string[]) =>
        names.flatMap((name) => {
          const on = options.boolean(name);
          return on === undefined ? [] : [`${name}=${on ? 1 : 0}`];
        });
      const meta = [
        `uuid=${fs.uuid}`,
        ...set(['crc', 'finobt', 'rmapbt', 'reflink', 'bigtime', 'inobtcount']),
      ];
      const args = ['mkfs.xfs', '-f', '-m', shellQuote(meta.join(','))];
      if (label !== undefined) args.push('-L', shellQuote(label));
      const blockSize = options.number('blockSize');
      if (blockSize !== undefined) args.push('-b', shellQuote(`size=${blockSize}`));
      const inodeSize = options.number('inodeSize');
      const inode = [
        ...(inodeSize === undefined ? [] : [`size=${inodeSize}`]),
        ...set(['sparse', 'nrext64']),
      ];
      if (inode.length > 0) args.push('-i', shellQuote(inode.join(',')));
      const naming = set(['ftype']);
      if (naming.length > 0) args.push('-n', shellQuote(naming.join(',')));
      return [...args, device].join(' ');
    }
    case 'vfat': {
      const args = ['mkfs.vfat', '-i', shellQuote(vfatVolumeId(fs.uuid, id))];
      if (label !== undefined) args.push('-n', shellQuote(label));
      const fatSize = options.number('fatSize');
      if (fatSize !== undefined && ![12, 16, 32].includes(fatSize)) {
        throw new RecreateError(`${id}: FAT size ${fatSize} is not 12, 16 or 32`);
      }
      pushNumber(args, '-F', fatSize);
      return [...args, device].join(' ');
    }
    case 'btrfs': {
      const args = ['mkfs.btrfs', '-f', '-U', shellQuote(fs.uuid)];
      if (label !== undefined) args.push('-L', shellQuote(label));
      return [...args, device].join(' ');
    }
    default:
      throw new RecreateError(
        `${id}: file systems of type ${JSON.stringify(fs.type)} are not recreated`,
        { hint: `Exclude ${id} (EXCLUDE_RECREATE) and make it by hand.` },
      );
  }
}

function pushNumber(args: string[], flag: string, value: number | undefined): void {
  if (value !== undefined) args.push(flag, shellQuote(value));
}

/** mkfs.vfat -i wants the volume serial as 8 hex digits; blkid shows it as XXXX-XXXX. */
function vfatVolumeId(uuid: string, id: string): string {
  const match = /^([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{4})$/.exec(uuid);
  if (match === null)
    throw new RecreateError(`${id}: FAT volume id ${JSON.stringify(uuid)} is not XXXX-XXXX`);
  return `${match[1]}${match[2]}`.toUpperCase();
}

/** The typed view of Filesystem.options: a wrong type is an error naming the component. */
class FsOptions {
  constructor(
    private readonly fs: Filesystem,
    private readonly id: string,
  ) {}

  number(key: string): number | undefined {
    const value = this.fs.options[key];
    if (value === undefined) return undefined;
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0)
      this.wrong(key, 'a number');
    return number;
  }

  boolean(key: string): boolean | undefined {
    const value = this.fs.options[key];
    if (value === undefined || typeof value === 'boolean') return value;
    if (value === 0 || value === '0') return false;
    if (value === 1 || value === '1') return true;
    return this.wrong(key, 'true or false');
  }

  list(key: string): string[] {
    const value = this.fs.options[key];
    if (value === undefined) return [];
    const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value;
    // Feature names join with commas into one option: a comma or space inside one would smuggle
    // in another.
    if (!Array.isArray(list) || list.some((item) => !/^\^?[a-z0-9_]+$/.test(item))) {
      return this.wrong(key, 'a list of names');
    }
    return list;
  }

  private wrong(key: string, expected: string): never {
    throw new RecreateError(
      `${this.id}: option ${key} is ${JSON.stringify(this.fs.options[key])}, not ${expected}`,
    );
  }
}
