import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type BuildContext, makeBuildContext } from './build-context.js';
import { type Engine, engineError, statusCode } from './engine.js';

/**
 * The builder image holds the media tools (xorriso, syslinux, GRUB, mtools...) so that the protected
 * host never needs them. Its tag is derived from everything it is built from, so "is it up to date"
 * is one lookup of a tag, and a changed Dockerfile or a rebuilt base image gives a new tag.
 */

export const BUILDER_REPOSITORY = 'lifeboat-builder';
/** The full digest the tag was cut from: lets a cache miss be explained, and a tag be checked. */
export const CONTEXT_DIGEST_LABEL = 'org.lifeboat.context-digest';
export const BUILDER_NAME_LABEL = 'org.lifeboat.builder';

/** Hex digits of the digest in the tag: 64 bits, ample to tell a handful of builds apart. */
const TAG_DIGEST_LENGTH = 16;
/** How many lines of build output a failure message quotes. */
const TAIL_LINES = 15;

export interface EnsureBuilderImageOptions {
  engine: Engine;
  /** The directory holding one sub-directory per image, each with a Dockerfile. */
  imagesDir: string;
  /** The image's directory name under `imagesDir`, e.g. `debian-bookworm`. */
  name: string;
  /** The image given to the Dockerfile as `BASE_IMAGE`. */
  baseImage: string;
  log: Log;
  /** Rebuild even when the tag exists, without the engine's layer cache (fetches packages anew). */
  force?: boolean;
}

export interface BuilderImage {
  /** `lifeboat-builder/<name>:<first 16 hex of digest>` */
  tag: string;
  /** The engine's image ID (`sha256:...`). */
  id: string;
  /** sha256 (hex) of the build context and the base image's ID. */
  digest: string;
  /** True when the image already existed and nothing was built. */
  upToDate: boolean;
}

/** Names under `imagesDir` that have a Dockerfile, sorted. */
export async function availableBuilderImages(imagesDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(imagesDir);
  } catch {
    return [];
  }
  const withDockerfile = await Promise.all(
    names.map(async (name) => ((await isFile(join(imagesDir, name, 'Dockerfile'))) ? name : '')),
  );
  return withDockerfile.filter((name) => name !== '').sort();
}

export interface BuilderImageStatus {
  /** The tag the image has (or would have) for the current context and base image. */
  tag: string;
  digest: string;
  /** True when that image exists: ensureBuilderImage would not build. */
  present: boolean;
  /** The image's ID when present. */
  id: string | undefined;
}

/**
 * What ensureBuilderImage would find, without building anything (for `lifeboat doctor`). Throws
 * the same errors for an unknown name or a missing base image.
 */
export async function builderImageStatus(
  options: Omit<EnsureBuilderImageOptions, 'log' | 'force'>,
): Promise<BuilderImageStatus> {
  const { tag, digest } = await plan(options);
  const existing = await findBuilt(options.engine, tag, digest);
  return { tag, digest, present: existing !== undefined, id: existing?.Id };
}

export async function ensureBuilderImage(
  options: EnsureBuilderImageOptions,
): Promise<BuilderImage> {
  const { engine, baseImage, name, log } = options;
  const { contextDir, context, buildargs, digest, tag } = await plan(options);

  if (!options.force) {
    const existing = await findBuilt(engine, tag, digest);
    if (existing !== undefined) {
      log.debug(`builder image ${tag} is up to date (${existing.Id})`);
      return { tag, id: existing.Id, digest, upToDate: true };
    }
  }

  log.info(`Building builder image ${tag} (from ${contextDir}, base ${baseImage})`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.docker.buildImage(Readable.from([context.tar]), {
      t: tag,
      buildargs,
      labels: { [CONTEXT_DIGEST_LABEL]: digest, [BUILDER_NAME_LABEL]: name },
      // Intermediate containers are removed even when a step fails: no leaks from failed builds.
      rm: true,
      forcerm: true,
      // There is no registry to pull from; the base must already be in the engine.
      pull: false,
      nocache: options.force === true,
    });
  } catch (error) {
    throw engineError(engine, error, `to build the builder image ${name}`);
  }
  await followBuild(engine, stream, name, contextDir, log);

  const built = await inspectImage(engine, tag);
  if (built === undefined) {
    throw new JobError(`The build of builder image ${name} ended, but ${tag} does not exist.`, {
      hint: 'The full build output is in the log file (--verbose shows it).',
    });
  }
  log.info(`Built builder image ${tag}`);
  return { tag, id: built.Id, digest, upToDate: false };
}

interface Plan {
  contextDir: string;
  context: BuildContext;
  buildargs: Record<string, string>;
  digest: string;
  tag: string;
}

