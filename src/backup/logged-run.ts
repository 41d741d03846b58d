import { execa } from 'execa';
import type { Log } from '../log/log.js';

/**
 * Runs a backup client (the site's command, dsmc, recover, savefs) as its arguments, without a
 * shell: every line it prints goes to the log as it comes, the last few are kept for the one
 * sentence a failure becomes, and the whole output is returned for the methods that parse it.
 */
export interface LoggedRun {
  /** undefined when a signal ended it (see `signal`), or it could not be started (`missing`). */
  exitCode: number | undefined;
  signal: string | undefined;
  /** The program is not there (ENOENT). */
  missing: boolean;
  canceled: boolean;
  /** Every line, stdout and stderr as they interleaved, when `collect` asked for them. */
  lines: string[];
  /** The last non-blank line, for a message. */
  last: string | undefined;
}

export async function runLogged(
  program: string,
  args: readonly string[],
  options: {
    log: Log;
    env?: Record<string, string>;
    /** The directory it runs in (restic names a relative target so). */
    cwd?: string;
    signal?: AbortSignal;
    /** What the log line of the command names (external.backup); its output lines name the program. */
    what?: string;
    /** Keep every line for the caller (a listing to parse); a restore's thousands are not kept. */
    collect?: boolean;
  },
): Promise<LoggedRun> {
  const { log } = options;
  log.debug(`${options.what ?? program}: ${[program, ...args].join(' ')}`);
  const child = execa(program, args, {
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: 'ignore',
    all: true,
    reject: false,
    buffer: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  const lines: string[] = [];
  let last: string | undefined;
  let pending = '';
  const said = (line: string) => {
    log.debug(`${program}: ${line}`);
    if (options.collect) lines.push(line);
    if (line.trim() !== '') last = line;
  };
  child.all?.setEncoding('utf8');
  child.all?.on('data', (text: string) => {
    const parts = (pending + text).split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) said(line);
  });
  const done = await child;
  if (pending !== '') said(pending);
  return {
    exitCode: done.exitCode,
    signal: done.signal,
    missing: done.code === 'ENOENT',
    canceled: done.isCanceled,
    lines,
    last,
  };
}
