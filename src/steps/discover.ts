import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suggest } from '../config/explain.js';
import { errorMessage, JobError } from '../errors.js';
import { parseConditionHeader } from './conditions.js';
import { runShellStep } from './shell-step.js';
import { ALL_STAGES } from './stages.js';
import type { Step, StepContext } from './types.js';

/**
 * User steps: files named NNN_name.sh or NNN_name.mjs in <dir>/<stage>/, for each step
 * directory (/etc/lifeboat/steps, then those in steps.dirs). Anything else found there is
 * reported, not silently ignored: a misnamed step that never runs is a nasty surprise.
 */
const STEP_FILE = /^(\d{3})_([A-Za-z0-9][A-Za-z0-9_.-]*)\.(sh|mjs)$/;

export interface Discovered {
  steps: Step[];
  warnings: string[];
}

export function discoverUserSteps(dirs: readonly { dir: string; required: boolean }[]): Discovered {
  const steps: Step[] = [];
  const warnings: string[] = [];
  for (const { dir, required } of dirs) {
    if (!existsSync(dir)) {
      if (required) warnings.push(`step directory ${dir} does not exist (named in steps.dirs)`);
      continue;
    }
    for (const stage of readdirSync(dir).sort()) {
      const stageDir = join(dir, stage);
      if (!statSync(stageDir).isDirectory()) continue;
      if (!(ALL_STAGES as readonly string[]).includes(stage)) {
        const close = suggest(stage, ALL_STAGES);
        warnings.push(
          `${stageDir}: not a stage, its steps never run${close ? ` (did you mean "${close}"?)` : ''}; stages: ${ALL_STAGES.join(', ')}`,
        );
        continue;
      }
      for (const file of readdirSync(stageDir).sort()) {
        const path = join(stageDir, file);
        const match = STEP_FILE.exec(file);
        if (!match) {
          warnings.push(
            `${path}: ignored; a step file is named NNN_name.sh or NNN_name.mjs (NNN: three digits)`,
          );
          continue;
        }
        const [, order = '', name = '', kind] = match;
        steps.push({
          stage,
          order: Number(order),
          name,
          origin: path,
          when: parseConditionHeader(readFileSync(path, 'utf8'), path),
          run: kind === 'sh' ? (ctx) => runShellStep(path, ctx) : (ctx) => runModuleStep(path, ctx),
        });
      }
    }
  }
  return { steps, warnings };
}

/** An .mjs step exports a default (async) function taking the step context. */
async function runModuleStep(path: string, ctx: StepContext): Promise<void> {
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new JobError(`${path}: could not be loaded: ${errorMessage(error)}`);
  }
  if (typeof module.default !== 'function') {
    throw new JobError(
      `${path}: does not export a default function (export default async function (ctx) {...})`,
    );
  }
  await module.default(ctx);
}
