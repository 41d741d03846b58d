import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError } from '../errors.js';
import {
  BackupKeyNeeded,
  type BackupMethod,
  type BackupRecord,
  type BackupRequest,
  type RestoreRequest,
  type RestoreResult,
  type VerifyRequest,
} from './method.js';
import { parseResticUrl, ResticRepo } from './restic-repo.js';
import { BACKUP_ID, nextBackupId, noCompleteBackup } from './retention.js';

/**
 * restic (beyond ReaR): the host's file systems as restic snapshots in a restic repository
 * (restic-repo.ts: a directory, or an sftp server). One backup is one snapshot per file system,
 * each made alone (--one-file-system), tagged so lifeboat finds them again:
 *
 *   lifeboat                        made by lifeboat (nothing else in the repository is touched)
 *   lifeboat-backup=<id>            the backup it belongs to (a UTC time, as netfs's ids)
 *   lifeboat-filesystem=<path>      the mount point it holds, URI-encoded ("%2Fboot")
 *   lifeboat-filesystems=<n>        how many snapshots the backup has: fewer is incomplete
 *
 * restic keeps a target's path as it was named: each file system is backed up as ".", from its
 * own directory, so its snapshot holds the content at its root and restores into the target's
 * directory of that mount point, whatever --root the backup was made with. restic encrypts and authenticates everything with the
 * repository password (backup.encryptionKey). Verify checks the repository's structure (restic
 * check) and that the backup is complete; restore verifies every restored file against the
 * snapshot (restore --verify). Retention (backup.keep) is restic forget --keep-last, then prune.
 */
const TAG = 'lifeboat';

interface ResticSnapshot {
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags?: string[];
}

/** One file system's snapshot in a backup; the counts are known only to the run that made it. */
interface Part {
  snapshot: string;
  filesystem: string;
  files?: number;
  bytes?: number;
}

/** BackupRecord.details of a restic backup. */
interface ResticBackup {
  id: string;
  hostname: string;
  created: string;
  parts: Part[];
  selinux: boolean;
}

