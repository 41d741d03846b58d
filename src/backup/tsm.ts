import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type LoggedRun, runLogged } from './logged-run.js';
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
 * tsm (ReaR BACKUP=TSM): IBM Storage Protect, formerly Tivoli Storage Manager, through its
 * command line client dsmc, called as ReaR calls it:
 *
 *   check     dsmc query session                    the server answers, the node logs in
 *   backup    dsmc incremental -tapeprompt=no FS…   the layout's file systems
 *   verify    dsmc query session, then dsmc query filespace: the node's filespaces
 *   restore   per filespace, parents first:
 *             dsmc restore FS/ TARGET/FS/ -subdir=yes -replace=all -tapeprompt=no
 *             [-dateformat=3 -pitdate=… -pittime=…]
 *
 * dsmc's return codes: 0 done; 4 (some files skipped) and 8 (warnings) are warnings here, as in
 * ReaR; 12 and anything else fail the step with dsmc's last line (its ANS message). dsmc, its
 * libraries and its configuration come from the host (hostPrograms, tsm.files).
 */
const WARNINGS: Record<number, string> = {
  4: 'some files were skipped (not found, or in use)',
  8: 'it finished with warnings',
};

/** One filespace of `dsmc query filespace -dateformat=3 -timeformat=1`. */
export interface Filespace {
  name: string;
  type: string;
  /** The last incremental backup, YYYY-MM-DD HH:MM:SS (server time). */
  lastIncremental: string;
}

interface TsmDetails {
  filespaces: string[];
  pointInTime?: string;
}

export const tsmMethod: BackupMethod = {
  name: 'tsm',
  // dsmc is the host's (hostPrograms); the rescue base has nothing to add.
  rescue: { programs: [], packages: [] },
  hostPrograms: (config) => [config.tsm.dsmc],
  hostFiles: (config) => [...config.tsm.files, ...(config.tsm.optfile ? [config.tsm.optfile] : [])],
  protectedDevices: () => [],

  async check({ config, log }) {
    await querySession(config, log);
    return `the TSM server${config.tsm.server ? ` ${config.tsm.server}` : ''} (dsmc)`;
  },

  async backup(request: BackupRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    if (request.hostRoot !== '/') {
      throw new UsageError(
        `backup.method tsm backs up this machine's own file systems (dsmc incremental); --root ${request.hostRoot} is not for it`,
        { hint: 'run it without --root on the machine itself' },
      );
    }
    const created = new Date().toISOString();
    const done = await dsmc(
      config,
      log,
      ['incremental', '-tapeprompt=no', ...request.filesystems],
      {
        signal: request.signal,
      },
    );
    judge(done, log, `dsmc incremental of ${request.filesystems.join(' ')}`);
    return recordOf(hostname, created, { filespaces: [...request.filesystems] });
  },

  async verify(request: VerifyRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const pointInTime = request.id ?? config.tsm.pointInTime;
    if (pointInTime !== undefined && !POINT_IN_TIME.test(pointInTime)) {
      throw new UsageError(
        `--backup-id ${pointInTime}: a TSM restore's point in time is YYYY-MM-DD HH:MM:SS (the server's time)`,
      );
    }
    await querySession(config, log);
    const listed = await dsmc(
      config,
      log,
      ['query', 'filespace', '-dateformat=3', '-timeformat=1', '-scrollprompt=no'],
      { collect: true },
    );
    judge(listed, log, 'dsmc query filespace');
    const onServer = parseFilespaces(listed.lines);
    const wanted =
      config.tsm.filespaces.length > 0 ? config.tsm.filespaces : onServer.map((f) => f.name);
    const absent = wanted.filter((name) => !onServer.some((f) => f.name === name));
    if (absent.length > 0) {
      throw new JobError(
        `tsm.filespaces: the TSM server has no filespace ${absent.join(', ')} of this node (it has ${onServer.map((f) => f.name).join(', ') || 'none'})`,
        { hint: 'fix tsm.filespaces, or leave it empty to restore every filespace' },
      );
    }
    if (wanted.length === 0) {
      throw new JobError(
        `the TSM server has no filespace of ${hostname}: there is nothing to restore`,
        {
          hint: 'check the node name in dsm.sys, or that the host was ever backed up',
        },
      );
    }
    const newest = onServer
      .map((f) => f.lastIncremental)
      .sort()
      .at(-1);
    return recordOf(hostname, newest ?? new Date().toISOString(), {
      filespaces: wanted,
      ...(pointInTime ? { pointInTime } : {}),
    });
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, backup, target } = request;
    const details = backup.details as TsmDetails;
    const started = Date.now();
    for (const filespace of parentsFirst(details.filespaces)) {
      const source = filespace.endsWith('/') ? filespace : `${filespace}/`;
      const into = `${join(target, filespace).replace(/\/+$/, '')}/`;
      await mkdir(into, { recursive: true });
      log.info(`tsm: restoring ${source} into ${into}`);
      const done = await dsmc(
        config,
        log,
        [
          'restore',
          source,
          into,
          // Everything below it, replacing what is there, never waiting for a tape mount prompt.
          '-subdir=yes',
          '-replace=all',
          '-tapeprompt=no',
          ...pointInTimeArgs(details.pointInTime),
        ],
        { signal: request.signal },
      );
      judge(done, log, `dsmc restore of ${source}`);
    }
    const { entries, bytes } = await treeSize(target);
    return { entries, bytes, seconds: (Date.now() - started) / 1000 };
  },
};

