import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BuildResult } from '../../media/build.js';
import { configDir, PACKAGE_ROOT } from '../../paths.js';
import { mkbackup } from '../../workflows/mkbackup.js';
import { mkbackuponly } from '../../workflows/mkbackuponly.js';
import { mkrescue } from '../../workflows/mkrescue.js';
import { runWorkflow } from '../../workflows/runner.js';
import {
  BOOT_TEST_VAR,
  KEEP_BUILD_DIR_VAR,
  MEDIA_RESULT,
} from '../../workflows/steps/media-steps.js';
import type { Workflow } from '../../workflows/workflow.js';
import { type GlobalOptions, openSession } from '../session.js';
import { describeBuild } from './build.js';

interface WorkflowOptions {
  simulate?: boolean;
  keepBuildDir?: boolean;
  out?: string;
  bootTest?: boolean;
}

/** mkrescue, mkbackup, mkbackuponly: flags → configuration and variables → the runner. */
async function runOnHost(workflow: Workflow, options: WorkflowOptions & GlobalOptions) {
  // --out is output.dir for this run (JSON-quoted: YAML reads a JSON string as is).
  const sets = [
    ...(options.set ?? []),
    ...(options.out ? [`output.dir=${JSON.stringify(resolve(options.out))}`] : []),
  ];
  const session = await openSession(workflow.name, { ...options, set: sets });
  const { effective, log } = session;
  const build = join(
    effective.config.paths.workDir,
    'build',
    `${workflow.name}-${process.pid}-${Date.now()}`,
  );
  const state = await runWorkflow(workflow, {
    effective,
    log,
    progress: session.progress,
    simulate: options.simulate === true,
    dirs: {
      config: configDir(),
      share: PACKAGE_ROOT,
      build,
      rootfs: join(build, 'rootfs'),
      host: resolve(options.root ?? '/'),
    },
    vars: [
      ...(options.keepBuildDir ? ([[KEEP_BUILD_DIR_VAR, '1']] as const) : []),
      ...(options.bootTest ? ([[BOOT_TEST_VAR, '1']] as const) : []),
    ],
  });
  if (!state) return;
  const built = state.results.get(MEDIA_RESULT) as BuildResult | undefined;
  log.info(
    built
      ? `${workflow.name}: rescue media in ${built.outDir}: ${describeBuild(built.manifest)}`
      : `${workflow.name}: every step succeeded.`,
  );
}

export function registerWorkflows(program: Command): void {
  // The two that build media take the same options.
  for (const workflow of [mkrescue, mkbackup]) {
    program
      .command(workflow.name)
      .description(workflow.summary)
      .option(
        '--simulate',
        'print the steps that would run, in order and with their origin; run nothing',
      )
      .option('-o, --out <dir>', 'where the media go (default: output.dir)')
      .option('--boot-test', 'boot the media in QEMU and wait for the rescue system to be ready')
      .option('--keep-build-dir', 'keep the build area after the run, for inspection')
      .action((options: WorkflowOptions, command: Command) =>
        runOnHost(workflow, { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
      );
  }
  program
    .command(mkbackuponly.name)
    .description(mkbackuponly.summary)
    .option(
      '--simulate',
      'print the steps that would run, in order and with their origin; run nothing',
    )
    .option('--keep-build-dir', 'keep the build area after the run, for inspection')
    .action((options: WorkflowOptions, command: Command) =>
      runOnHost(mkbackuponly, { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );
}
