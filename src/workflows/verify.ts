import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EffectiveConfig } from '../config/load.js';
import { connectEngine, engineVersion } from '../engine/engine.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type BuildResult, buildRescueMedia } from '../media/build.js';
import { BUILD_MANIFEST_SCHEMA, type BuildManifest } from '../media/build-manifest.js';
import { jsonSyntaxError } from '../util/json-syntax.js';
import { osReason } from '../util/os-error.js';

/**
 * `lifeboat verify --manifest FILE`: rebuild from the inputs a manifest.json names, compare every
 * artifact's sha256, and name every input that changed. Says, never writes: the rebuild goes
 * to a scratch directory beside the manifest and is removed.
 */
export interface VerifyRequest {
  manifest: string;
  /**
   * The configuration and log of the rebuild: the recorded configuration (a file) is a layer
   * above site, local and --config, the recipe is the recorded one, and the date the recorded
   * SOURCE_DATE_EPOCH.
   */
  open(layers: {
    recipe?: string;
    configFile: string;
    sets: string[];
  }): Promise<{ effective: EffectiveConfig; log: Log }>;
  /** One line per artifact and per changed input. */
  print(line: string): void;
}

export async function verifyBuild(request: VerifyRequest): Promise<void> {
  const file = resolve(request.manifest);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--manifest ${file}: not a readable manifest.json (${osReason(error)})`);
  }
  // JSON.parse's own message can quote the whole file, newlines and all: say where instead.
  const syntax = jsonSyntaxError(text);
  if (syntax)
    throw new UsageError(
      `--manifest ${file}:${syntax.line}:${syntax.column}: not a readable manifest.json (not valid JSON: ${syntax.reason})`,
    );
  const recorded = JSON.parse(text) as BuildManifest;
  // Another format may name other inputs: comparing them as these would say something untrue.
  if (recorded?.schema !== BUILD_MANIFEST_SCHEMA)
    throw new UsageError(
      `--manifest ${file}: a ${JSON.stringify(recorded?.schema)} manifest; this version of lifeboat verifies ${BUILD_MANIFEST_SCHEMA} manifests`,
    );
  // Rebuilt beside the manifest (same file system, no copy), then removed: verify only says.
  const scratch = await mkdtemp(join(dirname(file), '.verify-'));
  let rebuilt: BuildResult;
  try {
    const configFile = join(scratch, 'recorded-configuration.json');
    await writeFile(configFile, JSON.stringify(recorded.configuration ?? {}), { mode: 0o600 });
    const recipe = recorded.inputs.recipe?.file;
    const { effective, log } = await request.open({
      ...(recipe ? { recipe } : {}),
      configFile,
      sets: [`sourceDateEpoch=${recorded.inputs.sourceDateEpoch}`],
    });
    const engine = connectEngine();
    await engineVersion(engine);
    rebuilt = await buildRescueMedia({
      engine,
      bundleDir: resolve(dirname(file), recorded.inputs.captureDir),
      effective,
      outDir: join(scratch, 'out'),
      log,
      progress: (line) => log.info(`verify: rebuilding: ${line}`),
      force: true,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  let different = 0;
  for (const artifact of recorded.artifacts) {
    const again = rebuilt.manifest.artifacts.find((a) => a.name === artifact.name);
    const same = again?.sha256 === artifact.sha256;
    if (!same) different++;
    request.print(
      `${same ? 'identical' : 'DIFFERENT'}  ${artifact.name}  ${artifact.sha256}${same ? '' : ` → ${again?.sha256 ?? 'missing'}`}`,
    );
  }
  for (const [key, value] of Object.entries(recorded.inputs)) {
    if (key === 'captureDir') continue; // where, not what: the capture's digest is compared
    const now = (rebuilt.manifest.inputs as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(now) !== JSON.stringify(value))
      request.print(`input changed: ${key}: ${JSON.stringify(value)} → ${JSON.stringify(now)}`);
  }
  if (different > 0) throw new JobError(`verify: ${different} artifact(s) differ from ${file}`);
}
