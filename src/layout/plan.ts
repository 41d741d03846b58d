import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { disksToLeaveOut, withoutDisks } from './disks-left-out.js';
import { type Migration, migrateLayout, partitionDevice, type TargetDisk } from './migrate.js';
import type { Layout } from './model.js';
import { parseLsblk } from './parse-lsblk.js';
import { componentNames, mountScript, recreateScript } from './recreate.js';
import { runHostTool } from './run-tool.js';

/**
 * Recreating a layout on this machine's disks, in two halves: planDisks() reads the disks,
 * migrates the layout onto them, checks the LUKS key and writes the scripts (no disk changes),
 * and runDisks() runs them. `lifeboat layoutonly` calls one after the other; `lifeboat recover`
 * plans in its verify stage and runs in its recreate stage, so that nothing on any disk changes
 * before the backup has been checked too.
 */
export interface LayoutPlan {
  migration: Migration;
  /** The migrated layout: device names of this machine. */
  layout: Layout;
  /** Captured device → device here, for the rewrites in fstab, crypttab and GRUB's files. */
  renames: Map<string, string>;
  recreate: string;
  mount: string;
  disks: string;
  components: number;
}

export interface PlanDisksOptions {
  /** The command that plans, for messages: layoutonly or recover. */
  command: string;
  layout: Layout;
  target: string;
  workDir: string;
  exclude: readonly string[];
  /** layout.autoExcludeDisks (disks-left-out.ts). */
  autoExcludeDisks: boolean;
  unattended: boolean;
  diskMapping?: ReadonlyMap<string, string>;
  /**
   * Block devices that must stay as they are (the backup's partition): the disks holding them
   * are no target, whatever the mapping says.
   */
  protectedDevices?: readonly string[];
  /** The file holding the LUKS passphrase, when the layout has LUKS volumes. */
  luksKeyFile?: string;
  log: Log;
}

export async function planDisks(options: PlanDisksOptions): Promise<LayoutPlan> {
  const { log } = options;
  const keep = await disksHolding(options.protectedDevices ?? []);
  for (const disk of keep) log.info(`${options.command}: ${disk} holds the backup: never touched`);
  const here = (await targetDisks()).filter((d) => !keep.has(d.device));
  const leftOut = disksToLeaveOut(options.layout, {
    autoExclude: options.autoExcludeDisks,
    exclude: options.exclude,
    backupFilesystems: await filesystemUuids(options.protectedDevices ?? []),
  });
  for (const { device, why } of leftOut)
    log.info(
      `${options.command}: ${device} of the layout is left out (${why}): it needs no disk here`,
    );
  const captured = withoutDisks(
    options.layout,
    leftOut.map((d) => d.device),
  );
  // Exclude entries for what went with those disks name nothing now; a typo still fails.
  const [before, after] = [componentNames(options.layout), componentNames(captured)];
  const exclude = options.exclude.filter((entry) => after.has(entry) || !before.has(entry));
  const migration = migrateLayout(captured, here, options.diskMapping);
  for (const note of migration.notes) log.info(`${options.command}: migration: ${note}`);
  if (options.unattended && migration.shrunk.length > 0) throw neverShrunk(migration.shrunk);
  const layout = migration.layout;
  if (layout.encrypted.length > 0 && options.luksKeyFile === undefined) throw noLuksKey(layout);
  const { script, order } = recreateScript(layout, { exclude });
  const recreate = join(options.workDir, 'recreate.sh');
  const mount = join(options.workDir, 'mount.sh');
  await mkdir(dirname(recreate), { recursive: true, mode: 0o700 });
  await writeFile(recreate, script, { mode: 0o700 });
  await writeFile(mount, mountScript(layout, options.target), { mode: 0o700 });
  // The disks the script wipes: layout.exclude may leave some of the layout's disks alone.
  const disks =
    layout.disks
      .map((d) => d.device)
      .filter((device) => order.includes(`disk:${device}`))
      .join(', ') || 'no disk';
  return {
    migration,
    layout,
    renames: deviceRenames(captured, migration),
    recreate,
    mount,
    disks,
    components: order.length,
  };
}

