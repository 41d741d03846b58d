import { createHash } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { canonicalJson } from '../capture/canonical-json.js';
import type { RunningContainer } from '../engine/container.js';
import { copyOutOfContainer } from '../engine/container-files.js';
import { compressorCommand } from '../initrd/compress.js';
import {
  indexed,
  type LayerIndex,
  overBase,
  type TarToNewcOptions,
  tarToNewc,
} from '../initrd/cpio.js';
import type { Log } from '../log/log.js';
import { run } from './builder-run.js';
import { directoryLayer } from './capture-layer-dir.js';

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
  const entry = entryDir(request.cacheDir, request.baseKey, compression);
  const cached = await useCachedBase(entry, container);
  if (cached) request.say(`initrd base layer from the cache (${request.baseKey.slice(0, 16)})`);
  const index = cached ?? (await makeBaseLayer());
  async function makeBaseLayer(): Promise<LayerIndex> {
    request.say('initrd base layer');
    const made: LayerIndex = new Map();
    await compressInto(
      container,
      archive((entries) => indexed(entries, made)),
      compression,
      BASE,
    );
    await storeCachedBase(entry, container, made);
    return made;
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
    { name: 'base', sha256: base?.[0] ?? '', bytes: Number(base?.[1]) },
    { name: 'host', sha256: host?.[0] ?? '', bytes: Number(host?.[1]) },
  ];
}

/**
 * A cached base layer is a directory, `<cacheDir>/<key>.<compression>`, holding the layer as
 * `base` and its fingerprints as `index.json`: put into the container as it is (directoryLayer),
 * made in a partial directory and renamed, so a cache entry is whole or absent.
 */
const entryDir = (cacheDir: string, key: string, compression: InitrdCompression) =>
  join(cacheDir, `${key}.${compression}`);

/**
 * Base layers kept: the most recently used, so a machine that builds for a few recipes (or a
 * fleet) keeps each base, and one that moved on to a new builder image or lifeboat does not
 * keep the old ones forever.
 */
const CACHE_KEEP = 6;

async function pruneCache(cacheDir: string): Promise<void> {
  const names = (await readdir(cacheDir).catch(() => [] as string[])).filter(
    (name) => !name.startsWith('.'),
  );
  const entries = await Promise.all(
    names.map(async (name) => ({ name, used: (await stat(join(cacheDir, name))).mtimeMs })),
  );
  entries.sort((a, b) => b.used - a.used);
  for (const { name } of entries.slice(CACHE_KEEP))
    await rm(join(cacheDir, name), { recursive: true, force: true });
}

/** The index of the cached base layer, its layer put into the container at BASE; or undefined. */
async function useCachedBase(
  entry: string,
  container: RunningContainer,
): Promise<LayerIndex | undefined> {
  let index: LayerIndex;
  try {
    index = new Map(
      Object.entries(
        JSON.parse(await readFile(join(entry, 'index.json'), 'utf8')) as Record<string, string>,
      ),
    );
  } catch {
    // Absent or damaged: no cache entry, and the base layer is made again.
    return undefined;
  }
  await container.putArchive(dirname(BASE), await directoryLayer(entry));
  // Its time says when it was last used (pruneCache keeps the most recent).
  const now = new Date();
  await utimes(entry, now, now);
  return index;
}

/** Copies the base layer out of the container into the cache, with its index. */
async function storeCachedBase(
  entry: string,
  container: RunningContainer,
  index: LayerIndex,
): Promise<void> {
  await mkdir(dirname(entry), { recursive: true, mode: 0o700 });
  const partial = await mkdtemp(join(dirname(entry), '.partial-'));
  try {
    await copyOutOfContainer(container, dirname(BASE), partial, [basename(BASE)]);
    await writeFile(join(partial, 'index.json'), JSON.stringify(Object.fromEntries(index)), {
      mode: 0o600,
    });
    await rm(entry, { recursive: true, force: true });
    await rename(partial, entry);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
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

/** The cache key of a base layer: every input of `assemble-rootfs --phase base`, and the format. */
export function baseLayerKey(inputs: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({ format: 'lifeboat.initrd-base/v1', ...inputs }))
    .digest('hex');
}
