import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../capture/bundle.js';
import { captureHost } from '../capture/capture.js';
import { type BuilderImage, ensureBuilderImage } from '../engine/builder-image.js';
import type { Engine } from '../engine/engine.js';
import { connectEngine, engineVersion } from '../engine/engine.js';
import { JobError } from '../errors.js';
import { buildRescueMedia } from '../media/build.js';
import { IMAGES_DIR } from '../paths.js';
import type { Step, StepConditions, StepContext } from '../steps/types.js';
import { BACKUP_STEPS } from './backup-steps.js';

/**
 * lifeboat's own steps. Each is small and does one thing; the numbers leave room for site steps
 * in between (ReaR's convention: 0xx prepare, 1xx-8xx work, 9xx finish).
 */
function step(
  stage: string,
  order: number,
  name: string,
  run: (ctx: StepContext) => Promise<void>,
  when: StepConditions = {},
): Step {
  return { stage, order, name, origin: 'built-in', when, run };
}

/** The workflows that build media: only they need a container engine and the builder image. */
const BUILDS_MEDIA: StepConditions = { workflow: ['mkrescue', 'mkbackup'] };

export const BUILDER_IMAGE_RESULT = 'builder.image';
/** The capture bundle's directory. */
export const CAPTURE_RESULT = 'capture.bundle';
/** The BuildResult of the rescue media. */
export const MEDIA_RESULT = 'media';

export const BUILTIN_STEPS: Step[] = [
  step('prep', 10, 'build_area', async (ctx) => {
    // Private: the rescue rootfs may hold keys the recipe asked for.
    mkdirSync(ctx.dirs.rootfs, { recursive: true, mode: 0o700 });
    ctx.output(`build area ${ctx.dirs.build}`);
  }),

  step(
    'prep',
    40,
    'engine',
    async (ctx) => {
      const engine = connectEngine();
      const version = await engineVersion(engine);
      ctx.results.set('engine', engine);
      ctx.output(
        `${version.product} ${version.version} (API ${version.apiVersion}) at ${engine.endpoint.description}`,
      );
    },
    BUILDS_MEDIA,
  ),

  step(
    'prep',
    50,
    'builder_image',
    async (ctx) => {
      const engine = ctx.results.get('engine') as ReturnType<typeof connectEngine>;
      const image: BuilderImage = await ensureBuilderImage({
        engine,
        imagesDir: IMAGES_DIR,
        name: ctx.config.builder.image,
        baseImage: ctx.config.builder.baseImage,
        log: ctx.log,
      });
      ctx.results.set(BUILDER_IMAGE_RESULT, image);
      ctx.output(`${image.tag} ${image.upToDate ? 'is up to date' : 'built'}`);
    },
    BUILDS_MEDIA,
  ),

  step('capture', 100, 'capture', async (ctx) => {
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
  }),

  step('build', 200, 'rescue_media', async (ctx) => {
    const bundleDir = ctx.results.get(CAPTURE_RESULT) as string | undefined;
    if (!bundleDir) throw new JobError('no capture to build from (the capture stage did not run)');
    const result = await buildRescueMedia({
      engine: ctx.results.get('engine') as Engine,
      bundleDir,
      effective: ctx.effective,
      outDir: ctx.config.output.dir,
      log: ctx.log,
      progress: (line) => ctx.output(line),
      // The build area goes at cleanup; the output keeps the capture, for `lifeboat verify`.
      includeCapture: true,
    });
    ctx.results.set(MEDIA_RESULT, result);
  }),

  step('cleanup', 990, 'remove_build_area', async (ctx) => {
    if (ctx.vars.get('KEEP_BUILD_DIR') === '1') {
      ctx.output(`kept ${ctx.dirs.build} (KEEP_BUILD_DIR=1)`);
      return;
    }
    rmSync(ctx.dirs.build, { recursive: true, force: true });
  }),

  // mkbackup, mkbackuponly: the destination check (prep) and the archive (backup).
  ...BACKUP_STEPS,
];
