/**
 * The two kinds of failure a user can see, and the exit codes they map to.
 *
 *   0  the job succeeded
 *   1  the job failed (an engine that does not answer, a build that broke, a step that exited non-zero)
 *   2  usage or configuration error (bad flag, bad config file, unknown key): nothing was run
 *
 * Anything else that escapes is a bug in lifeboat and is reported as one (exit 1, with the log path).
 */
export abstract class LifeboatError extends Error {
  abstract readonly exitCode: 1 | 2;
  /** One sentence telling the user what to do about it. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** A bad flag, a bad configuration file, an unknown key. Exit code 2; nothing else runs. */
export class UsageError extends LifeboatError {
  readonly exitCode = 2 as const;
}

/** The job itself failed. Exit code 1. */
export class JobError extends LifeboatError {
  readonly exitCode = 1 as const;
}

export const ExitCode = { ok: 0, jobFailed: 1, usage: 2 } as const;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
