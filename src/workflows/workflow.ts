import type { Config } from '../config/schema.js';
import type { RunState } from '../steps/context.js';
import type { Stage } from '../steps/stages.js';
import type { Step } from '../steps/types.js';

/**
 * A workflow: its stages, lifeboat's own steps for them, and what it checks before anything
 * runs. One module per workflow (src/workflows/<name>.ts); the runner (runner.ts) plans,
 * simulates and runs every one of them the same way, with the site's steps merged in.
 *
 * To add a workflow: write src/workflows/<name>.ts exporting a Workflow, and a CLI command that
 * turns its flags into a run of it (src/cli/commands/).
 */
export interface Workflow {
  /**
   * The name steps' `workflow` conditions match, and the one the plan shows (the rehearsal runs
   * as `recover`: a site step for recover runs in it too).
   */
  name: string;
  summary: string;
  stages: readonly Stage[];
  /** lifeboat's own steps; the runner keeps those of this workflow's stages. */
  steps: readonly Step[];
  /**
   * Everything about the configuration that can be refused before any work (unknown outputs,
   * an unsupported backup method): throws a UsageError, exit 2, with nothing run or built.
   */
  check(config: Config): void;
  /** Runs after the steps, whatever their outcome: `failure` is the error, or undefined. */
  finish?(state: RunState, failure: unknown): Promise<void>;
}
