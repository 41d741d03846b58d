import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { VERSION } from '../paths.js';
import { privateTempDir } from '../util/temp-dir.js';
import type {
  BackupMethod,
  BackupRecord,
  BackupRequest,
  RestoreRequest,
  RestoreResult,
  VerifyRequest,
} from './method.js';
import {
  BACKUP_ID,
  backupsToDrop,
  type HostBackups,
  MANIFEST_NAME,
  nextBackupId,
  noCompleteBackup,
} from './retention.js';
import { parseRsyncUrl, RsyncRemote, type RsyncResult } from './rsync-remote.js';

/**
 * rsync (ReaR BACKUP=RSYNC): the host's files as a tree on an rsync server, over ssh or to an
 * rsync daemon (rsync-remote.ts). On the server, one directory per backup:
 *
 *   <url>/<host>/<id>/root/        the tree, every file system the layout mounts, as on the host
 *   <url>/<host>/<id>/backup.json  what was backed up and a digest of the tree's listing; written
 *                                  last, so a backup without it is incomplete
 *
 * A new backup hard-links every file that is unchanged since the newest one (--link-dest), so it
 * costs only what changed, and retention (backup.keep) removes whole directories. Verify lists
 * the tree on the server and compares it with the listing digest (names, types, modes, sizes,
 * times); restore copies the tree into the target with the same options it was made with.
 */
const TREE = 'root';

/** backup.json of an rsync backup. */
interface RsyncManifest {
  format: 1;
  method: 'rsync';
  id: string;
  hostname: string;
  created: string;
  lifeboatVersion: string;
  filesystems: string[];
  excludes: string[];
  selinux: boolean;
  /** The tree as the server lists it: entries and the sha256 of the normalised listing. */
  tree: { entries: number; bytes: number; listingSha256: string };
}

/**
 * What every transfer keeps, the same way in both directions (ReaR's BACKUP_RSYNC_OPTIONS and
 * more): a restored file is the file that was backed up.
 */
const KEEP = [
  // Recursion, symlinks as symlinks, permissions, times, owner, group, devices and specials.
  '--archive',
  // Hard links stay one file with several names (the host's /usr has some).
  '--hard-links',
  // POSIX ACLs and every extended attribute (security.capability of ping, SELinux labels).
  '--acls',
  '--xattrs',
  // uid/gid numbers, not names: the rescue system's /etc/passwd is not the host's.
  '--numeric-ids',
  // Holes stay holes (VM images, databases).
  '--sparse',
  // Counts and sizes at the end, which the method reads.
  '--stats',
];

