import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bootTest } from '../../boot/boot-test.js';
import { connectEngine, engineVersion } from '../../engine/engine.js';
import { JobError, UsageError } from '../../errors.js';
import { type BuildResult, buildRescueMedia } from '../../media/build.js';
import type { BuildManifest } from '../../media/build-manifest.js';
import { type GlobalOptions, openSession } from '../session.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function describeBuild(manifest: BuildManifest): string {
  return manifest.artifacts
    .map((a) => `${a.name} ${mib(a.size)} sha256:${a.sha256.slice(0, 16)}`)
    .join(', ');
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build rescue media from a capture bundle, in the builder container')
    .requiredOption('--capture <dir>', 'the capture bundle (lifeboat capture --out)')
    .requiredOption('-o, --out <dir>', 'where the artifacts and manifest.json go')
    .option('--boot-test', 'boot the result in QEMU and wait for the rescue system to be ready')
    .option('--force', 'build even when --out holds media made from the same inputs')
    .action(
      async (
        options: { capture: string; out: string; bootTest?: boolean; force?: boolean },
        command: Command,
      ) => {
        const session = await openSession('build', command.optsWithGlobals<GlobalOptions>());
        const engine = connectEngine();
        await engineVersion(engine);
        const started = Date.now();
        const result = await buildRescueMedia({
          engine,
          bundleDir: options.capture,
          effective: session.effective,
          outDir: options.out,
          log: session.log,
          progress: (line) => session.log.info(`build: ${line}`),
          force: options.force,
        });
        session.log.info(
          `${result.upToDate ? 'up to date, checked' : 'built'} in ${((Date.now() - started) / 1000).toFixed(1)} s → ${result.outDir}: ${describeBuild(result.manifest)}`,
        );
        if (options.bootTest) await bootTest(result.outDir, result.artifacts, session.log);
      },
    );

  program
    .command('verify')
    .description('rebuild from the inputs a manifest.json names and compare every artifact')
    .requiredOption('--manifest <file>', 'the manifest.json of a build')
    .action(async (options: { manifest: string }, command: Command) => {
      const file = resolve(options.manifest);
      let recorded: BuildManifest;
      try {
        recorded = JSON.parse(readFileSync(file, 'utf8')) as BuildManifest;
      } catch (error) {
        throw new UsageError(
          `--manifest ${file}: not a readable manifest.json (${(error as Error).message})`,
        );
      }
      // Rebuilt beside the manifest (same file system, no copy), then removed: verify only says.
      const scratch = await mkdtemp(join(dirname(file), '.verify-'));
      let rebuilt: BuildResult;
      try {
        // The recorded configuration is a layer above site, local and --config (secrets, which
        // it leaves out, come from those); --set flags still win, to try a change on purpose.
        const recordedConfig = join(scratch, 'recorded-configuration.json');
        await writeFile(recordedConfig, JSON.stringify(recorded.configuration ?? {}), {
          mode: 0o600,
        });
        const recipe = recorded.inputs.recipe?.file;
        const globals = command.optsWithGlobals<GlobalOptions>();
        const session = await openSession('verify', {
          ...globals,
          ...(recipe ? { recipe } : {}),
          config: [...(globals.config ?? []), recordedConfig],
          set: [...(globals.set ?? []), `sourceDateEpoch=${recorded.inputs.sourceDateEpoch}`],
        });
        const engine = connectEngine();
        await engineVersion(engine);
        rebuilt = await buildRescueMedia({
          engine,
          bundleDir: resolve(dirname(file), recorded.inputs.captureDir),
          effective: session.effective,
          outDir: join(scratch, 'out'),
          log: session.log,
          progress: (line) => session.log.info(`verify: rebuilding: ${line}`),
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
        process.stdout.write(
          `${same ? 'identical' : 'DIFFERENT'}  ${artifact.name}  ${artifact.sha256}${same ? '' : ` → ${again?.sha256 ?? 'missing'}`}\n`,
        );
      }
      for (const [key, value] of Object.entries(recorded.inputs)) {
        if (key === 'captureDir') continue; // where, not what: the capture's digest is compared
        const now = (rebuilt.manifest.inputs as unknown as Record<string, unknown>)[key];
        if (JSON.stringify(now) !== JSON.stringify(value)) {
          process.stdout.write(
            `input changed: ${key}: ${JSON.stringify(value)} → ${JSON.stringify(now)}\n`,
          );
        }
      }
      if (different > 0) throw new JobError(`verify: ${different} artifact(s) differ from ${file}`);
    });
}
