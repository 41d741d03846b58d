import { resolve } from 'node:path';
import type { Command } from 'commander';
import { bootTest } from '../../boot/boot-test.js';
import { readBundle } from '../../capture/bundle.js';
import { connectEngine, engineVersion } from '../../engine/engine.js';
import { buildRescueMedia } from '../../media/build.js';
import type { BuildManifest } from '../../media/build-manifest.js';
import { publishMedia, publishOutputs } from '../../outputs/publish.js';
import { verifyBuild } from '../../workflows/verify.js';
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
        if (options.bootTest) await bootTest(result.outDir, result.outputs, session.log);
        // output.url: under the captured host's short name, as mkrescue and backups file it.
        const { manifest } = await readBundle(resolve(options.capture));
        const where = await publishMedia({
          config: session.effective.config,
          outDir: result.outDir,
          artifacts: result.artifacts,
          hostname: manifest.identity.hostname.split('.')[0] || 'localhost',
          log: session.log,
        });
        if (where) session.log.info(`build: copied to ${where}`);
        await publishOutputs(result.outputs, {
          config: session.effective.config,
          outDir: result.outDir,
          log: session.log,
        });
      },
    );

  program
    .command('verify')
    .description('rebuild from the inputs a manifest.json names and compare every artifact')
    .requiredOption('--manifest <file>', 'the manifest.json of a build')
    .action(async (options: { manifest: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      await verifyBuild({
        manifest: options.manifest,
        // --set flags still win over the recorded configuration, to try a change on purpose.
        open: ({ recipe, configFile, sets }) =>
          openSession('verify', {
            ...globals,
            ...(recipe ? { recipe } : {}),
            config: [...(globals.config ?? []), configFile],
            set: [...(globals.set ?? []), ...sets],
          }),
        print: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
