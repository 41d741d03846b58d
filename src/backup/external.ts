import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { runLogged } from './logged-run.js';
import type {
  BackupMethod,
  BackupRecord,
  BackupRequest,
  RestoreRequest,
  RestoreResult,
  VerifyRequest,
} from './method.js';
import { treeSize } from './tree-size.js';

/**
 * external (ReaR BACKUP=EXTERNAL): the site's own backup and restore commands, from
 * configuration (external.check, external.backup, external.restore). Each is a command's
 * arguments and runs without a shell: nothing in the configuration or the host is ever
 * interpreted. In an argument, {root}, {target}, {hostname} and {id} are replaced by what they
 * name; the same values are in the environment (LIFEBOAT_ROOT, LIFEBOAT_TARGET,
 * LIFEBOAT_HOSTNAME, LIFEBOAT_BACKUP_ID), with the file systems to back up
 * (LIFEBOAT_FILESYSTEMS, one per line) and the exclusions (LIFEBOAT_EXCLUDE, one per line).
 *
 * The programs the rescue system runs (external.restore's and external.check's) are the host's:
 * the capture takes them with their libraries (hostPrograms), as ReaR copies its clients.
 * Their output goes to the log; an exit code in external.ignoreExitCodes is a warning, any other
 * is one sentence naming the key and the program, exit 1.
 */
type CommandKey = 'check' | 'backup' | 'restore';

interface Placeholders {
  root?: string;
  target?: string;
  hostname?: string;
  id?: string;
  filesystems?: readonly string[];
  exclude?: readonly string[];
}

export const externalMethod: BackupMethod = {
  name: 'external',
  // The programs come from the host (hostPrograms); the rescue base has nothing to add.
  rescue: { programs: [], packages: [] },
  hostPrograms: (config) =>
    [config.external.restore[0], config.external.check[0]].filter(
      (program): program is string => program !== undefined,
    ),
  protectedDevices: () => [],
  configProblems: (config, use) => {
    const key: CommandKey = use === 'backup' ? 'backup' : 'restore';
    return config.external[key].length > 0 ? [] : [emptyCommand(key)];
  },

  async check({ config, log }) {
    const program = await programOf(config, 'backup');
    await runCheck(config, log, {});
    return `external backup (${program})`;
  },

  async backup(request: BackupRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const created = new Date();
    const id = created.toISOString().replace(/[-:]|\.\d+/g, '');
    const program = await programOf(config, 'backup');
    await run(config, 'backup', log, {
      root: request.hostRoot,
      hostname,
      id,
      filesystems: request.filesystems,
      exclude: [...config.backup.exclude, ...request.alwaysExclude],
      signal: request.signal,
    });
    return recordOf(id, hostname, created.toISOString(), program);
  },

  async verify(request: VerifyRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const program = await programOf(config, 'restore');
    await runCheck(config, log, { hostname, id: request.id ?? '' });
    // The backup system knows its backups; lifeboat cannot look into them before the restore.
    return recordOf(request.id ?? 'latest', hostname, new Date().toISOString(), program);
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, backup, target } = request;
    const started = Date.now();
    await run(config, 'restore', log, {
      target,
      hostname: backup.hostname,
      id: backup.id === 'latest' ? '' : backup.id,
      signal: request.signal,
    });
    const { entries, bytes } = await treeSize(target);
    return { entries, bytes, seconds: (Date.now() - started) / 1000 };
  },
};

function recordOf(id: string, hostname: string, created: string, program: string): BackupRecord {
  return {
    id,
    hostname,
    created,
    where: `external (${program})`,
    summary: `made by ${program}`,
    selinux: false,
    details: undefined,
  };
}

function emptyCommand(key: CommandKey): string {
  return `backup.method external needs external.${key}: it is empty`;
}

/** external.check, when it is set. */
async function runCheck(config: Config, log: Log, values: Placeholders): Promise<void> {
  if (config.external.check.length === 0) return;
  await programOf(config, 'check');
  await run(config, 'check', log, values);
}

/**
 * The program of external.KEY, found (a path, or a name on PATH) and executable; exit 2 when the
 * key is empty, exit 1 when the program is not here.
 */
async function programOf(config: Config, key: CommandKey): Promise<string> {
  const program = config.external[key][0];
  if (program === undefined) {
    throw new UsageError(emptyCommand(key), {
      hint: `set external.${key} to the command's arguments, e.g. --set 'external.${key}=[/usr/local/sbin/site-${key}, --all]'`,
    });
  }
  if (!(await findProgram(program))) {
    throw new JobError(`external.${key}: ${program} is not installed here`, {
      hint: program.includes('/')
        ? 'check the path, or install the program'
        : 'install it, or give its full path',
    });
  }
  return program;
}

async function findProgram(program: string): Promise<boolean> {
  const candidates = program.includes('/')
    ? [program]
    : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter((dir) => dir.startsWith('/'))
        .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/** Runs external.KEY with its placeholders replaced; its output goes to the log. */
async function run(
  config: Config,
  key: CommandKey,
  log: Log,
  values: Placeholders & { signal?: AbortSignal },
): Promise<void> {
  const [program, ...args] = config.external[key].map((arg) => replacePlaceholders(arg, values));
  if (program === undefined) return;
  const done = await runLogged(program, args, {
    log,
    env: environment(values),
    signal: values.signal,
    what: `external.${key}`,
  });
  if (done.canceled) throw new JobError(`external.${key}: ${program} was stopped`);
  const code = done.exitCode;
  if (code === 0) return;
  const last = done.last;
  if (code !== undefined && config.external.ignoreExitCodes.includes(code)) {
    log.warn(
      `external.${key}: ${program} exited ${code}, taken as success (external.ignoreExitCodes)${last ? `: ${last}` : ''}`,
    );
    return;
  }
  throw new JobError(
    `external.${key}: ${program} ${code === undefined ? `was killed (${done.signal ?? 'signal'})` : `exited ${code}`}${last ? `: ${last}` : ''}`,
    { hint: 'its whole output is in the log' },
  );
}

function replacePlaceholders(arg: string, values: Placeholders): string {
  return arg.replace(/\{(root|target|hostname|id)\}/g, (whole, name: keyof Placeholders) => {
    const value = values[name];
    return typeof value === 'string' ? value : whole;
  });
}

function environment(values: Placeholders): Record<string, string> {
  const env: Record<string, string> = {};
  if (values.root !== undefined) env.LIFEBOAT_ROOT = values.root;
  if (values.target !== undefined) env.LIFEBOAT_TARGET = values.target;
  if (values.hostname !== undefined) env.LIFEBOAT_HOSTNAME = values.hostname;
  if (values.id !== undefined) env.LIFEBOAT_BACKUP_ID = values.id;
  if (values.filesystems) env.LIFEBOAT_FILESYSTEMS = values.filesystems.join('\n');
  if (values.exclude) env.LIFEBOAT_EXCLUDE = values.exclude.join('\n');
  return env;
}