/** Everything that decides the image: its directory, the base image's ID, and the tag they give. */
async function plan(options: Omit<EnsureBuilderImageOptions, 'log' | 'force'>): Promise<Plan> {
  const { engine, imagesDir, name, baseImage } = options;
  const contextDir = await findContextDir(imagesDir, name);
  const baseId = await baseImageId(engine, baseImage);
  // The base is passed by ID, not by name: the image built is then exactly the one whose ID went
  // into the digest, even if the name is re-pointed meanwhile.
  const buildargs = { BASE_IMAGE: baseId };
  const context = await makeBuildContext(contextDir, {
    'base-image-id': baseId,
    ...Object.fromEntries(Object.entries(buildargs).map(([k, v]) => [`build-arg:${k}`, v])),
  });
  const digest = context.digest;
  const tag = `${BUILDER_REPOSITORY}/${name}:${digest.slice(0, TAG_DIGEST_LENGTH)}`;
  return { contextDir, context, buildargs, digest, tag };
}

/**
 * The image under `tag`, if lifeboat built it from this exact digest. The label check guards
 * against a tag made some other way (by hand, or a digest-prefix collision).
 */
async function findBuilt(
  engine: Engine,
  tag: string,
  digest: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  const existing = await inspectImage(engine, tag);
  return existing?.Config?.Labels?.[CONTEXT_DIGEST_LABEL] === digest ? existing : undefined;
}

async function findContextDir(imagesDir: string, name: string): Promise<string> {
  const dir = join(imagesDir, name);
  // The name becomes part of an image reference, so it must be a valid repository component.
  const validName = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(name);
  if (validName && (await isFile(join(dir, 'Dockerfile')))) return dir;
  const available = await availableBuilderImages(imagesDir);
  throw new UsageError(`Unknown builder image "${name}": there is no ${join(dir, 'Dockerfile')}.`, {
    hint:
      available.length > 0
        ? `Use one of: ${available.join(', ')}.`
        : `${imagesDir} holds no <name>/Dockerfile at all: is the images directory right?`,
  });
}

async function baseImageId(engine: Engine, baseImage: string): Promise<string> {
  const base = await inspectImage(engine, baseImage);
  if (base === undefined) {
    throw new JobError(
      `The base image ${baseImage} does not exist in the engine at ${engine.endpoint.description}.`,
      {
        hint: 'Run ci/setup, which makes it with debootstrap + docker import (or set builder.baseImage to an image the engine has).',
      },
    );
  }
  return base.Id;
}

/** The image's inspect data, or undefined when the engine has no such image. */
async function inspectImage(
  engine: Engine,
  ref: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await engine.docker.getImage(ref).inspect();
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw engineError(engine, error, `to inspect the image ${ref}`);
  }
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
}

/**
 * Follows the build's JSON event stream. The engine reports a failed step as an event carrying
 * `error`, and followProgress still finishes without an error: so every event is checked, and the
 * current step and its last output lines are kept to say what failed.
 */
function followBuild(
  engine: Engine,
  stream: NodeJS.ReadableStream,
  name: string,
  contextDir: string,
  log: Log,
): Promise<void> {
  /** Output of the current step only: earlier steps succeeded and say nothing about the failure. */
  let stepOutput: string[] = [];
  let step: string | undefined;
  let failure: string | undefined;

  const onEvent = (event: BuildEvent) => {
    const text = event.stream ?? event.status;
    if (text !== undefined) {
      for (const raw of text.split('\n')) {
        // The classic builder colours a RUN step's stderr with ANSI codes: noise in a log file.
        const line = raw.replace(ANSI_ESCAPE, '').replace(/\r$/, '').trimEnd();
        if (line === '') continue;
        log.debug(`build ${name}: ${line}`);
        if (/^Step \d+\/\d+ : /.test(line)) {
          step = line;
          stepOutput = [];
        } else if (!BUILDER_CHATTER.test(line)) {
          stepOutput.push(line);
          if (stepOutput.length > TAIL_LINES) stepOutput.shift();
        }
      }
    }
    const message = event.errorDetail?.message ?? event.error;
    if (message !== undefined && failure === undefined) {
      failure = message.replace(ANSI_ESCAPE, '').trim();
      log.debug(`build ${name}: error: ${failure}`);
    }
  };

  return new Promise((resolve, reject) => {
    engine.docker.modem.followProgress(
      stream,
      (error) => {
        if (failure !== undefined) {
          const at = step === undefined ? '' : ` at ${step}`;
          const output =
            stepOutput.length > 0 ? `\nLast lines of output:\n  ${stepOutput.join('\n  ')}` : '';
          reject(
            new JobError(`Building the builder image ${name} failed${at}: ${failure}${output}`, {
              hint: `The full build output is in the log file (--verbose shows it); the Dockerfile is ${join(contextDir, 'Dockerfile')}.`,
            }),
          );
        } else if (error) {
          reject(engineError(engine, error, `to build the builder image ${name}`));
        } else {
          resolve();
        }
      },
      onEvent,
    );
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the ESC character is the point.
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;
/** The classic builder's own bookkeeping lines, which say nothing about why a step failed. */
const BUILDER_CHATTER = /^ ---> |^Removing intermediate container /;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
