import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bootTest } from '../../boot/boot-test.js';
import type { BuildResult } from '../../media/build.js';
import { configDir, PACKAGE_ROOT } from '../../paths.js';
import type { RunState } from '../../steps/context.js';
import { discoverUserSteps } from '../../steps/discover.js';
import { formatPlan, planWorkflow } from '../../steps/plan.js';
import { runPlan } from '../../steps/run.js';
import { WORKFLOWS, type WorkflowName } from '../../steps/workflows.js';
import { BUILTIN_STEPS, MEDIA_RESULT } from '../../workflows/builtin-steps.js';
import { type GlobalOptions, openSession } from '../session.js';
import { describeBuild } from './build.js';

interface WorkflowOptions {
  simulate?: boolean;
  keepBuildDir?: boolean;
  out?: string;
  bootTest?: boolean;
}

/** Runs a workflow: built-in steps and user steps merged into its stages (see docs/steps.md). */
async function runWorkflow(
  name: WorkflowName,
  options: WorkflowOptions & GlobalOptions,
): Promise<void> {
  // --out is output.dir for this run (JSON-quoted: YAML reads a JSON string as is).
  const sets = [
    ...(options.set ?? []),
    ...(options.out ? [`output.dir=${JSON.stringify(resolve(options.out))}`] : []),
  ];
  const session = await openSession(name, { ...options, set: sets });
  const { effective, log } = session;
  const workflow = WORKFLOWS[name];
  const stepDirs = [
    { dir: join(configDir(), 'steps'), required: false },
    ...effective.config.steps.dirs.map((dir) => ({ dir, required: true })),
  ];
  const user = discoverUserSteps(stepDirs);
  for (const warning of user.warnings) log.warn(warning);
  const plan = planWorkflow(
    workflow,
    [BUILTIN_STEPS, user.steps],
    effective.facts,
    effective.config,
  );

  if (options.simulate) {
    process.stdout.write(formatPlan(plan));
    return;
  }

  const build = join(
    effective.config.paths.workDir,
    'build',
    `${name}-${process.pid}-${Date.now()}`,
  );
  const abort = new AbortController();
  const state: RunState = {
    workflow: name,
    effective,
    dirs: {
      config: configDir(),
      share: PACKAGE_ROOT,
      build,
      rootfs: join(build, 'rootfs'),
      host: resolve(options.root ?? '/'),
    },
    log,
    vars: new Map(options.keepBuildDir ? [['KEEP_BUILD_DIR', '1']] : []),
    results: new Map(),
    signal: abort.signal,
  };
  await runPlan(plan, state, session.progress);

  const built = state.results.get(MEDIA_RESULT) as BuildResult | undefined;
  if (built) {
    log.info(`${name}: rescue media in ${built.outDir}: ${describeBuild(built.manifest)}`);
    if (options.bootTest) await bootTest(built.outDir, built.artifacts, log);
  } else {
    log.info(`${name}: every step succeeded.`);
  }
}

export function registerWorkflows(program: Command): void {
  // The two that build media take the same options.
  for (const name of ['mkrescue', 'mkbackup'] as const) {
    program
      .command(name)
      .description(WORKFLOWS[name].summary)
      .option(
        '--simulate',
        'print the steps that would run, in order and with their origin; run nothing',
      )
      .option('-o, --out <dir>', 'where the media go (default: output.dir)')
      .option('--boot-test', 'boot the ISO in QEMU and wait for the rescue system to be ready')
      .option('--keep-build-dir', 'keep the build area after the run, for inspection')
      .action((options: WorkflowOptions, command: Command) =>
        runWorkflow(name, { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
      );
  }
  program
    .command('mkbackuponly')
    .description(WORKFLOWS.mkbackuponly.summary)
    .option(
      '--simulate',
      'print the steps that would run, in order and with their origin; run nothing',
    )
    .option('--keep-build-dir', 'keep the build area after the run, for inspection')
    .action((options: WorkflowOptions, command: Command) =>
      runWorkflow('mkbackuponly', { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );
}
