import type { Stage } from '../../steps/stages.js';
import type { Step, StepConditions, StepContext } from '../../steps/types.js';

/**
 * One of lifeboat's own steps. The numbers leave room for site steps in between (ReaR's
 * convention: 0xx prepare, 1xx-8xx work, 9xx finish).
 */
export function builtinStep(
  stage: Stage,
  order: number,
  name: string,
  run: (ctx: StepContext) => Promise<void>,
  when: StepConditions = {},
): Step {
  return { stage, order, name, origin: 'built-in', when, run };
}
