import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, cp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BackupMethod } from '../backup/method.js';
import { backupMethodFor } from '../backup/methods.js';
import {
  bundleFilePath,
  describeStoreProblems,
  readBundle,
  verifyBundle,
} from '../capture/bundle.js';
import { canonicalJson } from '../capture/canonical-json.js';
import { type CaptureManifest, MANIFEST_FILE } from '../capture/manifest.js';
import { configWithoutSecrets } from '../config/dump.js';
import type { EffectiveConfig } from '../config/load.js';
import type { Config, ConfigLayer } from '../config/schema.js';
import { type BuilderImage, ensureBuilderImage } from '../engine/builder-image.js';
import { type RunningContainer, runContainer, withContainer } from '../engine/container.js';
import type { Engine } from '../engine/engine.js';
import { errorMessage, JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Output, StagedHost } from '../outputs/output.js';
import { requestedOutputs } from '../outputs/registry.js';
import { IMAGES_DIR, PACKAGE_ROOT, SKEL_DIR, VERSION } from '../paths.js';
import { rescueRecoveryFiles } from '../recover/rescue-config.js';
import { runTempParent } from '../util/run-temp.js';
import {
  BUILD_MANIFEST_SCHEMA,
  type BuildInputs,
  type BuildManifest,
  describeArtifact,
  formatBuildManifest,
  sha256Of,
} from './build-manifest.js';
import { run } from './builder-run.js';
import { captureLayer } from './capture-layer.js';
import { directoryLayer } from './capture-layer-dir.js';
import { baseLayerKey, type InitrdLayer, makeLayeredInitrd } from './initrd-layers.js';
import { checkOutputDir, outputFailure, stageOutput } from './output-dir.js';

/**
 * build: capture bundle + configuration (recipe included) → rescue media, in the builder
 * container. The same inputs give the same bytes. Reading this function top to bottom is the
 * build:
 *
 *   1. check the inputs (a whole capture, of an architecture this builder makes media for)
 *   2. the builder image, and on top of it an image with the recipe's packages
 *   3. the digest of every input; when --out holds media made from the same ones, stop there
 *   4. in one container: the rescue rootfs from the rescue base, skel layers, the capture and
 *      lifeboat itself (assemble-rootfs)
 *   5. the initrd: the rootfs as a tar stream → lifeboat's newc writer → compressed in the
 *      container with pinned settings
 *   6. the outputs the configuration asks for (src/outputs/: ISO, RAMDISK...), each turning the
 *      staged rescue system (kernel, initrd, command line) into its artifacts
 *   7. manifest.json; then the artifacts move into --out together, 0600
 */
/** lifeboat as the rescue system runs it: one file, npm dependencies included (ci/build.mjs). */
const RESCUE_LIFEBOAT = join(PACKAGE_ROOT, 'dist', 'rescue', 'lifeboat.mjs');
/** Where includeCapture puts the capture bundle inside the output directory. */
export const CAPTURE_SUBDIR = 'capture';
const BUILDER_ARCH = 'x86_64';
/** The staged rescue system inside the builder container: what every output starts from. */
const STAGED_KERNEL = '/work/out/vmlinuz';
const STAGED_INITRD = '/work/out/initrd.img';

export interface BuildOptions {
  engine: Engine;
  bundleDir: string;
  effective: EffectiveConfig;
  outDir: string;
  log: Log;
  /** Called with a short line per phase (progress view). */
  progress?: (line: string) => void;
  /**
   * Copy the capture bundle into the output as `capture/` and name it relatively in the
   * manifest, so the output directory alone is enough for `lifeboat verify` (mkrescue does: its
   * capture lives in a build area that is removed afterwards).
   */
  includeCapture?: boolean;
  /** Build even when the output holds media from the same inputs. */
  force?: boolean;
}

export interface BuildResult {
  manifest: BuildManifest;
  outDir: string;
  artifacts: string[];
  /** The output already held media from the same inputs; nothing was built. */
  upToDate: boolean;
  /** The outputs that made the media, in the configuration's order. */
  outputs: Output[];
}

