import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import { runLogged } from './logged-run.js';
import type {
  BackupMethod,
  BackupRecord,
  RestoreRequest,
  RestoreResult,
  VerifyRequest,
} from './method.js';
import { treeSize } from './tree-size.js';

/**
 * networker (ReaR BACKUP=NSR): Dell NetWorker's server makes and keeps the backups on its own
 * schedule; lifeboat makes the rescue system, and recovery recreates the disks and has the
 * client's `recover` fill them, as ReaR calls it:
 *
 *   recover -s SERVER -c CLIENT -d TARGET -a [-t TIME] SAVESET…
 *
 * The save sets are networker.saveSets, or else every file system recovery recreated and mounted
 * under the target (ReaR asks `savefs -p` at mkrescue for the same list: the client's file
 * systems). `recover` and the client's resource files come from the host (hostPrograms,
 * networker.files).
 */
interface NetworkerDetails {
  server: string;
  client: string;
  /** Empty: the file systems mounted under the target at restore time. */
  saveSets: string[];
  pointInTime?: string;
}

export const networkerMethod: BackupMethod = {
  name: 'networker',
  rescue: { programs: [], packages: [] },
  hostPrograms: (config) => [config.networker.recover],
  hostFiles: (config) => [...config.networker.files],
  protectedDevices: () => [],
  configProblems: (config, use) => {
    if (use === 'backup')
      return [
        "backup.method networker makes no backup: the NetWorker server's schedule does (use lifeboat mkrescue)",
      ];
    return config.networker.server
      ? []
      : ['backup.method networker needs networker.server: the NetWorker server to recover from'];
  },

  async check() {
    // Never reached: configProblems refuses a backup before any work.
    throw new UsageError('backup.method networker makes no backup');
  },

  async backup() {
    throw new UsageError('backup.method networker makes no backup');
  },

  async verify(request: VerifyRequest): Promise<BackupRecord> {
    const { config, hostname } = request;
    const server = serverOf(config);
    const pointInTime = request.id ?? config.networker.pointInTime;
    if (pointInTime !== undefined && !POINT_IN_TIME.test(pointInTime)) {
      throw new UsageError(
        `--backup-id ${pointInTime}: a NetWorker recovery's point in time is YYYY-MM-DD HH:MM:SS`,
      );
    }
    // What can be known before a disk changes without NetWorker's query tools: the server's
    // name resolves, and the client program is there.
    await lookup(server).catch(() => {
      throw new JobError(`networker.server ${server}: the host name does not resolve`, {
        hint: 'check networker.server, and the rescue system network (ip addr, /etc/resolv.conf)',
      });
    });
    const details: NetworkerDetails = {
      server,
      client: config.networker.client ?? hostname,
      saveSets: [...config.networker.saveSets],
      ...(pointInTime ? { pointInTime } : {}),
    };
    return {
      id: pointInTime ?? 'latest',
      hostname,
      created: new Date().toISOString(),
      where: `the NetWorker server ${server}`,
      summary: `client ${details.client}, save sets ${details.saveSets.length ? details.saveSets.join(', ') : 'the recreated file systems'}${pointInTime ? ` as of ${pointInTime}` : ''}`,
      selinux: false,
      details,
    };
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, target } = request;
    const details = request.backup.details as NetworkerDetails;
    const saveSets = details.saveSets.length > 0 ? details.saveSets : await mountedUnder(target);
    const started = Date.now();
    const program = config.networker.recover;
    log.info(`networker: recovering ${saveSets.join(' ')} from ${details.server} into ${target}`);
    const done = await runLogged(
      program,
      [
        '-s',
        details.server,
        '-c',
        details.client,
        // Relocate into the target (/mnt/local), not over the running rescue system.
        '-d',
        target,
        // Automatic: no interactive browsing, every file of the named save sets.
        '-a',
        ...(details.pointInTime ? ['-t', networkerTime(details.pointInTime)] : []),
        ...saveSets,
      ],
      { log, signal: request.signal },
    );
    if (done.missing) {
      throw new JobError(`networker.recover: ${program} is not installed here`, {
        hint: 'install the NetWorker client on the host (the rescue system takes its recover), or set networker.recover to its path',
      });
    }
    if (done.canceled) throw new JobError(`${program} was stopped`);
    if (done.exitCode !== 0) {
      throw new JobError(
        `networker: ${program} ${done.exitCode === undefined ? `was killed (${done.signal ?? 'signal'})` : `exited ${done.exitCode}`}${done.last ? `: ${done.last}` : ''}`,
        { hint: "recover's whole output is in the log" },
      );
    }
    const { entries, bytes } = await treeSize(target);
    return { entries, bytes, seconds: (Date.now() - started) / 1000 };
  },
};

const POINT_IN_TIME = /^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d)$/;

/** "2026-12-01 02:00:00" as NetWorker's date parser reads it: "12/01/2026 02:00:00". */
export function networkerTime(pointInTime: string): string {
  const [, year, month, day, time] = POINT_IN_TIME.exec(pointInTime) as unknown as string[];
  return `${month}/${day}/${year} ${time}`;
}

function serverOf(config: Config): string {
  const server = config.networker.server;
  if (!server) {
    throw new UsageError('backup.method networker needs networker.server: it is not set', {
      hint: 'set networker.server to the NetWorker server (as /nsr/res/servers names it)',
    });
  }
  return server;
}

/**
 * The file systems mounted at and under `target`, as host paths: / for the target itself, /boot
 * for target/boot. Read from /proc/self/mounts (octal escapes for blanks decoded).
 */
export async function mountedUnder(
  target: string,
  mounts = '/proc/self/mounts',
): Promise<string[]> {
  const text = await readFile(mounts, 'utf8');
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    const point = line.split(' ')[1];
    if (!point) continue;
    const decoded = point.replace(/\\([0-7]{3})/g, (_all, octal: string) =>
      String.fromCharCode(Number.parseInt(octal, 8)),
    );
    const rel = relative(target, decoded);
    if (rel === '') found.add('/');
    else if (!rel.startsWith('..') && !rel.startsWith('/')) found.add(`/${rel}`);
  }
  // A rehearsal into a plain directory: the root alone.
  if (!found.has('/')) found.add('/');
  return [...found].sort();
}
