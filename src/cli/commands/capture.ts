import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  describeStoreProblems,
  readBundle,
  verifyBundle,
  writeBundle,
} from '../../capture/bundle.js';
import { captureHost } from '../../capture/capture.js';
import { diffCaptures, formatCaptureDiff } from '../../capture/diff.js';
import { formatCaptureSummary } from '../../capture/show.js';
import { JobError, UsageError } from '../../errors.js';
import { type GlobalOptions, openSession } from '../session.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function registerCapture(program: Command): void {
  const capture = program
    .command('capture')
    .description('analyse this host (or --root DIR) into a capture bundle; show or diff bundles')
    .option('-o, --out <dir>', 'the bundle directory to write (replaced atomically)')
    .action(async (options: { out?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (!options.out) {
        command.error('error: lifeboat capture needs --out DIR (where the bundle goes)', {
          exitCode: 2,
        });
        return;
      }
      const session = await openSession('capture', globals);
      const { config, facts } = session.effective;
      const root = resolve(globals.root ?? '/');
      const started = Date.now();
      const { manifest, contents } = await captureHost({
        root,
        config,
        log: session.log,
        hostArch: facts.arch,
      });
      await writeBundle(resolve(options.out), manifest, contents);
      const bytes = manifest.files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
      session.log.info(
        `captured ${root} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
          `${manifest.programs.found.length} programs, ${manifest.libraries.resolved.length} libraries, ` +
          `${manifest.kernel?.modules.length ?? 0} modules, ${manifest.files.length} files (${mib(bytes)}) → ${resolve(options.out)}`,
      );
      if (manifest.warnings.length > 0) {
        session.log.warn(
          `${manifest.warnings.length} warning(s); \`lifeboat capture show ${options.out}\` lists them`,
        );
      }
    });

  capture
    .command('show')
    .description('print a readable summary of a capture bundle')
    .argument('<dir>', 'the bundle directory')
    .action(async (dir: string) => {
      const bundle = await readBundle(resolve(dir));
      const damaged = await verifyBundle(resolve(dir));
      process.stdout.write(formatCaptureSummary(bundle.manifest, { damagedFiles: damaged.length }));
      if (damaged.length > 0) {
        throw new JobError(
          `${dir}: ${damaged.length} stored file(s) are missing or damaged: ${describeStoreProblems(damaged)}`,
          {
            hint: 'Capture again; a damaged bundle must not be built from.',
          },
        );
      }
    });

  capture
    .command('diff')
    .description('print what changed between two capture bundles; exit 1 when something did')
    .argument('<a>', 'the older bundle')
    .argument('<b>', 'the newer bundle')
    .action(async (a: string, b: string) => {
      // A damaged store would compare as its manifest says, not as it is: refuse, naming it.
      for (const dir of [a, b]) {
        const damaged = await verifyBundle(resolve(dir));
        if (damaged.length > 0)
          throw new UsageError(
            `${dir}: ${damaged.length} stored file(s) are missing or damaged: ${describeStoreProblems(damaged)}`,
            { hint: 'Capture again; a damaged bundle cannot be compared.' },
          );
      }
      const diff = diffCaptures(
        (await readBundle(resolve(a))).manifest,
        (await readBundle(resolve(b))).manifest,
      );
      process.stdout.write(formatCaptureDiff(diff));
      // Drift is the answer, not a failure of lifeboat: exit 1 without an error message.
      if (diff.changed) process.exitCode = 1;
    });
}
