import type { HostFacts } from '../config/facts.js';
import type { Config } from '../config/schema.js';
import { conditionsMatch, describeConditions } from './conditions.js';
import { ALWAYS_RUN_STAGES } from './stages.js';
import type { Step } from './types.js';

/**
 * The plan: the workflow's stages, each with its steps in run order. Steps are merged from all
 * sources and sorted by number, then name (byte order), whatever directory they came from. A
 * step with the same stage, number and name as an earlier one replaces it: that is how a site
 * overrides a built-in step.
 */
export interface PlannedStep extends Step {
  /** The origin of the step this one replaced. */
  replaces?: string;
}

export interface StagePlan {
  stage: string;
  alwaysRuns: boolean;
  steps: PlannedStep[];
  /** Steps whose conditions do not match this host and configuration. */
  notApplicable: PlannedStep[];
}

/** What the planner needs of a workflow (src/workflows/workflow.ts has the whole of it). */
export interface PlannedWorkflow {
  name: string;
  stages: readonly string[];
}

export interface Plan {
  workflow: PlannedWorkflow;
  stages: StagePlan[];
}

export const stepId = (step: Pick<Step, 'order' | 'name'>) =>
  `${String(step.order).padStart(3, '0')}_${step.name}`;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** `sources` in precedence order: built-in steps first, then each step directory's. */
export function planWorkflow(
  workflow: PlannedWorkflow,
  sources: readonly Step[][],
  facts: HostFacts,
  config: Config,
): Plan {
  const merged = new Map<string, PlannedStep>();
  for (const steps of sources) {
    for (const step of steps) {
      if (!workflow.stages.includes(step.stage)) continue;
      // A step of another workflow is not part of this one at all (not "not applicable").
      if (step.when.workflow && !step.when.workflow.includes(workflow.name)) continue;
      const key = `${step.stage}/${stepId(step)}`;
      const earlier = merged.get(key);
      merged.set(key, earlier ? { ...step, replaces: earlier.origin } : { ...step });
    }
  }
  const all = [...merged.values()].sort((a, b) => a.order - b.order || byteOrder(a.name, b.name));
  return {
    workflow,
    stages: workflow.stages.map((stage) => {
      const inStage = all.filter((s) => s.stage === stage);
      return {
        stage,
        alwaysRuns: ALWAYS_RUN_STAGES.has(stage),
        steps: inStage.filter((s) => conditionsMatch(s.when, facts, config)),
        notApplicable: inStage.filter((s) => !conditionsMatch(s.when, facts, config)),
      };
    }),
  };
}

/** What --simulate prints: every step in run order, where it comes from, and what it replaces. */
export function formatPlan(plan: Plan): string {
  const rows: string[][] = [];
  const skipped: string[][] = [];
  for (const stage of plan.stages) {
    for (const step of stage.steps) {
      const notes = [
        describeConditions(step.when) && `when ${describeConditions(step.when)}`,
        step.replaces && `replaces ${step.replaces}`,
        stage.alwaysRuns && 'runs even after a failure',
      ].filter(Boolean);
      rows.push([stage.stage, stepId(step), step.origin, notes.join('; ')]);
    }
    for (const step of stage.notApplicable) {
      skipped.push([
        stage.stage,
        stepId(step),
        step.origin,
        `needs ${describeConditions(step.when)}`,
      ]);
    }
  }
  const table = (lines: string[][]) => {
    const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
    return lines.map((l) =>
      `  ${l.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}`.trimEnd(),
    );
  };
  const out = [
    `${plan.workflow.name}: ${rows.length} step(s) would run, in this order (--simulate: nothing was run)`,
    ...(rows.length ? table(rows) : ['  (no steps)']),
  ];
  if (skipped.length) out.push('not applicable to this host and configuration:', ...table(skipped));
  return `${out.join('\n')}\n`;
}
