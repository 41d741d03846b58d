import type { Config } from '../config/schema.js';
import type { RunningContainer } from '../engine/container.js';
import { JobError } from '../errors.js';

/** How many of a step's last output lines a failure shows. */
const TAIL_LINES = 20;

/**
 * Runs one of the builder image's steps (images/<image>/steps/, installed in /usr/lib/lifeboat/)
 * with an argument array. A failure is a JobError that names `what`, shows the step's last lines
 * (the steps write everything to stderr, in order; stdout only for a tool that slips) and, when
 * the step is missing from the image, says to rebuild it.
 */
export async function runBuilderStep(
  container: RunningContainer,
  script: string,
  args: readonly string[],
  what: string,
  timeoutMs: number,
): Promise<void> {
  const result = await container.exec([script, ...args], { timeoutMs });
  if (result.exitCode === 0) return;
  const tail = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-TAIL_LINES);
  const output = tail.length > 0 ? `\nLast lines of output:\n  ${tail.join('\n  ')}` : '';
  const name = script.split('/').at(-1);
  const missing = result.exitCode === 126 || result.exitCode === 127;
  throw new JobError(`${what} failed (${name} exited with code ${result.exitCode}).${output}`, {
    hint: missing
      ? `The builder image has no ${script}: rebuild it (\`lifeboat doctor\` checks it).`
      : 'The full output is in the log file (--verbose shows it).',
  });
}

/**
 * The boot menu's arguments every step that writes a menu takes (make-pxe, make-rawdisk): the
 * default entry, the timeout, the extra kernel words, the serial console.
 */
export function menuArguments(config: Config): string[] {
  return [
    '--default',
    config.boot.default,
    '--timeout',
    String(config.boot.timeout),
    '--cmdline',
    config.kernel.cmdline,
    ...(config.boot.serialConsole ? ['--serial'] : []),
  ];
}
