import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { externalMethod } from './external.js';
import type { BackupMethod } from './method.js';
import { netfsMethod } from './netfs.js';
import { networkerMethod } from './networker.js';
import { requestRestoreMethod } from './requestrestore.js';
import { resticMethod } from './restic.js';
import { rsyncMethod } from './rsync.js';
import { tsmMethod } from './tsm.js';

/**
 * Every backup method this version has, by backup.method name: one line per method module. A
 * name that is not here (one registered by a site's plug-in that is not loaded) is refused before
 * any work.
 */
const METHODS = new Map<string, BackupMethod>([
  [netfsMethod.name, netfsMethod],
  [externalMethod.name, externalMethod],
  [requestRestoreMethod.name, requestRestoreMethod],
  [rsyncMethod.name, rsyncMethod],
  [resticMethod.name, resticMethod],
  [tsmMethod.name, tsmMethod],
  [networkerMethod.name, networkerMethod],
]);

/**
 * Adds a method module that lives outside this list (a site's own, a test's). Refuses a name that
 * is taken unless `replace` says so: a method is never replaced behind the user's back.
 */
export function registerBackupMethod(
  method: BackupMethod,
  options: { replace?: boolean } = {},
): void {
  if (METHODS.has(method.name) && !options.replace)
    throw new Error(`a backup method named ${method.name} is registered already`);
  METHODS.set(method.name, method);
}

/**
 * What a workflow needs of the backup method:
 *   rescue    the rescue system must be able to restore with it; none is fine (mkrescue)
 *   backup    it makes a backup (mkbackup, mkbackuponly)
 *   restore   it restores one (recover, restoreonly, recover --into)
 */
export type MethodUse = 'rescue' | 'backup' | 'restore';

/**
 * The method the configuration names, or undefined for backup.method none where that is fine.
 * One UsageError (exit 2) otherwise, before any work.
 */
export function backupMethodFor(config: Config, use: MethodUse): BackupMethod | undefined {
  const name = config.backup.method;
  if (name === 'none') {
    if (use === 'rescue') return undefined;
    throw new UsageError(
      `backup.method is none: there is nothing to ${use === 'backup' ? 'back up with' : 'restore'}`,
      {
        hint: 'Set backup.method and backup.url, e.g. --set backup.method=netfs --set backup.url=file:///srv/backup',
      },
    );
  }
  const method = METHODS.get(name);
  if (!method)
    throw new UsageError(
      `backup.method ${name} is not supported by this version (it has ${[...METHODS.keys()].join(', ')})`,
      { hint: 'Nothing was run. Choose a supported backup.method.' },
    );
  const problems = method.configProblems?.(config, use) ?? [];
  if (problems.length > 0) throw new UsageError(problems.join('; '), { hint: 'Nothing was run.' });
  return method;
}

/**
 * The host programs the configured method's restore needs in the rescue system (hostPrograms):
 * none for a method this version does not have, which the workflows refuse on their own.
 */
export function methodHostPrograms(config: Config): string[] {
  return METHODS.get(config.backup.method)?.hostPrograms?.(config) ?? [];
}

/** Host files and directories the configured method's client needs in the rescue system. */
export function methodHostFiles(config: Config): string[] {
  return METHODS.get(config.backup.method)?.hostFiles?.(config) ?? [];
}
