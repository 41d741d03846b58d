import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { bundleFilePath, readBundle, verifyBundle } from '../capture/bundle.js';
import { canonicalJson } from '../capture/canonical-json.js';
import { MANIFEST_FILE } from '../capture/manifest.js';
import type { EffectiveConfig } from '../config/load.js';
import { type BuilderImage, ensureBuilderImage } from '../engine/builder-image.js';
import { type RunningContainer, withContainer } from '../engine/container.js';
import type { Engine } from '../engine/engine.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { IMAGES_DIR, PACKAGE_ROOT, SKEL_DIR, VERSION } from '../paths.js';
import {
  BUILD_MANIFEST_SCHEMA,
  type BuildManifest,
  describeArtifact,
  formatBuildManifest,
  sha256Of,
} from './build-manifest.js';
import { captureLayer } from './capture-layer.js';
import { directoryLayer } from './capture-layer-dir.js';
import { compressorCommand } from './compress.js';
import { tarToNewc } from './cpio.js';
import { makeIso } from './iso.js';
import { stageOutput } from './output-dir.js';

/**
 * build: capture bundle + configuration (recipe included) → rescue media, in the builder
 * container. The same inputs give the same bytes. Reading this function top to bottom is the
 * build:
 *
 *   1. check the inputs (a whole capture, of an architecture this builder makes media for)
 *   2. the builder image, and on top of it an image with the recipe's packages
 *   3. in one container: the rescue rootfs from the rescue base, skel layers, the capture and
 *      lifeboat itself (assemble-rootfs)
 *   4. the initrd: the rootfs as a tar stream → lifeboat's newc writer → compressed in the
 *      container with pinned settings
 *   5. the outputs the configuration asks for (ISO, RAMDISK)
 *   6. manifest.json; then the artifacts move into --out together, 0600
 */
export const SUPPORTED_OUTPUTS = ['iso', 'ramdisk'] as const;
const BUILDER_ARCH = 'x86_64';

export interface BuildOptions {
  engine: Engine;
  bundleDir: string;
  effective: EffectiveConfig;
  outDir: string;
  log: Log;
  /** Called with a short line per phase (progress view). */
  progress?: (line: string) => void;
}

export interface BuildResult {
  manifest: BuildManifest;
  outDir: string;
  artifacts: string[];
}

