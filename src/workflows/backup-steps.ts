import { openDestination } from '../backup/destination.js';
import { backupFilesystems, backupHostname } from '../backup/filesystems.js';
import { backupMethodFor } from '../backup/method.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Step, StepConditions, StepContext } from '../steps/types.js';

/**
 * The backup steps of mkbackup and mkbackuponly. The destination is checked in prep, so an
 * unreachable server fails the run in seconds, before media are built or any archive started.
 */
function step(
  stage: string,
  order: number,
  name: string,
  run: (ctx: StepContext) => Promise<void>,
  when: StepConditions = {},
): Step {
  return { stage, order, name, origin: 'built-in', when, run };
}

/** The BackupRecord of this run's backup. */
export const BACKUP_RESULT = 'backup';

function methodOf(config: Config) {
  if (config.backup.method === 'none') {
    throw new UsageError('backup.method is none: there is nothing to back up with', {
      hint: 'set backup.method (netfs) and backup.url, e.g. --set backup.method=netfs --set backup.url=file:///srv/backup',
    });
  }
  const method = backupMethodFor(config);
  if (!method) {
    throw new UsageError(
      `backup.method ${config.backup.method} cannot make backups in this version`,
      {
        hint: 'use backup.method netfs',
      },
    );
  }
  return method;
}

export const BACKUP_STEPS: Step[] = [
  step(
    'prep',
    60,
    'backup_destination',
    async (ctx) => {
      methodOf(ctx.config);
      const destination = openDestination(ctx.config, ctx.log);
      await destination.open();
      await destination.close();
      ctx.output(`${destination.display} answers`);
    },
    // Only the backup workflows have a backup stage; mkrescue never reaches its destination.
    { workflow: ['mkbackup', 'mkbackuponly'] },
  ),

  step('backup', 500, 'backup_archive', async (ctx) => {
    const method = methodOf(ctx.config);
    const hostRoot = ctx.dirs.host;
    const record = await method.backup({
      config: ctx.config,
      log: ctx.log,
      hostRoot,
      filesystems: await backupFilesystems(hostRoot, ctx.log),
      hostname: backupHostname(hostRoot),
      // The rescue media and this run's build area: never part of the backup.
      alwaysExclude: [ctx.config.output.dir, ctx.config.paths.workDir, ctx.dirs.build],
      signal: ctx.signal,
    });
    ctx.results.set(BACKUP_RESULT, record);
    const { manifest } = record;
    ctx.output(
      `backup ${manifest.id}: ${manifest.listing.entries} entries, ${(manifest.archive.bytes / 1e6).toFixed(1)} MB ${manifest.archive.name} at ${record.where}`,
    );
  }),
];