export const rsyncMethod: BackupMethod = {
  name: 'rsync',
  // Debian's rsync is in the rescue base; ssh comes with openssh-server.
  rescue: { programs: ['rsync', 'ssh', 'ssh-keyscan', 'ssh-keygen'], packages: [] },
  protectedDevices: () => [],
  configProblems: (config) => {
    if (!config.backup.url) return ['backup.method rsync needs backup.url (rsync://host/path)'];
    try {
      parseRsyncUrl(config.backup.url);
      return [];
    } catch (error) {
      return [error instanceof Error ? error.message : String(error)];
    }
  },

  async check({ config, log }) {
    const remote = remoteOf(config, log);
    try {
      await remote.open();
      const listed = await remote.run(['--list-only', remote.location()]);
      if (listed.exitCode !== 0 && !missing(listed)) throw remote.failure(listed, 'listing');
      return remote.url.display;
    } finally {
      await remote.close();
    }
  },

  async backup(request: BackupRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const remote = remoteOf(config, log);
    const work = await privateTempDir('lifeboat-rsync-backup-');
    try {
      await remote.open();
      const before = await hostBackups(remote, hostname);
      const id = nextBackupId(new Date(), [...before.complete, ...before.incomplete]);
      const newest = before.complete.at(-1);
      const created = new Date().toISOString();
      const selinux = request.hostRoot === '/' && existsSync('/sys/fs/selinux/enforce');
      const started = Date.now();
      const sent = await remote.run(
        [
          ...KEEP,
          // Each named file system on its own: no wandering into /proc, a tmpfs or a network
          // mount below it; the others are named in the list themselves.
          '--one-file-system',
          // Paths from the host root ("/./boot" arrives as boot/), so the tree is the host's.
          '--relative',
          // The backup's directories are made on the server as the copy starts.
          '--mkpath',
          // Unchanged since the newest backup: a hard link to its file, no bytes sent or stored.
          ...(newest ? [`--link-dest=../../${newest}/${TREE}`] : []),
          ...excludeArgs(request, config),
          ...request.filesystems.map((fs) => sourceOf(request.hostRoot, fs)),
          remote.location(`${hostname}/${id}/${TREE}/`),
        ],
        request.signal,
      );
      // 24: files vanished while rsync ran (a lock, a temp file), as tar's changed-file warning.
      if (sent.exitCode === 24) log.warn('rsync: some files vanished while they were copied');
      else if (sent.exitCode !== 0) {
        // What this run copied is of no use without its backup.json: it goes now (retention
        // would remove it at the next backup otherwise).
        await removeBackups(remote, hostname, [id], work.dir).catch(() => undefined);
        throw remote.failure(sent, 'the backup');
      }

      const tree = await listTree(remote, `${hostname}/${id}/${TREE}/`);
      const manifest: RsyncManifest = {
        format: 1,
        method: 'rsync',
        id,
        hostname,
        created,
        lifeboatVersion: VERSION,
        filesystems: [...request.filesystems],
        excludes: [...config.backup.exclude],
        selinux,
        tree,
      };
      const manifestFile = join(work.dir, MANIFEST_NAME);
      await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      // Last: a backup without backup.json is incomplete, never chosen, removed by retention.
      const wrote = await remote.run([
        '--chmod=F600',
        manifestFile,
        remote.location(`${hostname}/${id}/${MANIFEST_NAME}`),
      ]);
      if (wrote.exitCode !== 0) throw remote.failure(wrote, 'writing backup.json');
      log.info(
        `rsync: ${tree.entries} entries, ${stat(sent, 'Total transferred file size')} bytes sent in ${((Date.now() - started) / 1000).toFixed(1)} s${newest ? ` (unchanged files linked to ${newest})` : ''}`,
      );

      const drop = backupsToDrop(
        { complete: [...before.complete, id], incomplete: before.incomplete },
        id,
        config.backup.keep,
      );
      if (drop.length > 0) {
        await removeBackups(remote, hostname, drop, work.dir);
        log.info(`retention: removed ${drop.join(', ')}`);
      }
      return recordOf(manifest, remote.url.display);
    } finally {
      await work.dispose();
      await remote.close();
    }
  },

  async verify(request: VerifyRequest): Promise<BackupRecord> {
    const { config, log, hostname } = request;
    const remote = remoteOf(config, log);
    const work = await privateTempDir('lifeboat-rsync-verify-');
    try {
      await remote.open();
      const { complete } = await hostBackups(remote, hostname);
      const id = request.id ?? complete.at(-1);
      if (!id || !complete.includes(id))
        throw noCompleteBackup(remote.url.display, hostname, request.id, complete);
      const fetched = await remote.run([
        remote.location(`${hostname}/${id}/${MANIFEST_NAME}`),
        join(work.dir, MANIFEST_NAME),
      ]);
      if (fetched.exitCode !== 0) throw remote.failure(fetched, 'reading backup.json');
      const manifest = JSON.parse(
        await readFile(join(work.dir, MANIFEST_NAME), 'utf8'),
      ) as RsyncManifest;
      if (manifest.method !== 'rsync' || manifest.hostname !== hostname || manifest.id !== id) {
        throw new JobError(
          `backup.url ${remote.url.display}: ${hostname}/${id}/backup.json is not an rsync backup of ${hostname}`,
        );
      }
      const tree = await listTree(remote, `${hostname}/${id}/${TREE}/`);
      if (tree.listingSha256 !== manifest.tree.listingSha256) {
        throw new JobError(
          `backup.url ${remote.url.display}: backup ${id} of ${hostname} changed on the server since it was made (${tree.entries} entries now, ${manifest.tree.entries} then)`,
          { hint: 'nothing was touched; choose another backup with --backup-id' },
        );
      }
      return recordOf(manifest, remote.url.display);
    } finally {
      await work.dispose();
      await remote.close();
    }
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, backup, target } = request;
    const remote = remoteOf(config, log);
    try {
      await remote.open();
      const started = Date.now();
      const copied = await remote.run(
        [...KEEP, remote.location(`${backup.hostname}/${backup.id}/${TREE}/`), `${target}/`],
        request.signal,
      );
      if (copied.exitCode !== 0) throw remote.failure(copied, 'the restore');
      return {
        entries: stat(copied, 'Number of files'),
        bytes: stat(copied, 'Total file size'),
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await remote.close();
    }
  },
};

function remoteOf(config: Config, log: Log): RsyncRemote {
  if (!config.backup.url) {
    throw new UsageError('backup.method rsync needs backup.url: it is not set', {
      hint: 'set backup.url to rsync://[user@]host[:port]/path (ssh) or rsync://host::/module/path',
    });
  }
  return new RsyncRemote(parseRsyncUrl(config.backup.url), log, {
    sshKey: config.backup.sftpKey,
    hostKey: config.backup.sftpHostKey,
  });
}

/** A file system as rsync's --relative source: "/./boot" under the host root. */
function sourceOf(hostRoot: string, fs: string): string {
  const rel = fs.replace(/^\/+/, '');
  return `${hostRoot.replace(/\/+$/, '')}/./${rel}`;
}

