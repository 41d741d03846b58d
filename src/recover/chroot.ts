import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * Runs a program of the restored system inside it (chroot), stdin closed (nothing may wait on a
 * terminal), its output to the log. A failure is a JobError naming what was being done.
 */
export async function inChroot(
  root: string,
  what: string,
  argv: readonly string[],
  log: Log,
  options: { reject?: boolean; timeoutMs?: number } = {},
): Promise<{ exitCode: number; output: string }> {
  log.debug(`${what}: chroot ${root} ${argv.join(' ')}`);
  const result = await execa('chroot', [root, ...argv], {
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    extendEnv: false,
    timeout: options.timeoutMs ?? 20 * 60_000,
  });
  const output = String(result.all ?? '');
  for (const line of output.split('\n')) if (line !== '') log.debug(`  ${line}`);
  const exitCode = result.exitCode ?? 1;
  if (exitCode !== 0 && options.reject !== false) {
    const tail = output.trim().split('\n').slice(-8).join('\n');
    throw new JobError(`${what} failed (exit ${exitCode}): ${argv.join(' ')}\n${tail}`, {
      hint: 'The log has its full output; fix the cause and run lifeboat recover again.',
    });
  }
  return { exitCode, output };
}
