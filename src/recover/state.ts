import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What a recovery has done so far, in a small JSON file of the rescue system
 * (paths.workDir/recover/state.json, /var/lib/lifeboat for root), so that a rerun after a
 * failure or a power cut can say what it redoes. Redoing is always safe: the recreate script
 * skips what exists, the restore overwrites, finalize is idempotent; the file informs, it does
 * not skip work.
 */
export interface RecoverState {
  format: 'lifeboat.recover-state/v1';
  mode: string;
  /** Where it restores: a run onto another target is another recovery. */
  target: string;
  /** When the first run of this recovery started (ISO 8601). */
  started: string;
  runs: number;
  backupId?: string;
  /** Stage → when it completed. */
  done: Record<string, string>;
  /** When the recovery finished (a later run is a new recovery). */
  completed?: string;
  /** The last failure, if the last run failed. */
  failed?: { stage: string; message: string; at: string };
}

export const STATE_FORMAT = 'lifeboat.recover-state/v1';

export async function readState(file: string): Promise<RecoverState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as RecoverState;
    return state?.format === STATE_FORMAT ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Atomically: a power cut leaves the old state or the new one, never half a file. */
export async function writeState(file: string, state: RecoverState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.partial-${process.pid}`;
  await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, file);
}

/** The state for this run: the earlier one continued (same mode and target), or a fresh one. */
export function continueState(
  earlier: RecoverState | undefined,
  mode: string,
  target: string,
  now: Date,
): { state: RecoverState; rerun: string | undefined } {
  if (
    earlier === undefined ||
    earlier.mode !== mode ||
    earlier.target !== target ||
    earlier.completed !== undefined
  ) {
    return {
      state: { format: STATE_FORMAT, mode, target, started: now.toISOString(), runs: 1, done: {} },
      rerun: undefined,
    };
  }
  const done = Object.keys(earlier.done);
  const why = earlier.failed
    ? `the last run failed in ${earlier.failed.stage} (${earlier.failed.message})`
    : 'an earlier run did not finish';
  const rerun = `${mode} run ${earlier.runs + 1}: ${why}; ${
    done.length > 0 ? `redoing ${done.join(', ')} (safe: each is idempotent)` : 'nothing was done'
  }`;
  const { failed: _failed, ...rest } = earlier;
  return { state: { ...rest, runs: earlier.runs + 1 }, rerun };
}