/**
 * Unattended, a layout goes only onto disks at least as large as those it was captured on. The
 * migration could shrink it (proportionally, above each file system's minimum), but whether the
 * data still fits is a question for a person: the disk was probably replaced by mistake.
 */
function neverShrunk(shrunk: readonly string[]): UsageError {
  return new UsageError(
    `the layout does not fit the disks here: ${shrunk.join('; ')}; unattended, a layout is never shrunk`,
    {
      hint: 'Nothing was written. Use disks at least as large, or run without --unattended to confirm the shrink.',
    },
  );
}

/** Runs the recreate script, then the mount script. A rerun skips what exists already. */
export async function runDisks(
  plan: LayoutPlan,
  options: { command: string; unattended: boolean; luksKeyFile?: string; log: Log },
): Promise<void> {
  const env = {
    LIFEBOAT_UNATTENDED: options.unattended ? '1' : '0',
    ...(options.luksKeyFile ? { LIFEBOAT_LUKS_KEY_FILE: options.luksKeyFile } : {}),
  };
  for (const [what, file] of [
    ['recreating the layout', plan.recreate],
    ['mounting it', plan.mount],
  ] as const) {
    const result = await execa('bash', [file], {
      reject: false,
      env,
      all: true,
      // Never a terminal: unattended recovery must have no path that waits on one.
      stdin: options.unattended ? 'ignore' : 'inherit',
    });
    for (const line of String(result.all).split('\n'))
      if (line !== '') options.log.debug(`${what}: ${line}`);
    if (result.exitCode !== 0) {
      const tail = String(result.all).trim().split('\n').slice(-10).join('\n');
      throw new JobError(`${options.command}: ${what} failed (exit ${result.exitCode}):\n${tail}`, {
        hint: `Fix the cause (or edit ${file}) and run lifeboat ${options.command} again: what exists is skipped.`,
      });
    }
  }
}

/** Captured disk and partition names → the names they have here; unchanged ones left out. */
export function deviceRenames(captured: Layout, migration: Migration): Map<string, string> {
  const renames = new Map<string, string>();
  for (const disk of captured.disks) {
    const to = migration.disks.get(disk.device);
    if (to === undefined || to === disk.device) continue;
    renames.set(disk.device, to);
    for (const p of disk.table?.partitions ?? [])
      renames.set(p.device, partitionDevice(to, p.number));
  }
  return renames;
}

/**
 * The whole disks the devices are on (a partition's disk, every disk under an LV or an array):
 * `lsblk --inverse` lists a device and everything it is built on.
 */
export async function disksHolding(devices: readonly string[]): Promise<Set<string>> {
  const disks = new Set<string>();
  for (const device of devices) {
    const result = await runHostTool('lsblk', [
      '--noheadings',
      '--list',
      '--paths',
      '--inverse',
      '--output',
      'PATH,TYPE',
      device,
    ]);
    if (result.exitCode !== 0)
      throw new JobError(`${device} (where the backup is) is not a block device here`, {
        hint: 'Attach the disk that holds the backup, or check backup.url.',
      });
    for (const line of result.stdout.split('\n')) {
      const [path, type] = line.trim().split(/\s+/);
      if (path && type === 'disk') disks.add(path);
    }
  }
  return disks;
}

/** The UUIDs of the file systems on these devices (the backup's), as blkid reads them here. */
async function filesystemUuids(devices: readonly string[]): Promise<string[]> {
  const uuids: string[] = [];
  for (const device of devices) {
    const result = await runHostTool('blkid', ['-o', 'value', '-s', 'UUID', device]);
    const uuid = result.exitCode === 0 ? result.stdout.trim() : '';
    if (uuid !== '') uuids.push(uuid);
  }
  return uuids;
}

/**
 * Where the recreate script reads the LUKS passphrase from, when the layout has LUKS volumes:
 * --luks-key-file, else layout.luksKey of the recovery configuration written to a private file
 * (the rescue system's RAM), else, attended, typed twice without echo. Unattended with none of
 * them: refused, before anything is written.
 */
