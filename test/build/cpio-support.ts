import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa, execaSync } from 'execa';
import { pack } from 'tar-stream';

/**
 * Test trees for the initramfs writer, the ways a tar of them is made (GNU tar, tar-stream), the
 * oracle (GNU cpio), and a newc reader to compare archives record by record.
 */

export const EPOCH = 1_700_000_000; // 2023-11-14: every "now" in these tests is later
export const ANCIENT = 1_000_000_000; // 2001: older than EPOCH, must be kept as it is

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lifeboat-cpio-${prefix}-`));
}

// --- trees -----------------------------------------------------------------------------------

/** A name given as bytes (to make names that are not UTF-8). */
const bytes = (...values: number[]) => Buffer.from(values);
/** `latin` with e-acute as the single byte 0xE9: not valid UTF-8. */
export const NON_UTF8_NAME = Buffer.concat([Buffer.from('i18n/latin'), bytes(0xe9)]);
export const LONG_DIR = `long/${'d'.repeat(120)}`;
export const LONG_FILE = `${LONG_DIR}/${'f'.repeat(200)}`;

type TreeItem =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string | Buffer; mode: number; content: string }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'hardlink'; path: string; target: string }
  | { kind: 'char' | 'block'; path: string; mode: number; major: number; minor: number }
  | { kind: 'fifo'; path: string; mode: number };

export interface TreeOptions {
  /** Create the items last-first (another readdir order, other on-disk inode numbers). */
  reverse?: boolean;
  /** Set every mtime to this (seconds); default: left at creation time ("now"). */
  mtime?: number;
  hardlinks?: boolean;
  nonUtf8?: boolean;
}

function treeItems(options: TreeOptions): TreeItem[] {
  const items: TreeItem[] = [
    { kind: 'dir', path: 'bin', mode: 0o755 },
    { kind: 'file', path: 'bin/tool', mode: 0o755, content: '#!/bin/sh\necho tool\n' },
    { kind: 'file', path: 'bin/su', mode: 0o4755, content: 'setuid binary' },
    { kind: 'symlink', path: 'bin/sh', target: 'tool' },
    { kind: 'dir', path: 'etc', mode: 0o755 },
    { kind: 'file', path: 'etc/shadow', mode: 0o600, content: 'root:*:19000:0:99999:7:::\n' },
    { kind: 'dir', path: 'etc/empty', mode: 0o700 },
    { kind: 'file', path: 'empty-file', mode: 0o644, content: '' },
    { kind: 'dir', path: 'usr/share/doc/deeply/nested/dir', mode: 0o755 },
    {
      kind: 'file',
      path: 'usr/share/doc/deeply/nested/dir/README',
      mode: 0o444,
      content: 'x'.repeat(5000),
    },
    { kind: 'dir', path: 'usr/lib', mode: 0o755 },
    { kind: 'symlink', path: 'lib', target: 'usr/lib' },
    { kind: 'symlink', path: 'dangling', target: '/nowhere/at/all' },
    { kind: 'dir', path: 'dev', mode: 0o755 },
    { kind: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { kind: 'block', path: 'dev/loop0', mode: 0o660, major: 7, minor: 0 },
    { kind: 'fifo', path: 'run/initctl', mode: 0o600 },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'dir', path: 'var/mail', mode: 0o2775 },
    { kind: 'dir', path: LONG_DIR, mode: 0o755 },
    { kind: 'file', path: LONG_FILE, mode: 0o644, content: 'a long name' },
    { kind: 'file', path: 'i18n/café-naïve-文件.txt', mode: 0o644, content: 'unicode' },
    { kind: 'symlink', path: 'i18n/lien', target: 'café-naïve-文件.txt' },
    { kind: 'file', path: 'old/ancient', mode: 0o644, content: 'from 2001' },
    { kind: 'file', path: 'home/user/owned', mode: 0o640, content: 'not root' },
    // Odd sizes, so that data padding (0-3 bytes) is exercised.
    { kind: 'file', path: 'pad/1', mode: 0o644, content: 'a' },
    { kind: 'file', path: 'pad/2', mode: 0o644, content: 'ab' },
    { kind: 'file', path: 'pad/3', mode: 0o644, content: 'abc' },
    { kind: 'file', path: 'pad/4', mode: 0o644, content: 'abcd' },
  ];
  if (options.nonUtf8)
    items.push({ kind: 'file', path: NON_UTF8_NAME, mode: 0o644, content: 'latin-1' });
  if (options.hardlinks) {
    items.push(
      // Far apart in byte order: GNU cpio moves bin/tool next to usr/bin/tool-alias.
      { kind: 'hardlink', path: 'usr/bin/tool-alias', target: 'bin/tool' },
      // Neighbours, and a third name.
      { kind: 'file', path: 'data/a1', mode: 0o644, content: 'shared data' },
      { kind: 'hardlink', path: 'data/a2', target: 'data/a1' },
      { kind: 'hardlink', path: 'data/a3', target: 'data/a1' },
      // An empty file with two names.
      { kind: 'file', path: 'z/empty1', mode: 0o644, content: '' },
      { kind: 'hardlink', path: 'z/empty2', target: 'z/empty1' },
    );
  }
  return items;
}

function parentOf(path: string | Buffer): string | Buffer {
  const text = path.toString('latin1');
  const slash = text.lastIndexOf('/');
  return slash < 0 ? '' : typeof path === 'string' ? path.slice(0, slash) : path.subarray(0, slash);
}

function at(root: string, path: string | Buffer): string | Buffer {
  return typeof path === 'string'
    ? join(root, path)
    : Buffer.concat([Buffer.from(`${root}/`), path]);
}

/** Makes the test tree in `root` (which exists); needs root for devices and chown. */
export function makeTree(root: string, options: TreeOptions = {}): void {
  const items = treeItems(options);
  const order = options.reverse ? [...items].reverse() : items;
  const made = new Set<string>();
  const create = (item: TreeItem) => {
    const path = at(root, item.path);
    const parent = parentOf(item.path);
    if (parent !== '') mkdirSync(at(root, parent), { recursive: true, mode: 0o755 });
    switch (item.kind) {
      case 'dir':
        mkdirSync(path, { recursive: true });
        break;
      case 'file':
        writeFileSync(path, item.content);
        break;
      case 'symlink':
        symlinkSync(item.target, path);
        break;
      case 'hardlink':
        linkSync(join(root, item.target), path);
        break;
      case 'char':
      case 'block':
        execaSync('mknod', [
          path.toString(),
          item.kind === 'char' ? 'c' : 'b',
          String(item.major),
          String(item.minor),
        ]);
        break;
      case 'fifo':
        execaSync('mkfifo', [path.toString()]);
        break;
    }
    made.add(item.path.toString('latin1'));
  };
  // Hardlinks need their target: make them after everything else.
  for (const item of order) if (item.kind !== 'hardlink') create(item);
  for (const item of order) if (item.kind === 'hardlink') create(item);
  // Modes last (mkdir -p and the umask had their say before).
  chmodSync(root, 0o755);
  for (const path of walk(root)) {
    if (lstatSync(at(root, path)).isDirectory()) chmodSync(at(root, path), 0o755);
  }
  for (const item of items) {
    if ('mode' in item) chmodSync(at(root, item.path), item.mode);
  }
  chownSync(join(root, 'home/user/owned'), 1234, 5678);
  chownSync(join(root, 'home/user'), 1234, 5678);
  if (options.mtime !== undefined) {
    for (const path of [...walk(root), Buffer.alloc(0)])
      lutimesSync(at(root, path), options.mtime, options.mtime);
  }
  lutimesSync(join(root, 'old/ancient'), ANCIENT, ANCIENT);
}

/** Every path under `root` (relative, raw bytes), parents before children. */
export function walk(root: string): Buffer[] {
  const out: Buffer[] = [];
  const visit = (relative: Buffer) => {
    const dir = relative.length === 0 ? Buffer.from(root) : at(root, relative);
    for (const name of readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const path = relative.length === 0 ? name : Buffer.concat([relative, Buffer.from('/'), name]);
      out.push(path);
      if (lstatSync(at(root, path)).isDirectory()) visit(path);
    }
  };
  visit(Buffer.alloc(0));
  return out;
}

/** Clamps every mtime under `root` (and its own) to `epoch`, as the writer does: the oracle's input. */
export function clampTreeMtimes(root: string, epoch: number): void {
  for (const path of [...walk(root), Buffer.alloc(0)]) {
    const where = path.length === 0 ? root : at(root, path);
    const stat = lstatSync(where);
    if (stat.mtimeMs / 1000 > epoch) lutimesSync(where, epoch, epoch);
  }
}

// --- snapshots: what a tree holds, to compare two trees ---------------------------------------

export interface PathSnapshot {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  content?: string;
  target?: string;
  rdev?: string;
  mtime?: number;
  /** Every path sharing this one's inode (hardlinks), itself included. */
  names: string[];
}

function typeOf(stat: Stats): string {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  return 'other';
}

/** glibc's major()/minor() for the device numbers tests use (below 2^32). */
export const deviceNumbers = (rdev: number) => ({
  major: (rdev >>> 8) & 0xfff,
  minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00),
});

/** Path (as hex of its bytes: any byte is fine) → what it is. The root is ''. */
export function snapshot(root: string): Map<string, PathSnapshot> {
  const byInode = new Map<number, string[]>();
  const entries: [string, PathSnapshot, number][] = [];
  for (const path of [Buffer.alloc(0), ...walk(root)]) {
    const where = path.length === 0 ? root : at(root, path);
    const stat = lstatSync(where);
    const key = path.toString('latin1');
    const type = typeOf(stat);
    const item: PathSnapshot = {
      type,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      names: [],
    };
    if (type === 'file')
      item.content = createHash('sha256').update(readFileSync(where)).digest('hex');
    if (type === 'symlink')
      item.target = readlinkSync(where, { encoding: 'buffer' }).toString('latin1');
    if (type === 'char' || type === 'block') {
      const { major, minor } = deviceNumbers(stat.rdev);
      item.rdev = `${major}:${minor}`;
    }
    // Files only: GNU cpio -m sets a directory's time before it fills it, so extracted
    // directories show the extraction time (their archived mtimes are checked on the records).
    if (type === 'file') item.mtime = Math.floor(stat.mtimeMs / 1000);
    if (type === 'symlink') item.mode = 0o777;
    entries.push([key, item, stat.ino]);
    if (type === 'file') byInode.set(stat.ino, [...(byInode.get(stat.ino) ?? []), key]);
  }
  const result = new Map<string, PathSnapshot>();
  for (const [key, item, ino] of entries) {
    item.names = item.type === 'file' ? [...(byInode.get(ino) ?? [])].sort() : [key];
    result.set(key, item);
  }
  return result;
}

/** What the writer promises for a source tree: owners 0 unless kept, mtimes clamped. */
export function expectedSnapshot(
  source: Map<string, PathSnapshot>,
  options: { keepOwners?: boolean; epoch: number; without?: Buffer[] },
): Map<string, PathSnapshot> {
  const dropped = new Set((options.without ?? []).map((p) => p.toString('latin1')));
  const result = new Map<string, PathSnapshot>();
  for (const [key, item] of source) {
    if (dropped.has(key)) continue;
    result.set(key, {
      ...item,
      uid: options.keepOwners ? item.uid : 0,
      gid: options.keepOwners ? item.gid : 0,
      ...(item.mtime === undefined ? {} : { mtime: Math.min(item.mtime, options.epoch) }),
      names: item.names.filter((n) => !dropped.has(n)),
    });
  }
  return result;
}

// --- tars of a tree ----------------------------------------------------------------------------

/** GNU tar's archive of `root` (`tar -C root -c .`), as a stream. */
export function gnuTar(root: string): { stdout: Readable; done: Promise<unknown> } {
  const subprocess = execa('tar', ['-C', root, '-c', '.'], { encoding: 'buffer', buffer: false });
  return { stdout: subprocess.stdout, done: subprocess };
}

/**
 * tar-stream's archive of `root`, walked in reverse byte order (children before their
 * directories), names without `./`, and no root entry unless `rootEntry`. Names that are not
 * UTF-8 can't be written by tar-stream (PAX paths are text): `skip` leaves them out.
 */
export function tarStreamTar(
  root: string,
  options: { skip?: Buffer[]; rootEntry?: boolean } = {},
): ReturnType<typeof pack> {
  const archive = pack();
  const skip = new Set((options.skip ?? []).map((p) => p.toString('latin1')));
  const firstName = new Map<number, string>();
  const paths = walk(root).reverse();
  const entryOf = (path: Buffer | undefined) => {
    const where = path === undefined ? root : at(root, path);
    const name = path === undefined ? '.' : path.toString('utf8');
    if (path !== undefined && !Buffer.from(name, 'utf8').equals(path))
      throw new Error(`not UTF-8: ${path.toString('hex')}`);
    const stat = lstatSync(where);
    const header = {
      name,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      mtime: new Date(Math.floor(stat.mtimeMs / 1000) * 1000),
    };
    if (stat.isFile() && stat.nlink > 1) {
      const first = firstName.get(stat.ino);
      if (first !== undefined) {
        archive.entry({ ...header, type: 'link', linkname: first });
        return;
      }
      firstName.set(stat.ino, name);
    }
    if (stat.isFile()) archive.entry({ ...header, type: 'file' }, readFileSync(where));
    else if (stat.isDirectory()) archive.entry({ ...header, type: 'directory' });
    else if (stat.isSymbolicLink())
      archive.entry({ ...header, type: 'symlink', linkname: readlinkSync(where) });
    else if (stat.isFIFO()) archive.entry({ ...header, type: 'fifo' });
    else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
      const { major, minor } = deviceNumbers(stat.rdev);
      archive.entry({
        ...header,
        type: stat.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: major,
        devminor: minor,
      });
    }
  };
  for (const path of paths) if (!skip.has(path.toString('latin1'))) entryOf(path);
  if (options.rootEntry) entryOf(undefined);
  archive.finalize();
  return archive;
}

// --- archives ----------------------------------------------------------------------------------

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** GNU cpio's archive of `root`: dracut's command, names in C byte order, owners 0. */
export async function gnuCpio(root: string): Promise<Buffer> {
  const result = await execa('find', ['.', '-print0'], { cwd: root, encoding: 'buffer' })
    .pipe('sort', ['-z'], { env: { LC_ALL: 'C' }, encoding: 'buffer' })
    .pipe('cpio', ['-o', '-H', 'newc', '--null', '--reproducible', '-R', '0:0', '--quiet'], {
      cwd: root,
      encoding: 'buffer',
    });
  return Buffer.from(result.stdout);
}

/** Extracts a newc archive into `into` with GNU cpio. */
export async function cpioExtract(archive: Buffer, into: string): Promise<void> {
  await execa('cpio', ['-i', '-d', '-m', '-u', '--no-absolute-filenames', '--quiet'], {
    cwd: into,
    input: archive,
  });
}

export interface ParsedRecord {
  name: string; // latin1 (one char per byte)
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  fileSize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  check: number;
  data: Buffer;
}

const FIELDS = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'fileSize',
  'devMajor',
  'devMinor',
  'rdevMajor',
  'rdevMinor',
  'nameSize',
  'check',
] as const;

/** A strict newc reader: checks magic, padding and the trailer; returns every record but it. */
export function parseNewc(archive: Buffer): { records: ParsedRecord[]; trailerEnd: number } {
  const records: ParsedRecord[] = [];
  let offset = 0;
  const pad = (n: number) => (4 - (n % 4)) % 4;
  for (;;) {
    const magic = archive.toString('latin1', offset, offset + 6);
    if (magic !== '070701') throw new Error(`bad magic at ${offset}: ${magic}`);
    const values: Record<string, number> = {};
    FIELDS.forEach((field, i) => {
      values[field] = Number.parseInt(
        archive.toString('latin1', offset + 6 + i * 8, offset + 14 + i * 8),
        16,
      );
    });
    const nameSize = values.nameSize as number;
    const nameStart = offset + 110;
    const name = archive.toString('latin1', nameStart, nameStart + nameSize - 1);
    if (archive[nameStart + nameSize - 1] !== 0)
      throw new Error(`name of ${name} not NUL-terminated`);
    let at = nameStart + nameSize;
    const namePad = pad(110 + nameSize);
    if (!archive.subarray(at, at + namePad).equals(Buffer.alloc(namePad)))
      throw new Error('name padding');
    at += namePad;
    const fileSize = values.fileSize as number;
    const data = archive.subarray(at, at + fileSize);
    at += fileSize;
    const dataPad = pad(fileSize);
    if (!archive.subarray(at, at + dataPad).equals(Buffer.alloc(dataPad)))
      throw new Error('data padding');
    at += dataPad;
    if (name === 'TRAILER!!!') return { records, trailerEnd: at };
    records.push({ ...(values as unknown as Omit<ParsedRecord, 'name' | 'data'>), name, data });
    offset = at;
  }
}
