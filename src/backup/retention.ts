import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { BackupDestination } from './destination-types.js';

/**
 * Backup ids and what is kept of them. An id is a UTC time, 20261202T051500Z, so names sort by
 * age; a backup is complete when its backup.json is there (written last).
 */
export const BACKUP_ID = /^\d{8}T\d{6}Z$/;
export const MANIFEST_NAME = 'backup.json';

export function backupId(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** A new id: now, or a second after the newest that exists (two runs in one second). */
export function nextBackupId(now: Date, existing: readonly string[]): string {
  let id = backupId(now);
  const newest = existing
    .filter((n) => BACKUP_ID.test(n))
    .sort()
    .at(-1);
  if (newest && newest >= id) id = backupId(new Date(idTime(newest) + 1000));
  return id;
}

function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

export interface HostBackups {
  /** Complete backups, oldest first. */
  complete: string[];
  /** Backup directories without backup.json (a run that died), oldest first. */
  incomplete: string[];
}

export async function hostBackups(
  destination: BackupDestination,
  hostname: string,
): Promise<HostBackups> {
  const ids = (await destination.list(hostname)).filter((n) => BACKUP_ID.test(n)).sort();
  const complete: string[] = [];
  const incomplete: string[] = [];
  for (const id of ids) {
    const files = await destination.list(`${hostname}/${id}`);
    (files.includes(MANIFEST_NAME) ? complete : incomplete).push(id);
  }
  return { complete, incomplete };
}

/**
 * After backup `current` is complete: keep it and the newest `keep` complete ones before it;
 * remove older complete ones and incomplete ones older than it (a newer incomplete one may be
 * another run still writing). Only names that look like backup ids are ever touched.
 */
export async function applyRetention(options: {
  destination: BackupDestination;
  hostname: string;
  current: string;
  keep: number;
  log: Log;
}): Promise<string[]> {
  const { destination, hostname, current, keep, log } = options;
  const drop = backupsToDrop(await hostBackups(destination, hostname), current, keep);
  for (const id of drop) {
    log.debug(`retention: removing ${hostname}/${id}`);
    await destination.remove(`${hostname}/${id}`);
  }
  return drop;
}

/** applyRetention's choice, for methods that keep their backups elsewhere (rsync). */
export function backupsToDrop(backups: HostBackups, current: string, keep: number): string[] {
  const earlier = backups.complete.filter((id) => id < current);
  return [
    ...earlier.slice(0, Math.max(0, earlier.length - keep)),
    ...backups.incomplete.filter((id) => id < current),
  ].sort();
}

/**
 * The one sentence when the backup a recovery asks for is not there: the named id, or any
 * complete backup of the host, at `where` (the URL as messages show it), with the ids there are.
 */
export function noCompleteBackup(
  where: string,
  hostname: string,
  id: string | undefined,
  complete: readonly string[],
): JobError {
  return new JobError(
    id
      ? `backup.url ${where}: there is no complete backup ${id} of ${hostname}`
      : `backup.url ${where}: there is no complete backup of ${hostname}`,
    {
      hint: complete.length
        ? `complete backups: ${complete.join(', ')}`
        : 'make one with lifeboat mkbackup',
    },
  );
}
