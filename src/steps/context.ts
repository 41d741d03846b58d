import { layerOperations, type Origin, schemaAt } from '../config/layer.js';
import type { EffectiveConfig } from '../config/load.js';
import { applyOperations, type Merged } from '../config/merge.js';
import { rearName } from '../config/rear-names.js';
import { assignmentLayer, parseAssignment } from '../config/sources.js';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { READ_ONLY_VARIABLES } from './environment.js';
import type { StepContext, StepDirs } from './types.js';

/**
 * What all steps of one run share: the configuration (which steps may change, through set()),
 * the variables they pass on, and the results of built-in steps.
 */
export interface RunState {
  workflow: string;
  effective: EffectiveConfig;
  dirs: StepDirs;
  log: Log;
  vars: Map<string, string>;
  results: Map<string, unknown>;
  signal: AbortSignal;
}

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Applies "NAME=VALUE", "NAME+=VALUE" or "NAME-=VALUE" from a step. NAME is a ReaR name
 * (PROGS), a lifeboat key (rescue.programs) or a variable of the step's own (MY_VAR). Config
 * values are validated exactly like a configuration file's, and recorded as coming from the step.
 */
export function applyAssignment(state: RunState, assignment: string, source: string): void {
  const parsed = parseAssignment(assignment.trim());
  if (!parsed) {
    throw new JobError(`${source}: "${assignment}" is not NAME=VALUE, NAME+=VALUE or NAME-=VALUE`);
  }
  const kind = parsed.rawKey.endsWith('+') ? '+' : parsed.rawKey.endsWith('-') ? '-' : '';
  const name = kind ? parsed.rawKey.slice(0, -1) : parsed.rawKey;
  if ((READ_ONLY_VARIABLES as readonly string[]).includes(name)) {
    throw new JobError(`${source}: ${name} is read-only; steps cannot change it`);
  }
  const key = rearName(name)?.key ?? (schemaAt(name.split('.')) ? name : undefined);
  if (key) {
    const origin: Origin = { layer: 'step', source };
    const merged: Merged = {
      values: state.effective.config as unknown as Record<string, unknown>,
      origins: state.effective.origins,
    };
    applyOperations(
      merged,
      layerOperations(assignmentLayer(`${key}${kind}`, parsed.value), origin),
    );
    return;
  }
  if (!VARIABLE.test(name)) {
    throw new JobError(`${source}: "${name}" is neither a configuration key nor a VARIABLE_NAME`);
  }
  const value = assignment.slice(assignment.indexOf('=') + 1);
  const lines = (state.vars.get(name) ?? '').split('\n').filter(Boolean);
  if (kind === '+') state.vars.set(name, [...lines, value].join('\n'));
  else if (kind === '-') state.vars.set(name, lines.filter((l) => l !== value).join('\n'));
  else state.vars.set(name, value);
}

export function stepContext(
  state: RunState,
  stage: string,
  output: (line: string) => void,
): StepContext {
  return {
    workflow: state.workflow,
    stage,
    facts: state.effective.facts,
    config: state.effective.config,
    effective: state.effective,
    dirs: state.dirs,
    log: state.log,
    vars: state.vars,
    results: state.results,
    signal: state.signal,
    set: (assignment, source) => applyAssignment(state, assignment, source),
    output,
  };
}