export const resticMethod: BackupMethod = {
  name: 'restic',
  // Debian's restic, into the rescue image only when this method is chosen; ssh is in the base.
  rescue: { programs: ['restic', 'ssh', 'ssh-keyscan', 'ssh-keygen'], packages: ['restic'] },
  protectedDevices: () => [],
  configProblems: (config, use) => {
    const problems: string[] = [];
    if (!config.backup.url)
      problems.push('backup.method restic needs backup.url (file:///path or sftp://host/path)');
    else {
      try {
        parseResticUrl(config.backup.url);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    // A restore may get the password typed at the console (BackupKeyNeeded); a backup may not.
    if (use === 'backup' && !config.backup.encryptionKey)
      problems.push(
        'backup.method restic needs backup.encryptionKey: it is the restic repository password',
      );
    return problems;
  },

  async check({ config, log }) {
    const repo = new ResticRepo(config, log);
    try {
      const opened = await repo.run(['cat', 'config']);
      // A repository that is not there yet is made by the backup.
      if (opened.exitCode !== 0 && !repo.missing(opened))
        throw repo.failure(opened, 'opening the repository');
      return repo.url.display;
    } finally {
      await repo.close();
    }
  },

  async backup(request: BackupRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const repo = new ResticRepo(config, log);
    try {
      // Every restic run opens the repository anew (its key derivation alone takes most of a
      // second), so the listing of this host's snapshots is also the check that it opens.
      let before = await lifeboatSnapshots(repo, hostname);
      if (before === undefined) {
        const made = await repo.run(['init']);
        if (made.exitCode !== 0) throw repo.failure(made, 'making the repository');
        log.info(`restic: made a repository at ${repo.url.display}`);
        before = [];
      }
      const id = nextBackupId(new Date(), [...new Set(before.map((s) => tagValue(s, 'backup')))]);
      const created = new Date().toISOString();
      const selinux = request.hostRoot === '/' && existsSync('/sys/fs/selinux/enforce');
      const started = Date.now();
      const parts: Part[] = [];
      // A backup that fails half way is of no use: the snapshots it made go now (verify would
      // pass them over as incomplete, and retention would keep them for a while).
      const forgetParts = async () => {
        if (parts.length === 0) return;
        await repo.run(['forget', ...parts.map((p) => p.snapshot)]).catch(() => undefined);
      };
      for (const filesystem of request.filesystems) {
        const made = await repo.run(
          [
            'backup',
            '--host',
            hostname,
            '--tag',
            TAG,
            '--tag',
            `${TAG}-backup=${id}`,
            '--tag',
            `${TAG}-filesystem=${encodeURIComponent(filesystem)}`,
            '--tag',
            `${TAG}-filesystems=${request.filesystems.length}`,
            ...(selinux ? ['--tag', `${TAG}-selinux`] : []),
            // Each file system alone: no wandering into /proc, a tmpfs or a network mount below
            // it; the other file systems are snapshots of their own.
            '--one-file-system',
            ...excludeArgs(request, config),
            // One summary line of JSON at the end, and no progress lines.
            '--json',
            '--quiet',
            // The file system's content at the snapshot's root (see above).
            '.',
          ],
          {
            cwd: hostPath(request.hostRoot, filesystem),
            ...(request.signal ? { signal: request.signal } : {}),
          },
        );
        // 3: some files could not be read (vanished while restic ran), as tar's warning.
        const summary = jsonLines(made.lines).find((line) => line.message_type === 'summary');
        if (
          (made.exitCode !== 0 && made.exitCode !== 3) ||
          typeof summary?.snapshot_id !== 'string'
        ) {
          await forgetParts();
          throw repo.failure(made, `the backup of ${filesystem}`);
        }
        if (made.exitCode === 3) log.warn(`restic: some files of ${filesystem} could not be read`);
        parts.push({
          snapshot: summary.snapshot_id,
          filesystem,
          files: Number(summary.total_files_processed ?? 0),
          bytes: Number(summary.total_bytes_processed ?? 0),
        });
      }
      const backup: ResticBackup = { id, hostname, created, parts, selinux };
      log.info(
        `restic: ${parts.length} snapshot(s), ${count(parts, 'files')} files in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      // Only when a file system has more snapshots than backup.keep allows: forget opens the
      // repository once more, and prune reads all of it.
      const filesystems = [
        ...before.map((snapshot) => decodeURIComponent(tagValue(snapshot, 'filesystem'))),
        ...parts.map((part) => part.filesystem),
      ];
      const most = Math.max(...filesystems.map((fs) => filesystems.filter((f) => f === fs).length));
      if (most > config.backup.keep + 1) await forgetOld(repo, hostname, config.backup.keep);
      return recordOf(backup, repo.url.display);
    } finally {
      await repo.close();
    }
  },

  async verify(request: VerifyRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    if (!config.backup.encryptionKey) {
      throw new BackupKeyNeeded(
        'a restic repository is encrypted and backup.encryptionKey (its password) is not set',
        { hint: 'set backup.encryptionKey to the repository password' },
      );
    }
    const repo = new ResticRepo(config, log);
    try {
      const snapshots = await lifeboatSnapshots(repo, hostname);
      if (snapshots === undefined) {
        throw new JobError(`backup.url ${repo.url.display}: there is no restic repository there`, {
          hint: 'check backup.url; lifeboat mkbackup makes the repository with its first backup',
        });
      }
      const backups = completeBackups(snapshots);
      const chosen = request.id ? backups.find((b) => b.id === request.id) : backups.at(-1);
      if (!chosen)
        throw noCompleteBackup(
          repo.url.display,
          hostname,
          request.id,
          backups.map((b) => b.id),
        );
      // The repository's structure: every index, snapshot and tree readable and consistent, and
      // every blob a snapshot names present. The data itself is checked as restore reads it.
      const checked = await repo.run(['check']);
      if (checked.exitCode !== 0) throw repo.failure(checked, 'restic check');
      return recordOf(chosen, repo.url.display);
    } finally {
      await repo.close();
    }
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, target } = request;
    const backup = request.backup.details as ResticBackup;
    const repo = new ResticRepo(config, log);
    const started = Date.now();
    try {
      // The root first, then what is mounted below it (/boot before /boot/efi).
      const parts = [...backup.parts].sort((a, b) => depth(a.filesystem) - depth(b.filesystem));
      let entries = 0;
      for (const part of parts) {
        const into = join(target, part.filesystem);
        await mkdir(into, { recursive: true });
        const restored = await repo.run(
          // --verify: every restored file is read back and compared with the snapshot.
          ['restore', part.snapshot, '--target', into, '--verify'],
          request.signal ? { signal: request.signal } : {},
        );
        if (restored.exitCode !== 0) throw repo.failure(restored, `restoring ${part.filesystem}`);
        // "finished verifying 1234 files in /mnt/local": how many came back.
        const verified = restored.lines
          .map((line) => /finished verifying (\d+) files/.exec(line)?.[1])
          .find((n) => n !== undefined);
        entries += Number(verified ?? 0);
      }
      return { entries, bytes: count(parts, 'bytes'), seconds: (Date.now() - started) / 1000 };
    } finally {
      await repo.close();
    }
  },
};

/** lifeboat's snapshots of `hostname`, oldest first; undefined when there is no repository. */
async function lifeboatSnapshots(
  repo: ResticRepo,
  hostname: string,
): Promise<ResticSnapshot[] | undefined> {
  const listed = await repo.run(['snapshots', '--json', '--host', hostname, '--tag', TAG]);
  if (repo.missing(listed)) return undefined;
  if (listed.exitCode !== 0) throw repo.failure(listed, 'listing the snapshots');
  const array = listed.lines.find((line) => line.startsWith('['));
  const snapshots = array ? (JSON.parse(array) as ResticSnapshot[]) : [];
  return snapshots.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** The backups whose every file system's snapshot is there, oldest first. */
function completeBackups(snapshots: readonly ResticSnapshot[]): ResticBackup[] {
  const byId = new Map<string, ResticSnapshot[]>();
  for (const snapshot of snapshots) {
    const id = tagValue(snapshot, 'backup');
    if (!BACKUP_ID.test(id)) continue;
    byId.set(id, [...(byId.get(id) ?? []), snapshot]);
  }
  const backups: ResticBackup[] = [];
  for (const [id, parts] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const expected = Number(tagValue(parts[0] as ResticSnapshot, 'filesystems'));
    const filesystems = new Set(parts.map((p) => tagValue(p, 'filesystem')));
    if (filesystems.size !== expected || filesystems.has('')) continue;
    backups.push({
      id,
      hostname: (parts[0] as ResticSnapshot).hostname,
      created: (parts[0] as ResticSnapshot).time,
      selinux: parts.some((p) => p.tags?.includes(`${TAG}-selinux`)),
      parts: parts.map((p) => ({
        snapshot: p.short_id,
        filesystem: decodeURIComponent(tagValue(p, 'filesystem')),
      })),
    });
  }
  return backups;
}

/** The value of the snapshot's tag lifeboat-NAME=VALUE, '' when it has none. */
function tagValue(snapshot: ResticSnapshot, name: string): string {
  const prefix = `${TAG}-${name}=`;
  return snapshot.tags?.find((tag) => tag.startsWith(prefix))?.slice(prefix.length) ?? '';
}

/**
 * backup.keep: the newest keep+1 snapshots of each file system stay, older ones are forgotten
 * and their data pruned. Only lifeboat's snapshots of this host are considered.
 */
async function forgetOld(repo: ResticRepo, hostname: string, keep: number): Promise<void> {
  const forgot = await repo.run([
    'forget',
    '--host',
    hostname,
    '--tag',
    TAG,
    '--group-by',
    'host,paths',
    '--keep-last',
    String(keep + 1),
    '--prune',
  ]);
  if (forgot.exitCode !== 0) throw repo.failure(forgot, 'forgetting old snapshots');
}

/** A mount point under the host root: "/" → the root itself. */
function hostPath(hostRoot: string, filesystem: string): string {
  const rel = filesystem.replace(/^\/+/, '');
  return rel === '' ? hostRoot : join(hostRoot, rel);
}

const depth = (path: string) => path.split('/').filter(Boolean).length;

/** The parts' files or bytes as the backup counted them (0 for a backup read back later). */
const count = (parts: readonly Part[], what: 'files' | 'bytes') =>
  parts.reduce((n, p) => n + (p[what] ?? 0), 0);

/**
 * backup.exclude and what is always left out, as restic patterns. A host path ("/tmp/*") is
 * anchored at the host root; anything else matches anywhere ("*.o"), as with netfs.
 */
function excludeArgs(request: BackupRequest, config: Config): string[] {
  const patterns = config.backup.exclude.map((pattern) =>
    pattern.startsWith('/') ? join(request.hostRoot, pattern) : pattern,
  );
  const always = request.alwaysExclude.filter((path) => {
    const rel = relative(request.hostRoot, path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  });
  return [...patterns, ...always].flatMap((pattern) => ['--exclude', pattern]);
}

/** The JSON objects among restic's output lines (--json prints one a line). */
function jsonLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function recordOf(backup: ResticBackup, where: string): BackupRecord {
  const files = count(backup.parts, 'files');
  const counted =
    files > 0
      ? `${files} files, ${(count(backup.parts, 'bytes') / 1_048_576).toFixed(1)} MiB in `
      : '';
  return {
    id: backup.id,
    hostname: backup.hostname,
    created: backup.created,
    where: `${where} (host ${backup.hostname})`,
    summary: `${counted}${backup.parts.length} restic snapshot(s): ${backup.parts.map((p) => `${p.filesystem} ${p.snapshot}`).join(', ')}`,
    selinux: backup.selinux,
    details: backup,
  };
}