/**
 * backup.exclude and what is always left out, as rsync filters. A host path ("/tmp/*") is
 * anchored at the host root, which --relative makes the transfer's root; anything else matches
 * anywhere ("*.o"), as with netfs.
 */
function excludeArgs(request: BackupRequest, config: Config): string[] {
  const always = request.alwaysExclude.flatMap((path) => {
    const rel = relative(request.hostRoot, path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? [] : [`/${rel}`];
  });
  return [...config.backup.exclude, ...always].map((pattern) => `--exclude=${pattern}`);
}

/** The host's backups on the server: complete (with backup.json) and not, oldest first. */
async function hostBackups(remote: RsyncRemote, hostname: string): Promise<HostBackups> {
  const listed = await remote.run([
    '--list-only',
    '--recursive',
    '--include=/*/',
    `--include=/*/${MANIFEST_NAME}`,
    '--exclude=*',
    remote.location(`${hostname}/`),
  ]);
  if (missing(listed)) return { complete: [], incomplete: [] };
  if (listed.exitCode !== 0) throw remote.failure(listed, 'listing the backups');
  const names = listed.stdout
    .split('\n')
    .map((line) => parseListing(line)?.name)
    .filter((name): name is string => name !== undefined);
  const ids = names.filter((name) => BACKUP_ID.test(name)).sort();
  const done = new Set(
    names.filter((name) => name.endsWith(`/${MANIFEST_NAME}`)).map((name) => name.split('/')[0]),
  );
  return {
    complete: ids.filter((id) => done.has(id)),
    incomplete: ids.filter((id) => !done.has(id)),
  };
}

/**
 * Removes whole backup directories: an empty directory synced over the host's with --delete,
 * every name but the chosen ones protected by the filters (rsync has no remote rm).
 */
async function removeBackups(
  remote: RsyncRemote,
  hostname: string,
  ids: readonly string[],
  scratch: string,
): Promise<void> {
  const empty = join(scratch, 'empty');
  await mkdir(empty, { mode: 0o700, recursive: true });
  const removed = await remote.run([
    '--recursive',
    '--delete',
    ...ids.map((id) => `--include=/${id}/***`),
    '--exclude=*',
    `${empty}/`,
    remote.location(`${hostname}/`),
  ]);
  if (removed.exitCode !== 0) throw remote.failure(removed, 'removing old backups');
}

/**
 * The tree as the server lists it, each line normalised (mode, size, time, name; sizes without
 * digit grouping, times in UTC), and its digest: what verify compares.
 */
async function listTree(remote: RsyncRemote, dir: string): Promise<RsyncManifest['tree']> {
  const listed = await remote.run(['--list-only', '--recursive', remote.location(dir)]);
  if (listed.exitCode !== 0) throw remote.failure(listed, 'listing the backup');
  const entries = listed.stdout
    .split('\n')
    .map(parseListing)
    .filter((entry): entry is ListingEntry => entry !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const digest = createHash('sha256');
  let bytes = 0;
  for (const entry of entries) {
    digest.update(`${entry.mode} ${entry.size} ${entry.time} ${entry.name}\n`);
    if (entry.mode.startsWith('-')) bytes += entry.size;
  }
  return { entries: entries.length, bytes, listingSha256: digest.digest('hex') };
}

interface ListingEntry {
  mode: string;
  size: number;
  time: string;
  name: string;
}

/** One line of `rsync --list-only`: "drwxr-xr-x          4,096 2026/12/07 17:20:00 etc". */
function parseListing(line: string): ListingEntry | undefined {
  const match = /^([-a-zA-Z]{10})\s+([\d,.]+)\s+(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d)\s(.*)$/.exec(
    line,
  );
  if (!match) return undefined;
  const [, mode, size, time, name] = match as unknown as [string, string, string, string, string];
  return { mode, size: Number(size.replace(/[,.]/g, '')), time, name };
}

/** The directory is not there (yet): rsync's "No such file or directory" on its change_dir. */
function missing(result: RsyncResult): boolean {
  return result.exitCode === 23 && /No such file or directory/.test(result.stderr);
}

/** A number from rsync's --stats ("Number of files: 1,234 (reg: ...)"). */
function stat(result: RsyncResult, label: string): number {
  const match = new RegExp(`^${label}: ([\\d,.]+)`, 'm').exec(result.stdout);
  return match?.[1] ? Number(match[1].replace(/[,.]/g, '')) : 0;
}

function recordOf(manifest: RsyncManifest, where: string): BackupRecord {
  return {
    id: manifest.id,
    hostname: manifest.hostname,
    created: manifest.created,
    where: `${where}/${manifest.hostname}/${manifest.id}`,
    summary: `${manifest.tree.entries} entries, ${(manifest.tree.bytes / 1_048_576).toFixed(1)} MiB (rsync tree)`,
    selinux: manifest.selinux,
    details: manifest,
  };
}
