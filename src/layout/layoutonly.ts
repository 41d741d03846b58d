import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { migrateLayout, type TargetDisk } from './migrate.js';
import type { Layout } from './model.js';
import { parseLsblk } from './parse-lsblk.js';
import { mountScript, recreateScript } from './recreate.js';
import { runHostTool } from './run-tool.js';

/**
 * `lifeboat layoutonly`: recreate the captured layout on this machine's disks and mount it under
 * the target (/mnt/local), restoring nothing. Everything is checked before the first write:
 * every captured disk has a disk here that holds it (migrate.ts: the same disk, or another one,
 * partitions and LVs resized by its rules), a key is at hand for every LUKS volume,
 * and (unless unattended) a person has seen what will be wiped and said yes. The script is
 * written where the user can read and edit it, and a rerun skips what already exists.
 */
export interface LayoutOnlyOptions {
  layout: Layout;
  /** Where the file systems are mounted (default /mnt/local). */
  target: string;
  /** Where the recreate and mount scripts are written. */
  workDir: string;
  /** Components (ids or devices) not recreated: layout.exclude. */
  exclude: readonly string[];
  unattended: boolean;
  /** A file holding the LUKS key (recovery configuration or --luks-key-file). */
  luksKeyFile?: string;
  /** Captured disk → disk here, from --disk-mapping (the rest is matched automatically). */
  diskMapping?: ReadonlyMap<string, string>;
  /** Open the script in $EDITOR before it runs. */
  edit: boolean;
  /** Asks a yes/no question on the terminal; never called when unattended. */
  confirm: (question: string) => Promise<boolean>;
  log: Log;
}

export async function layoutOnly(options: LayoutOnlyOptions): Promise<void> {
  const { log } = options;
  // Onto the disks here: the same ones, or others (migration), decided before any write.
  const migration = migrateLayout(options.layout, await targetDisks(), options.diskMapping);
  const layout = migration.layout;
  for (const note of migration.notes) log.info(`layoutonly: migration: ${note}`);
  if (layout.encrypted.length > 0 && options.luksKeyFile === undefined && options.unattended) {
    throw new UsageError(
      `the layout has ${layout.encrypted.length} LUKS volume(s) and no key was given; nothing was touched`,
      { hint: 'Give the key with --luks-key-file FILE (unattended recovery never asks).' },
    );
  }
  if (options.luksKeyFile !== undefined && !existsSync(options.luksKeyFile))
    throw new UsageError(`--luks-key-file ${options.luksKeyFile}: no such file`);

  const { script, order } = recreateScript(layout, { exclude: [...options.exclude] });
  const recreate = join(options.workDir, 'recreate.sh');
  const mount = join(options.workDir, 'mount.sh');
  await mkdir(dirname(recreate), { recursive: true, mode: 0o700 });
  await writeFile(recreate, script, { mode: 0o700 });
  await writeFile(mount, mountScript(layout, options.target), { mode: 0o700 });
  const disks = layout.disks.map((d) => d.device).join(', ');
  log.info(`layoutonly: ${order.length} component(s) to recreate on ${disks}; script ${recreate}`);

  if (!options.unattended) {
    if (options.edit) await execa(process.env.EDITOR ?? 'vi', [recreate], { stdio: 'inherit' });
    const yes = await options.confirm(
      `This wipes and recreates ${disks} as the layout says (the script is ${recreate}). Go on?`,
    );
    if (!yes) throw new JobError('layoutonly: stopped before touching any disk, as asked');
  }

  const env = {
    LIFEBOAT_UNATTENDED: options.unattended ? '1' : '0',
    ...(options.luksKeyFile ? { LIFEBOAT_LUKS_KEY_FILE: options.luksKeyFile } : {}),
  };
  for (const [what, file] of [
    ['recreating the layout', recreate],
    ['mounting it', mount],
  ] as const) {
    const result = await execa('bash', [file], {
      reject: false,
      env,
      all: true,
      stdin: options.unattended ? 'ignore' : 'inherit',
    });
    for (const line of String(result.all).split('\n'))
      if (line !== '') log.debug(`${what}: ${line}`);
    if (result.exitCode !== 0) {
      const tail = String(result.all).trim().split('\n').slice(-10).join('\n');
      throw new JobError(`layoutonly: ${what} failed (exit ${result.exitCode}):\n${tail}`, {
        hint: `Fix the cause (or edit ${file}) and run again: what exists already is skipped.`,
      });
    }
  }
  log.info(`layoutonly: the layout is recreated and mounted under ${options.target}`);
}

/**
 * The disks this machine has, as migration sees them: whole disks, less any that holds an ISO
 * 9660 file system (the rescue medium itself, written to a stick) and CD drives.
 */
async function targetDisks(): Promise<TargetDisk[]> {
  const result = await runHostTool('lsblk', [
    '--json',
    '--bytes',
    '--paths',
    '--nodeps',
    '--output',
    'PATH,TYPE,SIZE,LOG-SEC,PHY-SEC,SERIAL,WWN,MODEL,FSTYPE,RM,RO',
  ]);
  if (result.exitCode !== 0) throw new JobError('layoutonly: lsblk could not list the disks');
  return parseLsblk(result.stdout)
    .filter((d) => d.type === 'disk' && !d.readOnly && d.fstype !== 'iso9660')
    .map((d) => ({
      device: d.path,
      size: d.size,
      logicalSectorSize: d.logicalSectorSize,
      ...(d.serial ? { serial: d.serial } : {}),
      ...(d.wwn ? { wwn: d.wwn } : {}),
    }));
}
