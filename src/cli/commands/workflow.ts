import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BuilderImage } from '../../engine/builder-image.js';
import { configDir, PACKAGE_ROOT } from '../../paths.js';
import type { RunState } from '../../steps/context.js';
import { discoverUserSteps } from '../../steps/discover.js';
import { formatPlan, planWorkflow } from '../../steps/plan.js';
import { runPlan } from '../../steps/run.js';
import { WORKFLOWS, type WorkflowName } from '../../steps/workflows.js';
import { BUILDER_IMAGE_RESULT, BUILTIN_STEPS } from '../../workflows/builtin-steps.js';
import { type GlobalOptions, openSession } from '../session.js';

interface WorkflowOptions {
  simulate?: boolean;
  keepBuildDir?: boolean;
}

/** Runs a workflow: built-in steps and user steps merged into its stages (see docs/steps.md). */
async function runWorkflow(
  name: WorkflowName,
  options: WorkflowOptions & GlobalOptions,
): Promise<void> {
  const session = await openSession(name, options);
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

  const image = state.results.get(BUILDER_IMAGE_RESULT) as BuilderImage | undefined;
  log.info(`${name}: every step succeeded${image ? `; builder image ${image.tag} is ready` : ''}.`);
  // Said plainly so nobody mistakes this version's mkrescue for a finished one.
  log.warn(
    `${name}: this version of lifeboat makes no rescue media yet: the build, pack and output stages have no built-in steps so far (the capture ran; --keep-build-dir keeps it).`,
  );
}

export function registerWorkflows(program: Command): void {
  program
    .command('mkrescue')
    .description(WORKFLOWS.mkrescue.summary)
    .option(
      '--simulate',
      'print the steps that would run, in order and with their origin; run nothing',
    )
    .option('--keep-build-dir', 'keep the build area after the run, for inspection')
    .action((options: WorkflowOptions, command: Command) =>
      runWorkflow('mkrescue', { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );
}
