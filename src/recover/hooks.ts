import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * recovery.preScripts and recovery.postScripts: the administrator's own shell commands, from the
 * configuration, each run with `bash -c` and an environment naming the target. A failing one
 * stops the recovery with its exit code; the recovery state is kept, so a rerun goes on.
 * stdin is closed: an unattended recovery must have nothing that waits on a terminal.
 */
export async function runHooks(
  kind: 'preScripts' | 'postScripts',
  commands: readonly string[],
  env: Record<string, string>,
  log: Log,
): Promise<number> {
  for (const [i, command] of commands.entries()) {
    const name = `recovery.${kind}[${i}]`;
    log.debug(`${name}: bash -c ${command}`);
    const result = await execa('bash', ['-c', command], {
      reject: false,
      all: true,
      stdin: 'ignore',
      env,
    });
    for (const line of String(result.all ?? '').split('\n'))
      if (line !== '') log.info(`${name}: ${line}`);
    if (result.exitCode !== 0) {
      const how =
        result.exitCode === undefined
          ? `was killed (${result.signal ?? 'signal'})`
          : `exited ${result.exitCode}`;
      throw new JobError(`${name} ${how}: ${command}`, {
        hint: 'Fix the hook (or the cause it reports) and run the recovery again; what was done is kept.',
      });
    }
  }
  return commands.length;
}
