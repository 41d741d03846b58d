import { backupFilesystems, backupHostname } from '../../backup/filesystems.js';
import type { BackupMethod } from '../../backup/method.js';
import { backupMethodFor } from '../../backup/methods.js';
import type { Config } from '../../config/schema.js';
import { outputsBeforeBackup } from '../../outputs/registry.js';
import { builtinStep as step } from './step.js';

/**
 * The backup steps of mkbackup and mkbackuponly. The method checks its destination in prep, so
 * an unreachable server fails the run in seconds, before media are built or any archive started.
 */
const BACKUP_RESULT = 'backup';

/** 'backup' never answers undefined: backup.method none is refused there (and in check()). */
const methodOf = (config: Config) => backupMethodFor(config, 'backup') as BackupMethod;

const BACKUP_CHECK = step('prep', 60, 'backup_destination', async (ctx) => {
  const where = await methodOf(ctx.config).check({ config: ctx.config, log: ctx.log });
  ctx.output(`${where} answers`);
});

/**
 * Outputs whose medium carries the backup after them (obdr: the tape starts with the label and
 * the rescue ISO from output.dir), written in this same run, before the archive.
 */
const MEDIUM_BEFORE_BACKUP = step('backup', 400, 'medium_before_backup', async (ctx) => {
  for (const output of outputsBeforeBackup(ctx.config)) {
    ctx.output(
      `${output.name}: ${await output.writeBeforeBackup?.({ config: ctx.config, log: ctx.log })}`,
    );
  }
});

const BACKUP_ARCHIVE = step('backup', 500, 'backup_archive', async (ctx) => {
  const hostRoot = ctx.dirs.host;
  const record = await methodOf(ctx.config).backup({
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
  ctx.output(`backup ${record.id}: ${record.summary} at ${record.where}`);
});

export const BACKUP_STEPS = [BACKUP_CHECK, MEDIUM_BEFORE_BACKUP, BACKUP_ARCHIVE];