const POINT_IN_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

/** dsmc's point-in-time options, the date in ISO form (dateformat 3). */
function pointInTimeArgs(pointInTime: string | undefined): string[] {
  if (!pointInTime) return [];
  const [date, time] = pointInTime.split(' ') as [string, string];
  return ['-dateformat=3', `-pitdate=${date}`, '-timeformat=1', `-pittime=${time}`];
}

/** `/` before `/home` before `/home/data`: a filespace is restored into its parent's tree. */
function parentsFirst(filespaces: readonly string[]): string[] {
  const depth = (path: string) => path.split('/').filter(Boolean).length;
  return [...filespaces].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
}

/**
 * The filespaces in `dsmc query filespace` output: after the header, lines like
 * "  1   2026-12-07 02:00:01   EXT4   /home" (number, date, time, type, name to the end).
 */
export function parseFilespaces(lines: readonly string[]): Filespace[] {
  const filespaces: Filespace[] = [];
  for (const line of lines) {
    const match = /^\s*\d+\s+(\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d)\s+(\S+)\s+(\/.*?)\s*$/.exec(line);
    if (match) {
      const [, date, time, type, name] = match as unknown as [
        string,
        string,
        string,
        string,
        string,
      ];
      filespaces.push({ name, type, lastIncremental: `${date} ${time}` });
    }
  }
  return filespaces;
}

async function querySession(config: Config, log: Log): Promise<void> {
  const done = await dsmc(config, log, ['query', 'session']);
  if (done.exitCode !== 0) {
    throw new JobError(
      `the TSM server does not accept this node: dsmc query session ${describe(done)}`,
      { hint: 'check the server address and node name in dsm.sys, and the stored password' },
    );
  }
}

/** Runs dsmc with tsm.optfile and tsm.server added; its output goes to the log. */
async function dsmc(
  config: Config,
  log: Log,
  args: readonly string[],
  options: { signal?: AbortSignal; collect?: boolean } = {},
): Promise<LoggedRun> {
  const { dsmc: program, optfile, server } = config.tsm;
  const done = await runLogged(
    program,
    [...args, ...(optfile ? [`-optfile=${optfile}`] : []), ...(server ? [`-se=${server}`] : [])],
    { log, ...options },
  );
  if (done.missing) {
    throw new JobError(`tsm.dsmc: ${program} is not installed here`, {
      hint: 'install the Storage Protect backup-archive client, or set tsm.dsmc to its path',
    });
  }
  if (done.canceled) throw new JobError(`${program} was stopped`);
  return done;
}

/** Return code 0: done; 4 or 8: a warning; anything else: one sentence, exit 1. */
function judge(done: LoggedRun, log: Log, what: string): void {
  if (done.exitCode === 0) return;
  const warning = done.exitCode === undefined ? undefined : WARNINGS[done.exitCode];
  if (warning) {
    log.warn(
      `${what}: ${warning} (return code ${done.exitCode})${done.last ? `: ${done.last}` : ''}`,
    );
    return;
  }
  throw new JobError(`${what} failed: ${describe(done)}`, {
    hint: "dsmc's whole output is in the log (and in dsmerror.log on this machine)",
  });
}

function describe(done: LoggedRun): string {
  const how =
    done.exitCode === undefined
      ? `was killed (${done.signal ?? 'signal'})`
      : `return code ${done.exitCode}`;
  return `${how}${done.last ? `: ${done.last}` : ''}`;
}

function recordOf(hostname: string, created: string, details: TsmDetails): BackupRecord {
  return {
    id: details.pointInTime ?? 'latest',
    hostname,
    created,
    where: 'the TSM server',
    summary: `filespaces ${details.filespaces.join(', ')}${details.pointInTime ? ` as of ${details.pointInTime}` : ''}`,
    selinux: false,
    details,
  };
}
