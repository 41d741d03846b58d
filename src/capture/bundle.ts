import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { bundleFilePath, copyVerified } from './bundle-store.js';
import { CAPTURE_SCHEMA_FAMILY } from './bundle-validate.js';
import { canonicalJson } from './canonical-json.js';
import { type CaptureManifest, MANIFEST_FILE, STORE_DIR } from './manifest.js';

export {
  type Bundle,
  describeStoreProblems,
  readBundle,
  type StoreProblem,
  verifyBundle,
} from './bundle-read.js';
export { bundleFilePath } from './bundle-store.js';

/**
 * Writing a capture bundle (see manifest.ts for the format) so that `--out` only ever holds a
 * whole capture: the previous one, or the new one, never half of either.
 *
 * Everything is written into a private sibling directory first (`<out>.partial-<pid>-<random>`,
 * mode 0700: the store holds host keys and password hashes), each file synced, then renamed
 * into place. A sibling, because rename only works within one filesystem. An existing capture
 * is moved aside, the new one renamed in, the old one deleted: Node has no renameat2
 * (RENAME_EXCHANGE), so for an instant `--out` does not exist, but it never holds a mix.
 *
 * `--out` is checked before anything is written: a directory that is neither empty nor a
 * lifeboat capture is refused, since replacing it would delete someone's files.
 */

export interface WriteBundleOptions {
  /** Where to say that the old capture could not be deleted (the new one is in place). */
  log?: Pick<Log, 'warn'>;
}

export async function writeBundle(
  outDir: string,
  manifest: CaptureManifest,
  contents: ReadonlyMap<string, string>,
  options: WriteBundleOptions = {},
): Promise<void> {
  const { target, existing } = await inspectOut(outDir);
  const store = storeContents(manifest, contents);
  const partial = `${target}.partial-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(partial, { mode: 0o700 });
  try {
    await chmod(partial, 0o700);
    await mkdir(join(partial, STORE_DIR), { mode: 0o700 });
    await chmod(join(partial, STORE_DIR), 0o700);
    for (const [sha256, source] of store) {
      await copyVerified(source, bundleFilePath(partial, sha256), sha256);
    }
    await writeSynced(join(partial, MANIFEST_FILE), canonicalJson(manifest));
    await syncDirectory(join(partial, STORE_DIR));
    await syncDirectory(partial);
    await install(partial, target, existing, options);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The contents the manifest's regular files need, sorted by sha256. A record without content
 * is a bug upstream: found here, before anything is written.
 */
function storeContents(
  manifest: CaptureManifest,
  contents: ReadonlyMap<string, string>,
): [string, string][] {
  const store = new Map<string, string>();
  for (const record of manifest.files) {
    if (record.type !== 'file' || store.has(record.sha256)) continue;
    const source = contents.get(record.sha256);
    if (source === undefined) {
      throw new JobError(`${record.path}: no content for sha256 ${record.sha256} (a lifeboat bug)`);
    }
    store.set(record.sha256, source);
  }
  return [...store].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** absent: nothing there; empty: an empty directory; capture: an earlier capture. */
type Existing = 'absent' | 'empty' | 'capture';

/** The real directory `--out` names, and whether there is something there to replace. */
async function inspectOut(outDir: string): Promise<{ target: string; existing: Existing }> {
  const refuse = (why: string): UsageError =>
    new UsageError(`--out ${outDir} ${why}`, {
      hint: 'Give a new or empty directory, or one holding an earlier capture.',
    });
  let target = resolve(outDir);
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const parent = dirname(target);
    const parentStats = await stat(parent).catch(() => undefined);
    if (!parentStats?.isDirectory())
      throw refuse(`cannot be created: ${parent} is not a directory`);
    return { target, existing: 'absent' };
  }
  if (stats.isSymbolicLink()) {
    // Replace what the link leads to, not the link: the user named that directory.
    target = await realpath(target).catch(() => {
      throw refuse('is a symlink that leads nowhere');
    });
    stats = await lstat(target);
  }
  const notCapture = 'is not a lifeboat capture; give a new or empty directory';
  if (!stats.isDirectory()) throw refuse(notCapture);
  const names = await readdir(target);
  if (names.length === 0) return { target, existing: 'empty' };
  if (await isCapture(target, names)) return { target, existing: 'capture' };
  throw refuse(notCapture);
}

/**
 * A directory we wrote: capture.json of our format family (an older version's capture may be
 * replaced too), `files/`, and nothing else (anything else would be deleted with it).
 */
async function isCapture(dir: string, names: string[]): Promise<boolean> {
  if (!names.every((name) => name === MANIFEST_FILE || name === STORE_DIR)) return false;
  if (names.includes(STORE_DIR) && !(await lstat(join(dir, STORE_DIR))).isDirectory()) return false;
  try {
    const manifest: unknown = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
    const schema = (manifest as { schema?: unknown } | null)?.schema;
    return typeof schema === 'string' && schema.startsWith(CAPTURE_SCHEMA_FAMILY);
  } catch {
    return false;
  }
}

/** Renames the finished `partial` to `target`; on failure `target` is as it was. */
async function install(
  partial: string,
  target: string,
  existing: Existing,
  options: WriteBundleOptions,
): Promise<void> {
  if (existing !== 'capture') {
    // rename(2) replaces an empty directory in one step.
    await renameIn(partial, target);
    await syncDirectory(dirname(target));
    return;
  }
  const aside = `${target}.old-${process.pid}-${randomBytes(6).toString('hex')}`;
  await rename(target, aside);
  try {
    await renameIn(partial, target);
  } catch (error) {
    await rename(aside, target);
    throw error;
  }
  await syncDirectory(dirname(target));
  try {
    await rm(aside, { recursive: true, force: true });
  } catch (error) {
    // The new capture is complete and in place; the old one is only in the way.
    options.log?.warn(
      `could not delete the previous capture, moved to ${aside}: ${(error as Error).message}`,
    );
  }
}

async function renameIn(partial: string, target: string): Promise<void> {
  try {
    await rename(partial, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR') {
      throw new JobError(`${target} was created by someone else while the capture was written`, {
        hint: 'Run the capture again.',
        cause: error,
      });
    }
    throw error;
  }
}

async function writeSynced(file: string, text: string): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a directory: its new entries survive a crash (rename is only atomic once synced). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
