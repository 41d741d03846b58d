import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import { canonicalJson } from '../capture/canonical-json.js';
import type { ExecOptions, RunningContainer } from '../engine/container.js';
import { JobError } from '../errors.js';
import { compressorCommand } from '../initrd/compress.js';
import {
  indexed,
  type LayerIndex,
  overBase,
  type TarToNewcOptions,
  tarToNewc,
} from '../initrd/cpio.js';
import type { Log } from '../log/log.js';

/**
 * The initrd in two layers (src/initrd/cpio-layers.ts says how the kernel reads them): the base
 * layer, made from the rescue root as `assemble-rootfs --phase base` leaves it and cached in
 * lifeboat's cache directory under a digest of everything it depends on, and the host layer,
 * what the finished rescue root holds beyond it. The initrd file is the two compressed archives
 * one after the other: still one file, and the same bytes whether the base came from the cache.
 */

export type InitrdCompression = 'zstd' | 'gzip' | 'xz' | 'none';

export interface InitrdLayer {
  name: 'base' | 'host';
  sha256: string;
  bytes: number;
  /** The base layer came from the cache (made by an earlier build with the same inputs). */
  cached?: boolean;
}

export interface LayeredInitrdRequest {
  container: RunningContainer;
  /** The tree the phases build, in the container. */
  rootfs: string;
  /** Where the initrd goes, in the container. */
  out: string;
  compression: InitrdCompression;
  epoch: number;
  /** Names the base layer in the cache: a digest of everything the base phase depends on. */
  baseKey: string;
  /** lifeboat's cache of base layers (under paths.workDir). */
  cacheDir: string;
  assembleBase(): Promise<void>;
  assembleHost(): Promise<void>;
  log: Log;
  say(line: string): void;
}

const BASE = '/work/initrd/base';
const HOST = '/work/initrd/host';

export async function makeLayeredInitrd(request: LayeredInitrdRequest): Promise<InitrdLayer[]> {
  const { container, rootfs, compression, epoch, log } = request;
  const archive = (select: NonNullable<TarToNewcOptions['select']>) => async () =>
    tarToNewc(await container.getArchive(rootfs), {
      sourceDateEpoch: epoch,
      stripComponents: 1,
      onWarning: (message) => log.warn(`initrd: ${message}`),
      select,
    });

  await request.assembleBase();
  const cached = await readCachedBase(request.cacheDir, request.baseKey, compression);
  let index: LayerIndex;
  if (cached) {
    request.say(`initrd base layer from the cache (${request.baseKey.slice(0, 16)})`);
    index = cached.index;
    await container.putArchive('/work/initrd', cached.tar);
  } else {
    request.say('initrd base layer');
    index = new Map();
    const made = index;
    await compressInto(
      container,
      archive((entries) => indexed(entries, made)),
      compression,
      BASE,
    );
    await storeCachedBase(request.cacheDir, request.baseKey, compression, container, index);
  }

  await pruneCache(request.cacheDir);

  await request.assembleHost();
  request.say('initrd host layer');
  await compressInto(
    container,
    archive((entries) => overBase(entries, index)),
    compression,
    HOST,
  );
  // A fixed script; the paths are arguments.
  await run(container, 'joining the initrd layers', [
    'sh',
    '-c',
    'mkdir -p "$(dirname "$3")" && cat "$1" "$2" >"$3"',
    'sh',
    BASE,
    HOST,
    request.out,
  ]);
  const digests = await run(container, 'the digests of the initrd layers', [
    'sh',
    '-c',
    'for f; do printf "%s %s\\n" "$(sha256sum <"$f" | cut -d" " -f1)" "$(stat -c %s "$f")"; done',
    'sh',
    BASE,
    HOST,
  ]);
  const [base, host] = digests
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  return [
    {
      name: 'base',
      sha256: base?.[0] ?? '',
      bytes: Number(base?.[1]),
      cached: cached !== undefined,
    },
    { name: 'host', sha256: host?.[0] ?? '', bytes: Number(host?.[1]) },
  ];
}

function cacheFiles(cacheDir: string, key: string, compression: InitrdCompression) {
  const stem = join(cacheDir, `${key}.${compression}`);
  return { layer: `${stem}.cpio`, index: `${stem}.index.json` };
}

/**
 * Base layers kept: the most recently used, so a machine that builds for a few recipes (or a
 * fleet) keeps each base, and one that moved on to a new builder image or lifeboat does not
 * keep the old ones forever.
 */
const CACHE_KEEP = 6;

