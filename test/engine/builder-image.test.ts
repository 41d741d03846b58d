import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeBuildContext } from '../../src/engine/build-context.js';
import {
  builderImageStatus,
  CONTEXT_DIGEST_LABEL,
  ensureBuilderImage,
} from '../../src/engine/builder-image.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { JobError, UsageError } from '../../src/errors.js';
import { MemoryLog } from '../../src/log/log.js';
import { describeTier, engineMissing } from '../support/tiers.js';

const IMAGES_DIR = fileURLToPath(new URL('../../images', import.meta.url));
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';
// The first real build fetches ~100 MB of packages from the Debian mirror.
const REAL_BUILD_TIMEOUT = 15 * 60_000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describeTier('engine', await engineMissing())('builder images (real engine)', () => {
  let engine: Engine;
  let scratch: string;
  /** Images this file makes besides the real builder image (which stays: it is the cache). */
  const madeImages = new Set<string>();

  beforeAll(async () => {
    engine = connectEngine();
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-images-'));
  });

  afterAll(async () => {
    for (const ref of madeImages) {
      await engine.docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await rm(scratch, { recursive: true, force: true });
  });

  /** A throwaway images dir holding one Dockerfile. */
  async function imagesDirWith(name: string, dockerfile: string): Promise<string> {
    const dir = await mkdtemp(join(scratch, 'images-'));
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'Dockerfile'), dockerfile);
    return dir;
  }

  it(
    'builds the debian-bookworm builder image, then finds it up to date without building',
    async () => {
      const log = new MemoryLog();
      const first = await ensureBuilderImage({
        engine,
        imagesDir: IMAGES_DIR,
        name: 'debian-bookworm',
        baseImage: BASE_IMAGE,
        log,
      });
      expect(first.tag).toMatch(/^lifeboat-builder\/debian-bookworm:[0-9a-f]{16}$/);
      expect(first.tag.endsWith(first.digest.slice(0, 16))).toBe(true);
      const inspected = await engine.docker.getImage(first.tag).inspect();
      expect(inspected.Id).toBe(first.id);
      expect(inspected.Config.Labels?.[CONTEXT_DIGEST_LABEL]).toBe(first.digest);

      const again = new MemoryLog();
      const second = await ensureBuilderImage({
        engine,
        imagesDir: IMAGES_DIR,
        name: 'debian-bookworm',
        baseImage: BASE_IMAGE,
        log: again,
      });
      expect(second).toEqual({ ...first, upToDate: true });
      // No build happened: nothing was announced, and no build output was logged.
      expect(again.lines.some((l) => l.message.startsWith('Building builder image'))).toBe(false);
      expect(again.lines.some((l) => l.message.startsWith('build '))).toBe(false);
    },
    REAL_BUILD_TIMEOUT,
  );

  it('rebuilds when the base image changes', async () => {
    const imagesDir = await imagesDirWith(
      'tiny',
      'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN echo tiny > /tiny\n',
    );
    // A second base image with a different ID: the real base plus one label.
    const otherBase = 'lifeboat-test/other-base:latest';
    madeImages.add(otherBase);
    const otherDir = await imagesDirWith(
      'other',
      'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nLABEL test=other-base\n',
    );
    const context = await makeBuildContext(join(otherDir, 'other'));
    const stream = await engine.docker.buildImage(Readable.from([context.tar]), {
      t: otherBase,
      buildargs: { BASE_IMAGE },
    });
    await new Promise((resolve, reject) =>
      engine.docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve(undefined))),
    );

    const before = await builderImageStatus({
      engine,
      imagesDir,
      name: 'tiny',
      baseImage: BASE_IMAGE,
    });
    expect(before.present).toBe(false);
    const log = new MemoryLog();
    const onBase = await ensureBuilderImage({
      engine,
      imagesDir,
      name: 'tiny',
      baseImage: BASE_IMAGE,
      log,
    });
    const onOther = await ensureBuilderImage({
      engine,
      imagesDir,
      name: 'tiny',
      baseImage: otherBase,
      log,
    });
    madeImages.add(onBase.tag).add(onOther.tag);
    const after = await builderImageStatus({
      engine,
      imagesDir,
      name: 'tiny',
      baseImage: BASE_IMAGE,
    });
    expect(after).toEqual({ tag: onBase.tag, digest: onBase.digest, present: true, id: onBase.id });
    expect(onOther.upToDate).toBe(false);
    expect(onOther.tag).not.toBe(onBase.tag);
    expect(onOther.id).not.toBe(onBase.id);
  });

  it('reports a failing RUN step with its message and the last output lines', async () => {
    const imagesDir = await imagesDirWith(
      'broken',
      'ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN echo about-to-fail-now && exit 7\n',
    );
    const error = await rejection(
      ensureBuilderImage({
        engine,
        imagesDir,
        name: 'broken',
        baseImage: BASE_IMAGE,
        log: new MemoryLog(),
      }),
    );
    expect(error).toBeInstanceOf(JobError);
    const message = (error as JobError).message;
    expect(message).toContain('broken');
    expect(message).toContain('RUN echo about-to-fail-now');
    expect(message).toContain('returned a non-zero code: 7');
    expect(message).toContain('about-to-fail-now');
    // forcerm: the failed step's container is gone.
    const leftovers = await engine.docker.listContainers({
      all: true,
      filters: { status: ['exited', 'created'] },
    });
    expect(leftovers.filter((c) => c.Command.includes('about-to-fail-now'))).toEqual([]);
  });

  it('names the missing base image and how to make it', async () => {
    const error = await rejection(
      ensureBuilderImage({
        engine,
        imagesDir: IMAGES_DIR,
        name: 'debian-bookworm',
        baseImage: 'lifeboat-test/no-such-base:never',
        log: new MemoryLog(),
      }),
    );
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toContain('lifeboat-test/no-such-base:never');
    expect((error as JobError).hint).toContain('ci/setup');
    expect((error as JobError).hint).toContain('debootstrap + docker import');
  });

  it('refuses an unknown image name, listing the ones there are', async () => {
    const error = await rejection(
      ensureBuilderImage({
        engine,
        imagesDir: IMAGES_DIR,
        name: 'no-such-image',
        baseImage: BASE_IMAGE,
        log: new MemoryLog(),
      }),
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain('no-such-image');
    expect((error as UsageError).hint).toContain('debian-bookworm');
  });
});
