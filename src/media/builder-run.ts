import type { ExecOptions, RunningContainer } from '../engine/container.js';
import { JobError } from '../errors.js';

/** Runs `cmd` in the builder; a failure is one JobError with the command's last lines. */
export async function run(
  container: RunningContainer,
  what: string,
  cmd: string[],
  options: ExecOptions = {},
): Promise<string> {
  const result = await container.exec(cmd, options);
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new JobError(`${what} failed in the builder (exit ${result.exitCode}):\n${tail}`);
  }
  return result.stdout;
}