async function pruneCache(cacheDir: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const layers = await Promise.all(
    names
      .filter((name) => name.endsWith('.cpio'))
      .map(async (name) => ({ name, used: (await stat(join(cacheDir, name))).mtimeMs })),
  );
  layers.sort((a, b) => b.used - a.used);
  for (const { name } of layers.slice(CACHE_KEEP)) {
    await rm(join(cacheDir, name), { force: true });
    await rm(join(cacheDir, name.replace(/\.cpio$/, '.index.json')), { force: true });
  }
}

/** The cached base layer (as a tar holding `base`, for putArchive) and its index, if cached. */
async function readCachedBase(
  cacheDir: string,
  key: string,
  compression: InitrdCompression,
): Promise<{ tar: Buffer; index: LayerIndex } | undefined> {
  const files = cacheFiles(cacheDir, key, compression);
  if (!existsSync(files.layer) || !existsSync(files.index)) return undefined;
  try {
    const index = new Map(
      Object.entries(JSON.parse(await readFile(files.index, 'utf8')) as Record<string, string>),
    );
    const tar = pack();
    const body = await readFile(files.layer);
    // Its time says when it was last used (pruneCache keeps the most recent).
    const now = new Date();
    await utimes(files.layer, now, now);
    tar.entry({ name: 'base', size: body.length, mode: 0o600 }, body);
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    return { tar: Buffer.concat(chunks), index };
  } catch {
    // A damaged cache entry is no cache entry: the base layer is made again.
    return undefined;
  }
}

/** Copies the base layer out of the container into the cache, with its index; atomically. */
async function storeCachedBase(
  cacheDir: string,
  key: string,
  compression: InitrdCompression,
  container: RunningContainer,
  index: LayerIndex,
): Promise<void> {
  const files = cacheFiles(cacheDir, key, compression);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const partial = `${files.layer}.partial-${process.pid}`;
  try {
    await copyFileOut(container, BASE, partial);
    await writeFile(
      `${files.index}.partial-${process.pid}`,
      JSON.stringify(Object.fromEntries(index)),
      {
        mode: 0o600,
      },
    );
    await rename(`${files.index}.partial-${process.pid}`, files.index);
    await rename(partial, files.layer);
  } finally {
    await rm(partial, { force: true });
    await rm(`${files.index}.partial-${process.pid}`, { force: true });
  }
}

/** One file out of the container (getArchive gives a tar holding it). */
async function copyFileOut(container: RunningContainer, path: string, to: string): Promise<void> {
  const reader = extract();
  let found = false;
  const done = (async () => {
    for await (const entry of reader) {
      if (entry.header.type === 'file' && !found) {
        found = true;
        await pipeline(entry as unknown as Readable, createWriteStream(to, { mode: 0o600 }));
      } else entry.resume();
    }
  })();
  await pipeline(await container.getArchive(path), reader as unknown as NodeJS.WritableStream);
  await done;
  if (!found) throw new JobError(`${path}: the engine's archive of it held no file`);
}

/** Compresses `data` with the pinned settings inside the container into `out`. */
export async function compressInto(
  container: RunningContainer,
  data: () => Promise<Readable>,
  kind: InitrdCompression,
  out: string,
): Promise<void> {
  // gzip runs in the container too: zlib's output depends on the CPU's instructions.
  const command =
    kind === 'zstd' || kind === 'xz'
      ? compressorCommand(kind)
      : kind === 'gzip'
        ? { program: 'gzip', args: ['--no-name', '-9', '--stdout'], env: {} }
        : { program: 'cat', args: [], env: {} };
  // A fixed script: the program and its arguments are passed as arguments, never spliced in.
  await run(
    container,
    `compressing the initrd (${kind})`,
    [
      'sh',
      '-c',
      'out=$1; shift; mkdir -p "$(dirname "$out")"; exec "$@" >"$out"',
      'sh',
      out,
      command.program,
      ...command.args,
    ],
    { stdin: data, env: command.env, timeoutMs: 20 * 60_000 },
  );
}

/** Runs `cmd` in the builder; a failure is one JobError with the command's last lines. */
export async function run(
  container: RunningContainer,
  what: string,
  cmd: string[],
  options: ExecOptions = {},
): Promise<string> {
  const result = await container.exec(cmd, options);
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new JobError(`${what} failed in the builder (exit ${result.exitCode}):\n${tail}`);
  }
  return result.stdout;
}

/** The cache key of a base layer: every input of `assemble-rootfs --phase base`, and the format. */
export function baseLayerKey(inputs: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({ format: 'lifeboat.initrd-base/v1', ...inputs }))
    .digest('hex');
}
