import { Listr, type ListrTask, PRESET_TIMER, PRESET_TIMESTAMP } from 'listr2';
import { errorMessage, LifeboatError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type RunState, stepContext } from './context.js';
import { type Plan, type PlannedStep, type StagePlan, stepId } from './plan.js';

/**
 * Runs a plan stage by stage, step by step. The first failing step stops the workflow; the
 * stages that always run (cleanup) run after it all the same, and then the failure is reported
 * with the step's stage, name, origin and the log file.
 *
 * Progress: listr2's live view on a terminal, plain timestamped lines otherwise (CI logs),
 * nothing with --quiet. Every step's start, end, duration and output go to the log file.
 */
export type Progress = 'live' | 'plain' | 'silent';

export class WorkflowStepError extends LifeboatError {
  /**
   * A refusal of the user's input inside a step (a usage or configuration error) keeps its exit
   * code 2; anything else that fails a step is 1.
   */
  readonly exitCode: 1 | 2;

  constructor(
    readonly step: PlannedStep,
    cause: unknown,
    logFile: string | undefined,
  ) {
    const inner = errorMessage(cause);
    const where = step.origin === 'built-in' ? 'built-in step' : step.origin;
    const hint =
      cause instanceof LifeboatError && cause.hint
        ? cause.hint
        : logFile && `The log has the details: ${logFile}`;
    super(
      `step ${step.stage}/${stepId(step)} failed (${where}): ${inner}`,
      hint ? { cause, hint } : { cause },
    );
    this.exitCode = cause instanceof LifeboatError ? cause.exitCode : 1;
  }
}

function rendererOptions(progress: Progress) {
  switch (progress) {
    case 'live':
      return {
        renderer: 'default' as const,
        rendererOptions: { collapseSubtasks: false, timer: PRESET_TIMER },
      };
    case 'plain':
      return {
        renderer: 'simple' as const,
        rendererOptions: { timestamp: PRESET_TIMESTAMP, timer: PRESET_TIMER },
      };
    case 'silent':
      return { renderer: 'silent' as const };
  }
}

function stepTask(state: RunState, stage: StagePlan, step: PlannedStep, log: Log): ListrTask {
  return {
    title: `${stepId(step)}${step.origin === 'built-in' ? '' : ` (${step.origin})`}`,
    task: async (_ctx, task) => {
      const started = Date.now();
      log.debug(`step ${stage.stage}/${stepId(step)} starts (${step.origin})`);
      const ctx = stepContext(state, stage.stage, (line) => {
        log.debug(`  ${stepId(step)}: ${line}`);
        task.output = line;
      });
      try {
        await step.run(ctx);
      } catch (error) {
        log.debug(
          `step ${stage.stage}/${stepId(step)} failed after ${Date.now() - started} ms: ${errorMessage(error)}`,
        );
        throw new WorkflowStepError(step, error, log.file);
      }
      log.debug(`step ${stage.stage}/${stepId(step)} done in ${Date.now() - started} ms`);
    },
  };
}

function stageTasks(
  state: RunState,
  stages: StagePlan[],
  log: Log,
  progress: Progress,
): ListrTask[] {
  return stages.map((stage) => ({
    title: stage.stage,
    // The live view shows the skip message instead of the title; the plain one shows both.
    skip: () =>
      stage.steps.length === 0 && (progress === 'live' ? `${stage.stage} (no steps)` : 'no steps'),
    task: (_ctx, task) =>
      task.newListr(stage.steps.map((step) => stepTask(state, stage, step, log))),
  }));
}

export async function runPlan(plan: Plan, state: RunState, progress: Progress): Promise<void> {
  const { log } = state;
  const options = {
    ...rendererOptions(progress),
    exitOnError: true,
    registerSignalListeners: false,
  };
  log.debug(`workflow ${plan.workflow.name} starts`);
  let failure: unknown;
  try {
    await new Listr(
      stageTasks(
        state,
        plan.stages.filter((s) => !s.alwaysRuns),
        log,
        progress,
      ),
      options,
    ).run();
  } catch (error) {
    failure = error;
  }
  const always = plan.stages.filter((s) => s.alwaysRuns);
  // Every cleanup step runs even if one of them fails; their errors are collected, not thrown.
  const cleanup = new Listr(stageTasks(state, always, log, progress), {
    ...options,
    exitOnError: false,
  });
  await cleanup.run();
  for (const error of cleanup.errors) log.warn(`cleanup: ${errorMessage(error)}`);
  failure ??= cleanup.errors[0];
  if (failure) throw failure;
  log.debug(`workflow ${plan.workflow.name} done`);
}
