import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { backupHostname } from '../../backup/filesystems.js';
import { bootTest } from '../../boot/boot-test.js';
import { writeBundle } from '../../capture/bundle.js';
import { captureHost } from '../../capture/capture.js';
import { type BuilderImage, ensureBuilderImage } from '../../engine/builder-image.js';
import type { Engine } from '../../engine/engine.js';
import { connectEngine, engineVersion } from '../../engine/engine.js';
import { JobError } from '../../errors.js';
import { type BuildResult, buildRescueMedia } from '../../media/build.js';
import { publishMedia, publishOutputs } from '../../outputs/publish.js';
import { IMAGES_DIR } from '../../paths.js';
import type { StepContext } from '../../steps/types.js';
import { onInterruptCleanup } from '../../util/exit-cleanup.js';
import { buildAreaPid, sweepStale } from '../../util/stale.js';
import { builtinStep as step } from './step.js';

/** The steps that make rescue media (mkrescue, mkbackup) and the build area they work in. */
const ENGINE_RESULT = 'engine';
const BUILDER_IMAGE_RESULT = 'builder.image';
/** The capture bundle's directory. */
const CAPTURE_RESULT = 'capture.bundle';
/** The BuildResult of the rescue media. */
export const MEDIA_RESULT = 'media';
/** Set to 1 (--boot-test): the output stage boots the media in QEMU. */
export const BOOT_TEST_VAR = 'BOOT_TEST';
/** Set to 1 (--keep-build-dir): the cleanup stage leaves the build area. */
export const KEEP_BUILD_DIR_VAR = 'KEEP_BUILD_DIR';
/** Unregisters the build area's interrupt cleanup (the cleanup stage removes it instead). */
const FORGET_BUILD_AREA_RESULT = 'build.area.forget';

function mediaOf(ctx: StepContext): BuildResult {
  const media = ctx.results.get(MEDIA_RESULT) as BuildResult | undefined;
  if (!media) throw new JobError('no rescue media (the build stage did not run)');
  return media;
}

export const BUILD_AREA = step('prep', 10, 'build_area', async (ctx) => {
  // Build areas of killed runs (named WORKFLOW-PID-TIME, their process gone) go first.
  const areas = dirname(ctx.dirs.build);
  const swept = sweepStale(areas, buildAreaPid);
  if (swept.length > 0) ctx.log.info(`removed the build areas of killed runs: ${swept.join(', ')}`);
  // Private: the rescue rootfs may hold keys the recipe asked for.
  mkdirSync(ctx.dirs.rootfs, { recursive: true, mode: 0o700 });
  // Ctrl-C exits without the cleanup stage: the area (a partial capture of the host's files)
  // goes then too, unless the user asked to keep it.
  if (ctx.vars.get(KEEP_BUILD_DIR_VAR) !== '1') {
    const build = ctx.dirs.build;
    ctx.results.set(
      FORGET_BUILD_AREA_RESULT,
      onInterruptCleanup(() => rmSync(build, { recursive: true, force: true })),
    );
  }
  ctx.output(`build area ${ctx.dirs.build}`);
});

const ENGINE = step('prep', 40, 'engine', async (ctx) => {
  const engine = connectEngine();
  const version = await engineVersion(engine);
  ctx.results.set(ENGINE_RESULT, engine);
  ctx.output(
    `${version.product} ${version.version} (API ${version.apiVersion}) at ${engine.endpoint.description}`,
  );
});

const BUILDER_IMAGE = step('prep', 50, 'builder_image', async (ctx) => {
  const image: BuilderImage = await ensureBuilderImage({
    engine: ctx.results.get(ENGINE_RESULT) as Engine,
    imagesDir: IMAGES_DIR,
    name: ctx.config.builder.image,
    baseImage: ctx.config.builder.baseImage,
    log: ctx.log,
  });
  ctx.results.set(BUILDER_IMAGE_RESULT, image);
  ctx.output(`${image.tag} ${image.upToDate ? 'is up to date' : 'built'}`);
});

const CAPTURE = step('capture', 100, 'capture', async (ctx) => {
  const bundle = join(ctx.dirs.build, 'capture');
  const { manifest, contents } = await captureHost({
    root: ctx.dirs.host,
    config: ctx.config,
    log: ctx.log,
    hostArch: ctx.facts.arch,
  });
  await writeBundle(bundle, manifest, contents);
  ctx.results.set(CAPTURE_RESULT, bundle);
  ctx.output(
    `${manifest.programs.found.length} programs, ${manifest.libraries.resolved.length} libraries, ${manifest.kernel?.modules.length ?? 0} modules, ${manifest.files.length} files`,
  );
  for (const warning of manifest.warnings) ctx.log.debug(`capture: ${warning}`);
});

const RESCUE_MEDIA = step('build', 200, 'rescue_media', async (ctx) => {
  const bundleDir = ctx.results.get(CAPTURE_RESULT) as string | undefined;
  if (!bundleDir) throw new JobError('no capture to build from (the capture stage did not run)');
  const result = await buildRescueMedia({
    engine: ctx.results.get(ENGINE_RESULT) as Engine,
    bundleDir,
    effective: ctx.effective,
    outDir: ctx.config.output.dir,
    log: ctx.log,
    progress: (line) => ctx.output(line),
    // The build area goes at cleanup; the output keeps the capture, for `lifeboat verify`.
    includeCapture: true,
  });
  ctx.results.set(MEDIA_RESULT, result);
});

const BOOT_TEST = step('output', 300, 'boot_test', async (ctx) => {
  if (ctx.vars.get(BOOT_TEST_VAR) !== '1') return;
  const media = mediaOf(ctx);
  await bootTest(media.outDir, media.outputs, ctx.log);
});

/**
 * output.url: the finished media copied to <url>/<hostname>/, capture included (for verify);
 * then the outputs' own uploads (pxe.url).
 */
const PUBLISH_MEDIA = step('output', 500, 'publish_media', async (ctx) => {
  const media = mediaOf(ctx);
  const where = await publishMedia({
    config: ctx.config,
    outDir: media.outDir,
    artifacts: media.artifacts,
    hostname: backupHostname(ctx.dirs.host),
    log: ctx.log,
  });
  if (where) ctx.output(`copied to ${where}`);
  const uploads = await publishOutputs(media.outputs, {
    config: ctx.config,
    outDir: media.outDir,
    log: ctx.log,
  });
  for (const upload of uploads) ctx.output(`published ${upload}`);
});

export const REMOVE_BUILD_AREA = step('cleanup', 990, 'remove_build_area', async (ctx) => {
  if (ctx.vars.get(KEEP_BUILD_DIR_VAR) === '1') {
    ctx.output(`kept ${ctx.dirs.build} (${KEEP_BUILD_DIR_VAR}=1)`);
    return;
  }
  rmSync(ctx.dirs.build, { recursive: true, force: true });
  (ctx.results.get(FORGET_BUILD_AREA_RESULT) as (() => void) | undefined)?.();
});

/** mkrescue's steps, in stage order; mkbackup adds the backup's. */
export const MEDIA_STEPS = [
  BUILD_AREA,
  ENGINE,
  BUILDER_IMAGE,
  CAPTURE,
  RESCUE_MEDIA,
  BOOT_TEST,
  PUBLISH_MEDIA,
  REMOVE_BUILD_AREA,
];
