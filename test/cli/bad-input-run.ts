import { rmSync } from 'node:fs';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import type { BadInputCase, CaseBox } from './bad-input-cases.js';

/** What lifeboat did for one case, with the sandbox's paths put back to placeholders. */
export interface Observation {
  exitCode: number | undefined;
  stderr: string;
  /** stdout and stderr interleaved, as a terminal shows them. */
  all: string;
  /** The line that says what went wrong, as docs/errors.md shows it. */
  said: string;
}

/** How the docs show a placeholder of BadInputCase.args. */
export const SHOWN_AS = { '{etc}': '/etc/lifeboat', '{dir}': '{dir}' } as const;

function fill(arg: string, box: { dir: string; etc: string }): string {
  return arg.replaceAll('{etc}', box.etc).replaceAll('{dir}', box.dir);
}

/**
 * Runs one case in a sandbox of its own (its own /etc/lifeboat, log and work directories, so
 * nothing touches the machine's), then removes the sandbox.
 */
export async function observe(kase: BadInputCase): Promise<Observation> {
  const box = sandbox();
  // Global options go before the command, so a case's own args stay exactly what a user typed
  // (`dump --root` must not take the sandbox's --set as its value).
  const run = (args: string[]) =>
    lifeboat([...box.sets, ...args.map((arg) => fill(arg, box))], { env: box.env });
  const caseBox: CaseBox = {
    dir: box.dir,
    etc: box.etc,
    ok: async (args) => {
      const result = await run(args);
      if (result.exitCode !== 0)
        throw new Error(`setup of "${kase.title}": lifeboat ${args.join(' ')}:\n${result.all}`);
    },
  };
  try {
    await kase.setup?.(caseBox);
    const result = await run(kase.args);
    // The sandbox's etc lies inside its dir: put it back first.
    const stable = (text: string) =>
      text
        .replaceAll(box.etc, SHOWN_AS['{etc}'])
        .replaceAll(box.dir, SHOWN_AS['{dir}'])
        .replaceAll(ROOT.replace(/\/$/, ''), '{lifeboat}');
    const stderr = stable(result.stderr);
    return { exitCode: result.exitCode, stderr, all: stable(result.all), said: saidLine(stderr) };
  } finally {
    rmSync(box.dir, { recursive: true, force: true });
  }
}

/** The message line: progress lines (task view) come before it on stderr. */
function saidLine(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim());
  return (
    lines.find((line) => line.startsWith('lifeboat: ') || line.startsWith('error: ')) ??
    lines.find((line) => line !== '') ??
    ''
  );
}

/** What is wrong with an observation, for the case's expectations; empty when nothing is. */
export function problemsWith(kase: BadInputCase, seen: Observation): string[] {
  const problems: string[] = [];
  if (seen.exitCode !== kase.exitCode)
    problems.push(`exit code ${seen.exitCode}, expected ${kase.exitCode}`);
  const says =
    typeof kase.says === 'string' ? seen.stderr.includes(kase.says) : kase.says.test(seen.stderr);
  if (!says) problems.push(`stderr does not say ${String(kase.says)}`);
  if (/^ {4}at /m.test(seen.all)) problems.push('the output holds a stack trace');
  if (/internal error/i.test(seen.all)) problems.push('the output says "internal error"');
  if (seen.said === '') problems.push('nothing was said on stderr');
  return problems;
}

/** Observes every case, two at a time (the machine has two cores; each run is one Node process). */
export async function observeAll(cases: BadInputCase[]): Promise<Map<BadInputCase, Observation>> {
  const seen = new Map<BadInputCase, Observation>();
  const queue = [...cases];
  const worker = async () => {
    for (let kase = queue.shift(); kase !== undefined; kase = queue.shift())
      seen.set(kase, await observe(kase));
  };
  await Promise.all([worker(), worker()]);
  return seen;
}
