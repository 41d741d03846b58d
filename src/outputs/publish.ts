import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { backupServerOptions, openDestinationUrl } from '../backup/destination.js';
import type { BackupDestination } from '../backup/destination-types.js';
import type { Config } from '../config/schema.js';
import { errorMessage, JobError, LifeboatError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Output } from './output.js';
import { stickUrl } from './usb.js';

/**
 * output.url (ReaR OUTPUT_URL): after a build, its artifacts are copied to
 * `<output.url>/<hostname>/`, through the same destination modules backups use (file://, nfs://,
 * cifs://, usb://, sftp://). sftp:// logs in with backup.sftpKey and checks backup.sftpHostKey;
 * nfs:// and cifs:// mount with backup.mountOptions: the schema has no output.* of their own.
 */
export interface PublishOptions {
  config: Config;
  /** The build's output directory, which the artifacts are named relative to. */
  outDir: string;
  /** Files and directories in outDir (manifest.json, lifeboat.iso, capture...). */
  artifacts: readonly string[];
  /** The directory under output.url the media go in. */
  hostname: string;
  log: Log;
}

const KEY = 'output.url';
const MANIFEST = 'manifest.json';
/** Uploads at a time: an sftp:// upload is one curl process, and a capture holds many files. */
const PARALLEL = 4;

interface Copy {
  local: string;
  /** Relative to the destination: <hostname>/<artifact>[/...]. */
  remote: string;
}

/**
 * Copies every artifact under `<output.url>/<hostname>/`, replacing same-named ones (a directory
 * artifact is mirrored: files the new one lacks are removed), manifest.json last so a reader
 * never finds a manifest naming artifacts not yet there. Returns the URL of that directory
 * without credentials; undefined when output.url is not set.
 */
export async function publishMedia(options: PublishOptions): Promise<string | undefined> {
  const { config, outDir, artifacts, hostname, log } = options;
  const url = config.output.url;
  if (url === undefined) return undefined;
  // A stick the usb output writes gets its rescue system in its own layout (src/usb/), not a copy
  // of the artifacts.
  if (stickUrl(config) !== undefined) return undefined;
  if (hostname === '' || hostname === '.' || hostname === '..' || hostname.includes('/')) {
    throw new JobError(`${KEY}: the host name "${hostname}" cannot be a directory name`);
  }

  const destination = openDestinationUrl(url, backupServerOptions(config, KEY), log);
  const where = `${destination.display.replace(/\/*$/, '/')}${hostname}/`;

  const copies: Copy[] = [];
  const directories: Copy[] = [];
  for (const artifact of artifacts) {
    const parts = artifact.split('/').filter((p) => p !== '' && p !== '.');
    if (isAbsolute(artifact) || parts.length === 0 || parts.includes('..')) {
      throw new JobError(`${KEY}: the artifact ${artifact} is not a name inside ${outDir}`);
    }
    const top = { local: join(outDir, ...parts), remote: [hostname, ...parts].join('/') };
    if (await isDirectory(top.local)) {
      directories.push(top);
      copies.push(...(await filesUnder(top)));
    } else {
      copies.push(top);
    }
  }
  const last = copies.filter((c) => c.remote === `${hostname}/${MANIFEST}`);
  const first = copies.filter((c) => !last.includes(c));

  log.debug(`${KEY}: copying ${copies.length} file(s) to ${where}`);
  try {
    await sayingOutputUrl(() => destination.open(), destination.display, 'could not open it');
    // Every destination replaces a file of the same name whole (SFTP removes it just before
    // the rename: destination-sftp.ts).
    const put = (copy: Copy) => write(destination, copy, log);
    await inParallel(first, put);
    for (const dir of directories) await prune(destination, dir);
    for (const copy of last) await put(copy);
  } finally {
    await destination.close();
  }
  log.info(`${KEY}: media copied to ${where}`);
  return where;
}

function write(destination: BackupDestination, copy: Copy, log: Log): Promise<void> {
  log.debug(`${KEY}: ${copy.local} → ${copy.remote}`);
  return sayingOutputUrl(
    () => destination.write(copy.remote, createReadStream(copy.local)),
    destination.display,
    `could not write ${copy.remote}`,
  );
}

/** Removes what the remote copy of a directory artifact has and the local one no longer does. */
async function prune(destination: BackupDestination, dir: Copy): Promise<void> {
  const names = await sayingOutputUrl(
    () => destination.list(dir.remote),
    destination.display,
    `could not list ${dir.remote}`,
  );
  for (const name of names) {
    const entry = { local: join(dir.local, name), remote: `${dir.remote}/${name}` };
    const kind = await stat(entry.local).then(
      (s) => (s.isDirectory() ? 'directory' : 'file'),
      () => 'gone',
    );
    if (kind === 'directory') await prune(destination, entry);
    else if (kind === 'gone') await removeTree(destination, entry.remote);
  }
}

/** Destinations remove one level deep (sftp://): deeper directories are emptied first. */
async function removeTree(destination: BackupDestination, path: string): Promise<void> {
  // A file lists as nothing (or fails to list): it is simply removed.
  const names = await destination.list(path).catch(() => [] as string[]);
  for (const name of names) await removeTree(destination, `${path}/${name}`);
  await sayingOutputUrl(
    () => destination.remove(path),
    destination.display,
    `could not remove ${path}`,
  );
}

async function filesUnder(dir: Copy): Promise<Copy[]> {
  const files: Copy[] = [];
  for (const name of (await readdir(dir.local)).sort()) {
    const entry = { local: join(dir.local, name), remote: `${dir.remote}/${name}` };
    if (await isDirectory(entry.local)) files.push(...(await filesUnder(entry)));
    else files.push(entry);
  }
  return files;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    throw new JobError(`${KEY}: the artifact ${path} cannot be read (${errorMessage(error)})`, {
      cause: error,
    });
  }
}

/** Runs `run` on every item, PARALLEL at a time; after a failure starts no more, then throws it. */
async function inParallel<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await run(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(PARALLEL, items.length) }, worker),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * The destinations name their key (output.url, pxe.url) in their own sentences (they are opened
 * with it); anything else that fails (a full disk) becomes one sentence naming the key too, not
 * a stack trace.
 */
export async function sayingKey<T>(
  key: string,
  run: () => Promise<T>,
  display: string,
  doing: string,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new JobError(`${key} ${display}: ${doing} (${errorMessage(error)})`, { cause: error });
  }
}

function sayingOutputUrl<T>(run: () => Promise<T>, display: string, doing: string): Promise<T> {
  return sayingKey(KEY, run, display, doing);
}

/**
 * The outputs' own uploads after the build (pxe.url), in the configuration's order; returns one
 * line per place something went ("pxe: file:///srv/tftp").
 */
export async function publishOutputs(
  outputs: readonly Output[],
  request: { config: Config; outDir: string; log: Log },
): Promise<string[]> {
  const done: string[] = [];
  for (const output of outputs) {
    const where = await output.publish?.(request);
    if (where !== undefined) {
      request.log.info(`${output.name}: ${output.write ? 'written to' : 'uploaded to'} ${where}`);
      done.push(`${output.name}: ${where}`);
    }
  }
  return done;
}