export interface LuksKeySource {
  /** --luks-key-file: first choice. */
  luksKeyFile?: string;
  /** layout.luksKey: second choice. */
  luksKey?: string;
  unattended: boolean;
  /** Asks for a secret without echo; never called when unattended. */
  askSecret?: (question: string) => Promise<string>;
  /** Where a key from the configuration or a prompt is written (0600). */
  workDir: string;
  log: Log;
}

export interface LuksKeyFile {
  file: string;
  /** Written here (remove it when done), not the user's own file. */
  written: boolean;
}

export async function luksKeyFile(
  layout: Layout,
  source: LuksKeySource,
): Promise<LuksKeyFile | undefined> {
  if (layout.encrypted.length === 0) return undefined;
  if (source.luksKeyFile !== undefined) {
    if (!existsSync(source.luksKeyFile))
      throw new UsageError(`--luks-key-file ${source.luksKeyFile}: no such file`);
    return { file: source.luksKeyFile, written: false };
  }
  let key = source.luksKey;
  if (key === undefined && !source.unattended && source.askSecret !== undefined) {
    const volumes = layout.encrypted.length;
    key = await source.askSecret(`Passphrase for the ${volumes} LUKS volume(s) to recreate: `);
    if (key !== '' && (await source.askSecret('The same passphrase again: ')) !== key)
      throw new UsageError('the two passphrases differ; nothing was touched');
  }
  if (key === undefined || key === '') throw noLuksKey(layout);
  source.log.addSecret(key);
  await mkdir(source.workDir, { recursive: true, mode: 0o700 });
  const file = join(source.workDir, `luks-key-${process.pid}`);
  // No newline: cryptsetup --key-file takes the file's bytes as they are.
  await writeFile(file, key, { mode: 0o600 });
  return { file, written: true };
}

function noLuksKey(layout: Layout): UsageError {
  return new UsageError(
    `the layout has ${layout.encrypted.length} LUKS volume(s) and no key was given; nothing was touched`,
    {
      hint: 'Give the key with --luks-key-file FILE or layout.luksKey in the recovery configuration (unattended recovery never asks).',
    },
  );
}

/**
 * The partition table id of the disk the rescue system booted from, when its boot menu names it
 * (`lifeboat.medium=PTUUID` on the kernel command line: the RAWDISK image does).
 */
export function rescueMediumPtuuid(cmdline: string): string | undefined {
  const word = cmdline.split(/\s+/).find((w) => w.startsWith('lifeboat.medium='));
  const id = word?.slice('lifeboat.medium='.length).toLowerCase();
  return id === '' ? undefined : id;
}

function kernelCmdline(): string {
  try {
    return readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}

/**
 * The disks this machine has, as migration sees them: whole disks, less any that holds an ISO
 * 9660 file system (the rescue medium itself, written to a stick), the disk the rescue system
 * booted from (its PTUUID named on the kernel command line), read-only ones and CD drives.
 */
async function targetDisks(): Promise<TargetDisk[]> {
  const medium = rescueMediumPtuuid(kernelCmdline());
  const result = await runHostTool('lsblk', [
    '--json',
    '--bytes',
    '--paths',
    '--nodeps',
    '--output',
    'PATH,TYPE,SIZE,LOG-SEC,PHY-SEC,SERIAL,WWN,MODEL,FSTYPE,PTUUID,RM,RO',
  ]);
  if (result.exitCode !== 0) throw new JobError('lsblk could not list the disks');
  return parseLsblk(result.stdout)
    .filter((d) => d.type === 'disk' && !d.readOnly && d.fstype !== 'iso9660')
    .filter((d) => medium === undefined || d.ptuuid?.toLowerCase() !== medium)
    .map((d) => ({
      device: d.path,
      size: d.size,
      logicalSectorSize: d.logicalSectorSize,
      ...(d.serial ? { serial: d.serial } : {}),
      ...(d.wwn ? { wwn: d.wwn } : {}),
    }));
}
