import { execa } from 'execa';
import { ensureBuilderImage } from '../../src/engine/builder-image.js';
import { connectEngine } from '../../src/engine/engine.js';
import { MemoryLog } from '../../src/log/log.js';
import { IMAGES_DIR } from '../../src/paths.js';
import { fixturePrerequisitesMissing } from './fixtures.js';

/** The base image ci/setup makes, which every test's builder image starts from. */
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';

/**
 * Before any test: build the CLI bundle (the CLI tests run the real program), then make what
 * many files need and a fresh machine lacks, side by side: the Debian fixture root (debootstrap,
 * mostly waiting on the network) and the builder image (mostly CPU). The two projects of
 * vitest.config.ts start at once; without this both would find the builder image missing and
 * build it twice. Each takes minutes on a fresh machine and a lookup when cached.
 */
export default async function setup(): Promise<void> {
  await execa('node', ['ci/build.mjs'], { stdio: 'inherit' });
  await Promise.all([hostFixture(), builderImage()]);
}

async function hostFixture(): Promise<void> {
  if (fixturePrerequisitesMissing() !== undefined) return; // the fixture tier says why
  const started = Date.now();
  const made = await execa('ci/fixtures/debian-root', ['host'], {
    reject: false,
    timeout: 20 * 60_000,
  });
  const took = Math.round((Date.now() - started) / 1000);
  if (took > 5) process.stderr.write(`test fixture: Debian root ready in ${took} s\n`);
  if (made.exitCode !== 0)
    process.stderr.write(`test fixture: ${made.stderr.trim().slice(-500)}\n`);
}

async function builderImage(): Promise<void> {
  // No engine: the engine tier says why (tiers.ts, which this file can't import: it uses vitest).
  const probe = await execa('docker', ['version'], { reject: false, timeout: 15_000 });
  if (probe.exitCode !== 0) return;
  const started = Date.now();
  try {
    const image = await ensureBuilderImage({
      engine: connectEngine(),
      imagesDir: IMAGES_DIR,
      name: 'debian-bookworm',
      baseImage: BASE_IMAGE,
      log: new MemoryLog(),
    });
    const took = Math.round((Date.now() - started) / 1000);
    if (!image.upToDate) process.stderr.write(`builder image: ${image.tag} built in ${took} s\n`);
  } catch (error) {
    // The files that need it try again and fail with the engine's own words.
    process.stderr.write(`builder image: ${error instanceof Error ? error.message : error}\n`);
  }
}