export async function buildRescueMedia(options: BuildOptions): Promise<BuildResult> {
  const { engine, effective, log } = options;
  const { config } = effective;
  const say = (line: string) => {
    log.debug(`build: ${line}`);
    options.progress?.(line);
  };

  // 1. Inputs.
  const bundleDir = resolve(options.bundleDir);
  const { manifest: capture } = await readBundle(bundleDir);
  const damaged = await verifyBundle(bundleDir);
  if (damaged.length > 0) {
    throw new JobError(
      `${bundleDir}: ${damaged.length} stored file(s) are missing or damaged; capture again`,
    );
  }
  if (capture.identity.arch !== BUILDER_ARCH) {
    throw new UsageError(
      `${bundleDir} is a capture of a ${capture.identity.arch} host; this builder makes ${BUILDER_ARCH} media`,
    );
  }
  const kernel = capture.kernel;
  const kernelFile = capture.files.find((f) => f.path === kernel?.image);
  if (!kernel || kernelFile?.type !== 'file') {
    throw new JobError(
      `${bundleDir}: the capture has no kernel image; set kernel.file and kernel.version and capture again`,
    );
  }
  const unsupported = config.output.methods.filter(
    (m) => !(SUPPORTED_OUTPUTS as readonly string[]).includes(m),
  );
  if (unsupported.length > 0) {
    throw new UsageError(
      `output.methods: ${unsupported.join(', ')} cannot be made by this version (it makes ${SUPPORTED_OUTPUTS.join(', ')})`,
    );
  }

  // 2. Builder image, and the recipe's packages on top.
  say('builder image');
  const builder = await ensureBuilderImage({
    engine,
    imagesDir: IMAGES_DIR,
    name: config.builder.image,
    baseImage: config.builder.baseImage,
    log,
  });
  const image = await withRecipePackages(engine, builder, config.rescue.packages, log);

  const staging = await stageOutput(resolve(options.outDir));
  try {
    const built = await withContainer({ engine, image: image.tag, log }, async (container) => {
      const epoch = config.sourceDateEpoch ?? (await derivedEpoch(container));
      const env = { SOURCE_DATE_EPOCH: String(epoch) };

      // 3. The rescue root filesystem.
      say('rescue root filesystem');
      await container.putArchive('/work/capture', await captureLayer(bundleDir));
      const skels = await putSkelLayers(
        container,
        config.output.methods,
        config.ssh.authorizedKeys,
      );
      await container.putArchive(
        '/work/lifeboat',
        await directoryLayer(join(PACKAGE_ROOT, 'dist', 'rescue')),
      );
      await run(
        container,
        'assemble-rootfs',
        [
          '/usr/lib/lifeboat/assemble-rootfs',
          '--rootfs',
          '/work/rootfs',
          ...skels.flatMap((dir) => ['--skel', dir]),
          '--capture',
          '/work/capture',
          '--lifeboat',
          '/work/lifeboat/lifeboat.mjs',
          '--kernel-version',
          kernel.version,
        ],
        { env, timeoutMs: 20 * 60_000 },
      );
      if (config.ssh.rootPasswordHash) {
        // The hash travels on stdin, never on a command line or in a log.
        await run(
          container,
          'setting the root password',
          ['chroot', '/work/rootfs', 'chpasswd', '--encrypted'],
          {
            stdin: `root:${config.ssh.rootPasswordHash}\n`,
          },
        );
      }

      // 4. The initrd: lifeboat's own cpio writer, compressed in the container.
      say('initrd');
      const cpio = tarToNewc(await container.getArchive('/work/rootfs'), {
        sourceDateEpoch: epoch,
        stripComponents: 1,
        onWarning: (message) => log.warn(`initrd: ${message}`),
      });
      await compressInto(container, cpio, config.output.compression, '/work/out/initrd.img');
      await copyFile(bundleFilePath(bundleDir, kernelFile.sha256), join(staging.dir, 'vmlinuz'));
      await container.putArchive('/work/out', await directoryLayer(staging.dir));

      // 5. Outputs.
      const cmdline = config.kernel.cmdline;
      if (config.output.methods.includes('iso')) {
        say('ISO');
        await makeIso(container, {
          kernel: '/work/out/vmlinuz',
          initrd: '/work/out/initrd.img',
          out: '/work/out/lifeboat.iso',
          volumeId: config.boot.volumeId,
          epoch,
          defaultEntry: config.boot.default,
          timeoutSeconds: config.boot.timeout,
          cmdline,
          serial: config.boot.serialConsole,
          firmware: config.boot.firmware,
        });
      }
      await extractFiles(await container.getArchive('/work/out'), staging.dir, [
        'initrd.img',
        'lifeboat.iso',
      ]);
      return { epoch, cmdline };
    });

    if (config.output.methods.includes('ramdisk')) {
      const serial = config.boot.serialConsole ? 'console=tty0 console=ttyS0,115200n8 ' : '';
      writeFileSync(join(staging.dir, 'cmdline.txt'), `${`${serial}${built.cmdline}`.trim()}\n`);
    } else {
      rmSync(join(staging.dir, 'vmlinuz'), { force: true });
      rmSync(join(staging.dir, 'initrd.img'), { force: true });
    }

    // 6. manifest.json, then everything into --out at once.
    const names = ['vmlinuz', 'initrd.img', 'cmdline.txt', 'lifeboat.iso'].filter((n) =>
      existsSync(join(staging.dir, n)),
    );
    const manifest: BuildManifest = {
      schema: BUILD_MANIFEST_SCHEMA,
      inputs: {
        capture: sha256Of(readFileSync(join(bundleDir, MANIFEST_FILE))),
        captureDir: bundleDir,
        config: sha256Of(canonicalJson(config)),
        recipe: effective.recipe
          ? { file: effective.recipe.file, sha256: sha256Of(readFileSync(effective.recipe.file)) }
          : null,
        builderImage: image.id,
        lifeboatVersion: VERSION,
        sourceDateEpoch: built.epoch,
      },
      artifacts: await Promise.all(names.map((n) => describeArtifact(staging.dir, n))),
    };
    await writeFile(join(staging.dir, 'manifest.json'), formatBuildManifest(manifest), {
      mode: 0o600,
    });
    const artifacts = await staging.commit();
    return { manifest, outDir: resolve(options.outDir), artifacts };
  } catch (error) {
    await staging.discard();
    throw error;
  }
}