export async function buildRescueMedia(options: BuildOptions): Promise<BuildResult> {
  const { engine, effective, log } = options;
  const { config } = effective;
  const say = (line: string) => {
    log.debug(`build: ${line}`);
    options.progress?.(line);
  };

  // 1. Inputs: first what the configuration asks for, then the capture.
  const outputs = requestedOutputs(config);
  const outDir = resolve(options.outDir);
  checkOutputDir(outDir);
  // What the rescue system needs to restore with the backup method (none: nothing).
  const method = backupMethodFor(config, 'rescue');
  const bundleDir = resolve(options.bundleDir);
  const { manifest: capture } = await readBundle(bundleDir);
  const damaged = await verifyBundle(bundleDir);
  if (damaged.length > 0) {
    throw new JobError(
      `${bundleDir}: ${damaged.length} stored file(s) are missing or damaged: ${describeStoreProblems(damaged)}; capture again`,
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

  const skeletons = skeletonLayers(BUILDER_ARCH, config);
  const overlays = config.rescue.overlays.map((dir) =>
    resolve(effective.recipe ? dirname(effective.recipe.file) : process.cwd(), dir),
  );
  for (const dir of overlays) {
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UsageError(`rescue.overlays: ${dir} is not a directory`, {
        hint: "A relative overlay path is relative to the recipe's directory.",
      });
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
  const image = await withRecipePackages(
    engine,
    builder,
    [...new Set([...config.rescue.packages, ...(method?.rescue.packages ?? [])])],
    effective.recipe?.file,
    log,
  );

  // 3. Every input, known before anything is built; an output made from the same ones is kept.
  const epoch =
    config.sourceDateEpoch ?? (await derivedEpoch(engine, image, config.paths.workDir, log));
  const inputs: BuildInputs = {
    capture: sha256Of(readFileSync(join(bundleDir, MANIFEST_FILE))),
    captureDir: options.includeCapture ? CAPTURE_SUBDIR : bundleDir,
    config: sha256Of(canonicalJson(mediaConfig(config))),
    recipe: effective.recipe
      ? { file: effective.recipe.file, sha256: sha256Of(readFileSync(effective.recipe.file)) }
      : null,
    builderImage: image.id,
    lifeboatVersion: VERSION,
    lifeboatBundle: sha256Of(readFileSync(RESCUE_LIFEBOAT)),
    skeleton: await Promise.all(skeletons.map(layerDigest)),
    overlays: await Promise.all(overlays.map(layerDigest)),
    sourceDateEpoch: epoch,
  };
  if (!options.force) {
    const current = await currentBuild(outDir, inputs);
    if ('manifest' in current) {
      say(`up to date: ${outDir} holds media built from these inputs`);
      return {
        manifest: current.manifest,
        outDir,
        artifacts: current.artifacts,
        upToDate: true,
        outputs,
      };
    }
    if (current.why !== undefined) say(`rebuilding: ${current.why}`);
  }

  const staging = await stageOutput(outDir);
  try {
    let initrdLayers: InitrdLayer[] = [];
    // What a TFTP or HTTP server serves as it is (Output.servedAsIs): not made 0600.
    const served: string[] = [];
    const built = await withContainer({ engine, image: image.tag, log }, async (container) => {
      const env = { SOURCE_DATE_EPOCH: String(epoch) };

      // 4. The rescue root filesystem, in two phases, and 5. the initrd, in two layers
      //    (initrd-layers.ts): the base depends on the recipe, the builder image and lifeboat
      //    only, and is cached; the host layer is what the capture and the host's configuration
      //    add to it.
      say('rescue root filesystem');
      const skels = await putSkelLayers(container, skeletons, config.ssh.authorizedKeys);
      const recipeOverlays = await putLayers(container, 'overlay', overlays);
      await container.putArchive('/work/lifeboat', await directoryLayer(dirname(RESCUE_LIFEBOAT)));
      const assemble = (phase: 'base' | 'host', more: string[]) =>
        run(
          container,
          `assemble-rootfs (${phase})`,
          [
            '/usr/lib/lifeboat/assemble-rootfs',
            '--phase',
            phase,
            '--rootfs',
            '/work/rootfs',
            '--lifeboat',
            '/work/lifeboat/lifeboat.mjs',
            ...more,
          ],
          { env, timeoutMs: 20 * 60_000 },
        );
      initrdLayers = await makeLayeredInitrd({
        container,
        rootfs: '/work/rootfs',
        out: STAGED_INITRD,
        compression: config.output.compression,
        epoch,
        baseKey: baseLayerKey({
          builderImage: image.id,
          lifeboatBundle: inputs.lifeboatBundle,
          skeleton: inputs.skeleton,
          overlays: inputs.overlays,
          authorizedKeys: config.ssh.authorizedKeys,
          keep: config.rescue.keep,
          sourceDateEpoch: epoch,
        }),
        cacheDir: join(config.paths.workDir, 'cache', 'initrd-base'),
        assembleBase: async () => {
          await assemble('base', [
            ...skels.flatMap((dir) => ['--skel', dir]),
            ...recipeOverlays.flatMap((dir) => ['--overlay', dir]),
            ...config.rescue.keep.flatMap((group) => ['--keep', group]),
          ]);
        },
        assembleHost: async () => {
          await container.putArchive('/work/capture', await captureLayer(bundleDir));
          // Last, over the capture's and the recipe's files: recover reads it as its site layer.
          const recovery = await putRecoveryLayer(container, config);
          await assemble('host', [
            '--capture',
            '/work/capture',
            '--kernel-version',
            kernel.version,
            ...[...recipeOverlays, ...recovery].flatMap((dir) => ['--overlay', dir]),
          ]);
          if (config.ssh.rootPasswordHash) {
            // The hash travels on stdin, never on a command line or in a log.
            await run(
              container,
              'setting the root password',
              ['chroot', '/work/rootfs', 'chpasswd', '--encrypted'],
              { stdin: `root:${config.ssh.rootPasswordHash}\n` },
            );
          }
          if (method) await checkRescuePrograms(container, method);
        },
        log,
        say,
      });
      // The kernel joins it: the staged rescue system is complete.
      await copyFile(bundleFilePath(bundleDir, kernelFile.sha256), join(staging.dir, 'vmlinuz'));
      await container.putArchive('/work/out', await directoryLayer(staging.dir));
      await rm(join(staging.dir, 'vmlinuz'));

      // 6. Outputs, each from the staged rescue system.
      await checkBuilderPrograms(container, outputs);
      const made: string[] = [];
      for (const output of outputs) {
        const names = await output.make({
          container,
          kernel: STAGED_KERNEL,
          initrd: STAGED_INITRD,
          work: '/work/media',
          cmdline: config.kernel.cmdline,
          epoch,
          config,
          host: stagedHost(capture),
          dir: staging.dir,
          log,
          say,
        });
        made.push(...names);
        if (output.servedAsIs) served.push(...names);
      }
      return made;
    });

    // 7. manifest.json, then everything into --out at once.
    const names = [...new Set(built)];
    if (options.includeCapture) {
      await cp(bundleDir, join(staging.dir, CAPTURE_SUBDIR), { recursive: true });
    }
    const manifest: BuildManifest = {
      schema: BUILD_MANIFEST_SCHEMA,
      inputs,
      configuration: configWithoutSecrets(mediaConfig(config)),
      artifacts: await Promise.all(names.map((n) => describeArtifact(staging.dir, n))),
      initrdLayers: initrdLayers.map(({ name, sha256, bytes }) => ({ name, sha256, bytes })),
    };
    await writeFile(join(staging.dir, 'manifest.json'), formatBuildManifest(manifest), {
      mode: 0o600,
    });
    const artifacts = await staging.commit(served);
    return { manifest, outDir, artifacts, upToDate: false, outputs };
  } catch (error) {
    await staging.discard();
    throw outputFailure(error, outDir) ?? error;
  }
}

/** What outputs may name files after: the host's name, network cards and addresses. */
function stagedHost(capture: CaptureManifest): StagedHost {
  const cards = capture.network.interfaces.filter((i) => i.name !== 'lo');
  return {
    name: capture.identity.hostname,
    macs: [...new Set(cards.flatMap((i) => (i.mac ? [i.mac] : [])))].sort(),
    ipv4: [
      ...new Set(
        cards.flatMap((i) =>
          i.addresses
            .filter((a) => /^\d+\.\d+\.\d+\.\d+\//.test(a))
            .map((a) => a.split('/')[0] as string),
        ),
      ),
    ].sort(),
    missingModules: (capture.kernel?.notFound ?? []).map((m) => m.name).sort(),
  };
}

/**
 * The configuration that can change the media's bytes: where things are written (paths,
 * output.dir, output.url) cannot, workflow steps do not run in a build, and SOURCE_DATE_EPOCH is
 * an input of its own.
 */
function mediaConfig(config: Config): ConfigLayer {
  const { paths: _paths, steps: _steps, sourceDateEpoch: _epoch, output, ...rest } = config;
  const { dir: _dir, url: _url, ...media } = output;
  return { ...rest, output: media };
}

/**
 * A recipe's packages (rescue.packages) go into an image derived from the builder, tagged by the
 * digest of the package list and the builder's ID: built once, pinned like the builder itself.
 */
async function withRecipePackages(
  engine: Engine,
  builder: BuilderImage,
  packages: readonly string[],
  recipeFile: string | undefined,
  log: Log,
) {
  if (packages.length === 0) return builder;
  const dir = mkdtempSync(join(runTempParent(), 'lifeboat-recipe-image-'));
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
  } catch (error) {
    // rescue-packages says in one line which name the distribution lacks; that line, with the
    // key and file to fix, is the whole story (the generated Dockerfile is gone by now).
    const said = errorMessage(error)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('rescue-packages: ') && !line.includes('updating'));
    if (said.length === 0) throw error;
    const where = recipeFile ? ` (recipe ${recipeFile})` : '';
    throw new UsageError(
      `rescue.packages${where}: ${said.map((l) => l.slice('rescue-packages: '.length)).join('; ')}`,
      { hint: 'Remove or correct that package name; nothing was built.' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * SOURCE_DATE_EPOCH when the configuration gives none: the newest file time in the rescue base,
 * which the builder image pins. Every date in the media is then no later than its newest input.
 * A function of the image ID alone, so it is kept per image in the work directory and a warm
 * rebuild starts no container to find it again.
 */
async function derivedEpoch(
  engine: Engine,
  image: BuilderImage,
  workDir: string,
  log: Log,
): Promise<number> {
  const cache = join(workDir, 'cache', 'epoch', image.id.replace(/^sha256:/, ''));
  const cached = Number(existsSync(cache) ? readFileSync(cache, 'utf8') : NaN);
  if (Number.isInteger(cached) && cached > 0) return cached;
  const result = await runContainer({
    engine,
    image: image.tag,
    cmd: ['find', '/opt/lifeboat/rescue-base', '-xdev', '-printf', '%T@\\n'],
    log,
  });
  let newest = 0;
  for (const line of result.stdout.split('\n'))
    newest = Math.max(newest, Math.floor(Number(line) || 0));
  if (result.exitCode !== 0 || newest <= 0)
    throw new JobError(
      'could not derive SOURCE_DATE_EPOCH from the builder image; set sourceDateEpoch',
    );
  mkdirSync(dirname(cache), { recursive: true });
  writeFileSync(cache, `${newest}\n`);
  return newest;
}

/**
 * Whether `outDir` already holds media built from exactly `inputs`: its manifest names the same
 * inputs and every artifact still has the recorded sha256. Otherwise why not, when there was a
 * manifest (a cache miss says why).
 */
async function currentBuild(
  outDir: string,
  inputs: BuildInputs,
): Promise<{ manifest: BuildManifest; artifacts: string[] } | { why?: string }> {
  let recorded: BuildManifest;
  try {
    recorded = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as BuildManifest;
  } catch {
    return {};
  }
  const changed = Object.keys(inputs).filter(
    (key) =>
      JSON.stringify(inputs[key as keyof BuildInputs]) !==
      JSON.stringify(recorded.inputs?.[key as keyof BuildInputs]),
  );
  if (changed.length > 0) return { why: `changed since the last build: ${changed.join(', ')}` };
  for (const artifact of recorded.artifacts) {
    const now = await describeArtifact(outDir, artifact.name).catch(() => undefined);
    if (now?.sha256 !== artifact.sha256) return { why: `${artifact.name} is missing or changed` };
  }
  if (inputs.captureDir === CAPTURE_SUBDIR) {
    const kept = join(outDir, CAPTURE_SUBDIR, MANIFEST_FILE);
    if (!existsSync(kept) || sha256Of(readFileSync(kept)) !== inputs.capture)
      return { why: `${CAPTURE_SUBDIR}/ is missing or changed` };
  }
  // As commit() names them: the artifacts, the manifest, and the capture when it is kept here.
  const artifacts = recorded.artifacts.map((a) => a.name);
  const kept = inputs.captureDir === CAPTURE_SUBDIR ? [CAPTURE_SUBDIR] : [];
  return { manifest: recorded, artifacts: [...artifacts, ...kept, 'manifest.json'].sort() };
}

/**
 * skel/default, then the layers for the architecture, the backup method and each output method
 * (skel/x86_64, skel/netfs, skel/iso...) that exist: ReaR's skel/default, skel/ARCH,
 * skel/BACKUP, skel/OUTPUT order.
 */
function skeletonLayers(arch: string, config: Config): string[] {
  return ['default', arch, config.backup.method, ...config.output.methods]
    .map((name) => join(SKEL_DIR, name))
    .filter((dir, i) => i === 0 || existsSync(dir));
}

/** The sha256 of a directory's layer: the same tree gives the same digest (directoryLayer). */
async function layerDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await directoryLayer(dir)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Puts each directory into the container as /work/KIND/N; returns those paths, in order. */
async function putLayers(
  container: RunningContainer,
  kind: string,
  dirs: readonly string[],
): Promise<string[]> {
  const paths: string[] = [];
  for (const [i, dir] of dirs.entries()) {
    const path = `/work/${kind}/${i}`;
    await container.putArchive(path, await directoryLayer(dir));
    paths.push(path);
  }
  return paths;
}

/** The skeleton layers, then one with the recipe's authorized keys. */
async function putSkelLayers(
  container: RunningContainer,
  skeletons: readonly string[],
  authorizedKeys: readonly string[],
): Promise<string[]> {
  const layers = await putLayers(container, 'skel', skeletons);
  if (authorizedKeys.length > 0) {
    const dir = mkdtempSync(join(runTempParent(), 'lifeboat-keys-'));
    try {
      mkdirSync(join(dir, 'root', '.ssh'), { recursive: true, mode: 0o700 });
      writeFileSync(
        join(dir, 'root', '.ssh', 'authorized_keys'),
        `${authorizedKeys.join('\n')}\n`,
        { mode: 0o600 },
      );
      layers.push(...(await putLayers(container, 'keys', [dir])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return layers;
}

/** The rescue system's recovery configuration (recover/rescue-config.ts), as one layer. */
async function putRecoveryLayer(container: RunningContainer, config: Config): Promise<string[]> {
  const dir = mkdtempSync(join(runTempParent(), 'lifeboat-recovery-'));
  try {
    for (const file of rescueRecoveryFiles(config)) {
      mkdirSync(dirname(join(dir, file.path)), { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, file.path), file.content, { mode: file.mode });
    }
    return await putLayers(container, 'recovery', [dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every program the outputs run must be in the builder image; one sentence names the missing. */
async function checkBuilderPrograms(
  container: RunningContainer,
  outputs: readonly Output[],
): Promise<void> {
  const missing = await programsMissing(
    container,
    '/',
    outputs.flatMap((o) => o.builderPrograms),
  );
  if (missing.length === 0) return;
  const by = (p: string) =>
    outputs
      .filter((o) => o.builderPrograms.includes(p))
      .map((o) => o.name)
      .join(', ');
  throw new JobError(
    `the builder image lacks ${missing.map((p) => `${p} (for ${by(p)})`).join(', ')}`,
    { hint: 'Rebuild the builder image (lifeboat builder build --force).' },
  );
}

/** The rescue system holds every program the backup method restores with; else one sentence. */
async function checkRescuePrograms(
  container: RunningContainer,
  method: BackupMethod,
): Promise<void> {
  const missing = await programsMissing(container, '/work/rootfs', method.rescue.programs);
  if (missing.length > 0)
    throw new JobError(
      `the rescue system lacks ${missing.join(', ')}, which backup.method ${method.name} restores with`,
      { hint: 'Add the package that has it to rescue.packages.' },
    );
}

/** Which of `programs` are in none of the bin directories under `root` in the container. */
async function programsMissing(
  container: RunningContainer,
  root: string,
  programs: readonly string[],
): Promise<string[]> {
  if (programs.length === 0) return [];
  const said = await run(container, `looking for programs under ${root}`, [
    'sh',
    '-c',
    // -L too: a link into /etc/alternatives points outside the rescue root from here.
    'root=$1; shift; for p; do found=; for d in usr/sbin usr/bin sbin bin; do f=$root/$d/$p; { [ -e "$f" ] || [ -L "$f" ]; } && found=1; done; [ -n "$found" ] || echo "$p"; done',
    'sh',
    root === '/' ? '' : root,
    ...new Set(programs),
  ]);
  return said.split('\n').filter(Boolean);
}
