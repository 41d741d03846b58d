import { join } from 'node:path';
import type { EffectiveConfig } from '../config/load.js';
import type { Log } from '../log/log.js';
import { configDir } from '../paths.js';
import type { RunState } from '../steps/context.js';
import { discoverUserSteps } from '../steps/discover.js';
import { formatPlan, planWorkflow } from '../steps/plan.js';
import { type Progress, runPlan } from '../steps/run.js';
import type { StepDirs } from '../steps/types.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import type { Workflow } from './workflow.js';

/**
 * The one way every workflow runs:
 *
 *   1. check: what the workflow can refuse about the configuration, before anything runs (exit 2)
 *   2. plan: lifeboat's steps and the site's (/etc/lifeboat/steps, steps.dirs) merged by number
 *   3. --simulate: print the plan and stop
 *   4. run it stage by stage; an interrupt aborts the steps' signal (the exit-cleanup module
 *      removes what they registered), the cleanup stage runs after a failure
 *   5. the workflow's finish(), whatever the outcome
 */
export interface RunRequest {
  effective: EffectiveConfig;
  log: Log;
  progress: Progress;
  /** Print the steps that would run, run nothing. */
  simulate?: boolean;
  dirs: StepDirs;
  /** Variables the steps start with (shell steps see them in their environment). */
  vars?: Iterable<readonly [string, string]>;
  /** What the command hands to the steps (recover's request...). */
  results?: Iterable<readonly [string, unknown]>;
}

/** The run's state when it ran, undefined for --simulate. Throws the first step's failure. */
export async function runWorkflow(
  workflow: Workflow,
  request: RunRequest,
): Promise<RunState | undefined> {
  const { effective, log } = request;
  workflow.check(effective.config);

  const user = discoverUserSteps([
    { dir: join(configDir(), 'steps'), required: false },
    ...effective.config.steps.dirs.map((dir) => ({ dir, required: true })),
  ]);
  for (const warning of user.warnings) log.warn(warning);
  const plan = planWorkflow(
    workflow,
    [[...workflow.steps], user.steps],
    effective.facts,
    effective.config,
  );
  if (request.simulate) {
    process.stdout.write(formatPlan(plan));
    return undefined;
  }

  const abort = new AbortController();
  const state: RunState = {
    workflow: workflow.name,
    effective,
    dirs: request.dirs,
    log,
    vars: new Map(request.vars ?? []),
    results: new Map(request.results ?? []),
    signal: abort.signal,
  };
  // Steps that started programs stop them on this signal; the process exits right after.
  const forget = onInterruptCleanup(() => abort.abort());
  let failure: unknown;
  try {
    await runPlan(plan, state, request.progress);
  } catch (error) {
    failure = error;
  } finally {
    forget();
  }
  await workflow.finish?.(state, failure);
  if (failure !== undefined) throw failure;
  return state;
}