/**
 * A recipe's packages (rescue.packages) go into an image derived from the builder, tagged by the
 * digest of the package list and the builder's ID: built once, pinned like the builder itself.
 */
async function withRecipePackages(
  engine: Engine,
  builder: BuilderImage,
  packages: readonly string[],
  log: Log,
) {
  if (packages.length === 0) return builder;
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-recipe-image-'));
  try {
    const name = `recipe-${sha256Of([...packages].sort().join('\n')).slice(0, 12)}`;
    mkdirSync(join(dir, name));
    const install = JSON.stringify([
      '/usr/lib/lifeboat/rescue-packages',
      'install',
      ...[...packages].sort(),
    ]);
    writeFileSync(
      join(dir, name, 'Dockerfile'),
      `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN ${install}\n`,
    );
    return await ensureBuilderImage({ engine, imagesDir: dir, name, baseImage: builder.id, log });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * SOURCE_DATE_EPOCH when the recipe gives none: the newest file time in the rescue base, which
 * the builder image pins. Every date in the media is then no later than its newest input.
 */
async function derivedEpoch(container: RunningContainer): Promise<number> {
  const result = await run(container, 'finding SOURCE_DATE_EPOCH', [
    'find',
    '/opt/lifeboat/rescue-base',
    '-xdev',
    '-printf',
    '%T@\\n',
  ]);
  let newest = 0;
  for (const line of result.split('\n')) newest = Math.max(newest, Math.floor(Number(line) || 0));
  if (newest <= 0)
    throw new JobError(
      'could not derive SOURCE_DATE_EPOCH from the builder image; set sourceDateEpoch',
    );
  return newest;
}

/** skel/default, then skel/<output method> layers that exist, then one with the recipe's keys. */
async function putSkelLayers(
  container: RunningContainer,
  outputs: readonly string[],
  authorizedKeys: readonly string[],
): Promise<string[]> {
  const layers: string[] = [];
  for (const name of ['default', ...outputs]) {
    const dir = join(SKEL_DIR, name);
    if (name !== 'default' && !existsSync(dir)) continue;
    await container.putArchive(`/work/skel/${name}`, await directoryLayer(dir));
    layers.push(`/work/skel/${name}`);
  }
  if (authorizedKeys.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-keys-'));
    try {
      mkdirSync(join(dir, 'root', '.ssh'), { recursive: true, mode: 0o700 });
      writeFileSync(
        join(dir, 'root', '.ssh', 'authorized_keys'),
        `${authorizedKeys.join('\n')}\n`,
        { mode: 0o600 },
      );
      await container.putArchive('/work/skel/recipe', await directoryLayer(dir));
      layers.push('/work/skel/recipe');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return layers;
}

/** Compresses `data` with the pinned settings inside the container into `out`. */
async function compressInto(
  container: RunningContainer,
  data: NodeJS.ReadableStream,
  kind: 'zstd' | 'gzip' | 'xz' | 'none',
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
    { stdin: data as never, env: command.env, timeoutMs: 20 * 60_000 },
  );
}

async function run(
  container: RunningContainer,
  what: string,
  cmd: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await container.exec(cmd, options);
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new JobError(`${what} failed in the builder (exit ${result.exitCode}):\n${tail}`);
  }
  return result.stdout;
}

/** Copies the named files out of a tar stream from the container into `dir`. */
async function extractFiles(
  tar: NodeJS.ReadableStream,
  dir: string,
  names: readonly string[],
): Promise<void> {
  const wanted = new Set(names);
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const name = header.name.split('/').slice(1).join('/');
    if (header.type === 'file' && wanted.has(name)) {
      pipeline(stream, createWriteStream(join(dir, name), { mode: 0o600 })).then(
        () => next(),
        next,
      );
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  await pipeline(tar, reader as never);
}
