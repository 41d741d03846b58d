import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Layout } from './model.js';
import { luksKeyFile, planDisks, runDisks } from './plan.js';

/**
 * `lifeboat layoutonly`: recreate the captured layout on this machine's disks and mount it under
 * the target (/mnt/local), restoring nothing. Everything is checked before the first write
 * (plan.ts): every captured disk has a disk here that holds it (migrate.ts: the same disk, or
 * another one, partitions and LVs resized by its rules), a key is at hand for every LUKS volume,
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
  /** A file holding the LUKS key (--luks-key-file): first choice. */
  luksKeyFile?: string;
  /** The LUKS key itself (layout.luksKey of the recovery configuration): second choice. */
  luksKey?: string;
  /** Asks for a secret without echo; the last resort, never called when unattended. */
  askSecret?: (question: string) => Promise<string>;
  /** Captured disk → disk here, from --disk-mapping (the rest is matched automatically). */
  diskMapping?: ReadonlyMap<string, string>;
  /** Block devices left alone with their disks: the backup's partition (usb://). */
  protectedDevices?: readonly string[];
  /** Open the script in $EDITOR before it runs. */
  edit: boolean;
  /** Asks a yes/no question on the terminal; never called when unattended. */
  confirm: (question: string) => Promise<boolean>;
  log: Log;
}

export async function layoutOnly(options: LayoutOnlyOptions): Promise<void> {
  const { log } = options;
  const key = await luksKeyFile(options.layout, options);
  try {
    const plan = await planDisks({
      command: 'layoutonly',
      layout: options.layout,
      target: options.target,
      workDir: options.workDir,
      exclude: options.exclude,
      unattended: options.unattended,
      ...(options.diskMapping ? { diskMapping: options.diskMapping } : {}),
      ...(key ? { luksKeyFile: key.file } : {}),
      ...(options.protectedDevices ? { protectedDevices: options.protectedDevices } : {}),
      log,
    });
    log.info(
      `layoutonly: ${plan.components} component(s) to recreate on ${plan.disks}; script ${plan.recreate}`,
    );
    if (!options.unattended) {
      if (options.edit)
        await execa(process.env.EDITOR ?? 'vi', [plan.recreate], { stdio: 'inherit' });
      const yes = await options.confirm(
        `This wipes and recreates ${plan.disks} as the layout says (the script is ${plan.recreate}). Go on?`,
      );
      if (!yes) throw new JobError('layoutonly: stopped before touching any disk, as asked');
    }
    await runDisks(plan, {
      command: 'layoutonly',
      unattended: options.unattended,
      ...(key ? { luksKeyFile: key.file } : {}),
      ...(options.protectedDevices ? { protectedDevices: options.protectedDevices } : {}),
      log,
    });
    log.info(`layoutonly: the layout is recreated and mounted under ${options.target}`);
  } finally {
    // A key written here (from the configuration or a prompt) lives only as long as the run.
    if (key?.written) await rm(key.file, { force: true });
  }
}
