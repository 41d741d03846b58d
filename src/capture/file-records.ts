import type { Stats } from 'node:fs';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { canonicalJson, compareByteOrder } from './canonical-json.js';
import { hashRegularFile } from './file-records-hash.js';
import { normalizeRootPath, RootPathError, type RootView } from './fs-root.js';
import type { DirectoryRecord, FileRecord, RegularFileRecord, SymlinkRecord } from './manifest.js';
import { readXattrs } from './xattrs.js';

/**
 * The manifest's `files`: what the rescue system gets from the host, one record per path.
 *
 * A path is recorded as the rescue system must recreate it: every symlink met on the way is a
 * symlink record (`/bin -> usr/bin` on merged-/usr roots, `libfoo.so.1 -> libfoo.so.1.2.3`), so
 * the rescue system has the same names without copying a file twice, and the file it leads to
 * is a regular file (its bytes go to the bundle's store, by sha256) or a directory. Device
 * nodes, sockets and FIFOs are not copied: the rescue system has its own devtmpfs, and a FIFO
 * or socket only means something to the process that made it.
 */

/**
 * A path to record. `follow: false` records a final symlink as a link without following it
 * (lstat semantics: what copy-as-is finds inside a directory tree); a plain string follows it.
 */
export interface RecordTarget {
  path: string;
  follow: boolean;
}

export type RecordInput = string | RecordTarget;

export interface RecordFilesOptions {
  log?: Pick<Log, 'debug'>;
  /** The getfattr program (tests point it at a missing one). */
  getfattr?: string;
}

export interface RecordedFiles {
  /** Sorted by path (byte order), one per path. */
  records: FileRecord[];
  /** sha256 → a file on this machine with that content, for the bundle's store. */
  contents: Map<string, string>;
  /** Sorted. */
  warnings: string[];
}

/** Files hashed at the same time: enough to keep a disk busy, few enough for file descriptors. */
const CONCURRENCY = 8;

type Final = { record: FileRecord; hostPath?: string } | { skip: string };

export async function recordFiles(
  view: RootView,
  paths: Iterable<RecordInput>,
  options: RecordFilesOptions = {},
): Promise<RecordedFiles> {
  const records = new Map<string, FileRecord>();
  const contents = new Map<string, string>();
  const warnings = new Set<string>();
  // One lstat/hash per real path, however many inputs lead to it.
  const finals = new Map<string, Promise<Final>>();

  const add = (record: FileRecord): void => {
    const existing = records.get(record.path);
    if (existing === undefined) records.set(record.path, record);
    else if (canonicalJson(existing) !== canonicalJson(record)) {
      // The view caches what it read, so only a bug (or a root changing under a cache) gets here.
      throw new JobError(`${record.path}: recorded twice, differently (did the root change?)`);
    }
  };

  await forEachLimit(dedupe(paths), CONCURRENCY, async ({ path, follow }) => {
    let resolution: Awaited<ReturnType<RootView['resolve']>>;
    try {
      resolution = await view.resolve(path, { followFinal: follow });
    } catch (error) {
      // Inputs were found to exist by whoever listed them: on a live host, files come and go.
      if (error instanceof RootPathError) {
        warnings.add(`not captured: ${error.message}`);
        return;
      }
      throw error;
    }
    let final = finals.get(resolution.realPath);
    if (final === undefined) {
      final = finalRecord(view, path, resolution.realPath);
      finals.set(resolution.realPath, final);
    }
    const result = await final;
    if ('skip' in result) {
      warnings.add(result.skip);
      return;
    }
    for (const hop of resolution.links)
      add(symlinkRecord(hop.path, hop.target, await view.lstat(hop.path)));
    add(result.record);
    if (result.record.type === 'file' && result.hostPath !== undefined) {
      if (!contents.has(result.record.sha256)) contents.set(result.record.sha256, result.hostPath);
    }
  });

  const sorted = [...records.values()].sort((a, b) => compareByteOrder(a.path, b.path));
  const withAttributes = sorted.filter(
    (record): record is RegularFileRecord | DirectoryRecord => record.type !== 'symlink',
  );
  const xattrs = await readXattrs(
    withAttributes.map((record) => view.hostPath(record.path)),
    options,
  );
  for (const warning of xattrs.warnings) warnings.add(warning);
  for (const record of withAttributes) {
    const attributes = xattrs.xattrs.get(view.hostPath(record.path));
    if (attributes !== undefined && Object.keys(attributes).length > 0) record.xattrs = attributes;
  }
  return { records: sorted, contents, warnings: [...warnings].sort(compareByteOrder) };
}

/** Inputs normalized, each path once; following wins over not following (it records more). */
function dedupe(paths: Iterable<RecordInput>): RecordTarget[] {
  const follows = new Map<string, boolean>();
  for (const input of paths) {
    const { path, follow } = typeof input === 'string' ? { path: input, follow: true } : input;
    const normalized = normalizeRootPath(path);
    follows.set(normalized, (follows.get(normalized) ?? false) || follow);
  }
  return [...follows].map(([path, follow]) => ({ path, follow }));
}

/** "4755": permission bits with setuid/setgid/sticky, as chmod takes them. */
export function octalMode(stats: Pick<Stats, 'mode'>): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

function symlinkRecord(path: string, target: string, stats: Stats): SymlinkRecord {
  return { path, type: 'symlink', target, uid: stats.uid, gid: stats.gid };
}

/** The record of what a path leads to (`realPath`: no symlink before its last component). */
async function finalRecord(view: RootView, asked: string, realPath: string): Promise<Final> {
  const named = asked === realPath ? realPath : `${asked} (${realPath})`;
  let stats: Stats;
  try {
    stats = await view.lstat(realPath);
  } catch (error) {
    if (error instanceof RootPathError) return { skip: `not captured: ${named} vanished` };
    throw error;
  }
  if (stats.isSymbolicLink()) {
    return { record: symlinkRecord(realPath, await view.readlink(realPath), stats) };
  }
  if (stats.isDirectory()) {
    const record: DirectoryRecord = {
      path: realPath,
      type: 'dir',
      mode: octalMode(stats),
      uid: stats.uid,
      gid: stats.gid,
    };
    return { record };
  }
  if (!stats.isFile()) {
    return {
      skip: `not captured: ${named} is a ${specialKind(stats)} (special files are not copied; the rescue system has devtmpfs)`,
    };
  }
  const hostPath = view.hostPath(realPath);
  try {
    const hashed = await hashRegularFile(hostPath);
    const record: RegularFileRecord = {
      path: realPath,
      type: 'file',
      mode: octalMode(hashed.stats),
      uid: hashed.stats.uid,
      gid: hashed.stats.gid,
      size: hashed.size,
      sha256: hashed.sha256,
    };
    return { record, hostPath };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Replaced or removed since the lstat above: a live host; the rest of the capture stands.
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTREG') {
      return { skip: `not captured: ${named} changed while it was read (${code})` };
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new JobError(`cannot read ${hostPath}: permission denied`, {
        hint: 'Capture as root: the rescue system needs every file it names.',
        cause: error,
      });
    }
    throw error;
  }
}

function specialKind(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  return 'special file';
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true; // the others finish what they hold and take nothing new
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
