import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { BuildManifest } from '../../src/media/build-manifest.js';
import { lifeboat, type sandbox } from './cli.js';
import { debianFixture } from './fixtures.js';
import { engineMissing, qemuMissing } from './tiers.js';

export interface BuiltMedia {
  /** The build's output directory. */
  out: string;
  manifest: BuildManifest;
  /** What the build printed. */
  log: string;
}

/**
 * Builds from one capture of `hostRoot`, for the output tests: the capture is made once, at the
 * first build; each name builds once, into BOX/NAME, with `sets` and the build's own settings
 * (`again` runs that build once more).
 * Two names with the same settings are two builds from the same inputs (the reproducibility
 * tests compare them).
 */
export function mediaBuilds(
  box: ReturnType<typeof sandbox>,
  hostRoot: string,
  sets: readonly string[],
): ((name?: string, more?: readonly string[]) => Promise<BuiltMedia>) & {
  again: (name?: string, more?: readonly string[]) => Promise<BuiltMedia>;
} {
  const capture = join(box.dir, 'capture');
  let captured: Promise<void> | undefined;
  const builds = new Map<string, Promise<BuiltMedia>>();
  const captureOnce = () => {
    captured ??= (async () => {
      const result = await lifeboat(
        ['capture', '--root', hostRoot, '--out', capture, ...box.sets, '--quiet'],
        { env: box.env },
      );
      expect(result.exitCode, result.all).toBe(0);
    })();
    return captured;
  };
  const build = async (name: string, more: readonly string[]): Promise<BuiltMedia> => {
    await captureOnce();
    const out = join(box.dir, name);
    const result = await lifeboat(
      [
        'build',
        '--capture',
        capture,
        '--out',
        out,
        ...[...sets, ...more].flatMap((set) => ['--set', set]),
        ...box.sets,
      ],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BuildManifest;
    return { out, manifest, log: result.all };
  };
  const once = (name = 'media', more: readonly string[] = []) => {
    let built = builds.get(name);
    if (built === undefined) {
      built = build(name, more);
      builds.set(name, built);
    }
    return built;
  };
  // The same build run again into the same directory (up to date: it checks and builds nothing,
  // then writes and uploads as every build does).
  const again = async (name = 'media', more: readonly string[] = []) => {
    await once(name, more);
    return build(name, more);
  };
  return Object.assign(once, { again });
}

/**
 * The example host an engine-tier media test builds from (a fixture root), and why that tier
 * cannot run on this machine: no container engine, no fixture, or `more` (the test's own needs,
 * worked out by the caller).
 */
export async function engineTierHost(
  more: () => string | undefined = () => undefined,
): Promise<{ hostRoot: string; why: string | undefined }> {
  const engineWhy = await engineMissing();
  const made = await debianFixture('host');
  return {
    hostRoot: 'root' in made ? made.root : '',
    why: engineWhy ?? ('missing' in made ? made.missing : undefined) ?? more(),
  };
}

/** engineTierHost for a boot-tier media test: QEMU is needed too. */
export function bootTierHost(
  more: () => string | undefined = () => undefined,
): Promise<{ hostRoot: string; why: string | undefined }> {
  return engineTierHost(() => qemuMissing() ?? more());
}
