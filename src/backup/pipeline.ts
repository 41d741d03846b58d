import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * A chain of programs, each one's stdout the next one's stdin (tar | zstd | gpg). The pipes are
 * handed from child to child by the kernel: Node never copies the archive between them, only at
 * the two ends it owns (the first stdin, the last stdout). Argument arrays only, never a shell.
 */
export interface ChainProgram {
  program: string;
  args: readonly string[];
  /** Bytes written on fd 3 and then closed: how gpg gets its passphrase (never argv or env). */
  fd3?: string;
  cwd?: string;
}

export interface ChainEnds {
  /** The first program's stdin, when `input` was 'pipe'. */
  stdin: Writable | null;
  /** The last program's stdout, when `output` was 'pipe'. */
  stdout: Readable | null;
  /** Every program's exit, in chain order; never rejects. */
  done: Promise<ProgramExit[]>;
  /** Stop them all (SIGTERM). */
  kill(): void;
}

export interface ProgramExit {
  program: string;
  /** -1 when it could not be started or was killed by a signal. */
  code: number;
  /** The last few whole lines it wrote on stderr. */
  stderr: string;
}

export interface ChainOptions {
  /**
   * The first program's stdin: a pipe this process writes, nothing, or an open file descriptor it
   * reads by itself (a file on this machine: no byte of it passes through Node).
   */
  input: 'pipe' | 'ignore' | number;
  output: 'pipe' | 'ignore';
  /**
   * Every line each program writes on stderr, as it comes: the log file keeps them all, where
   * ProgramExit.stderr holds only the last few.
   */
  stderrLine?: (program: string, line: string) => void;
}

const STDERR_KEEP = 4096;

/** ChainOptions.stderrLine for a run's log: every line, in full, in the log file. */
export function stderrToLog(log: Log): (program: string, line: string) => void {
  return (program, line) =>
    log.debug(line.startsWith(`${program}: `) ? line : `${program}: ${line}`);
}

export function startChain(programs: readonly ChainProgram[], ends: ChainOptions): ChainEnds {
  const children: ChildProcess[] = [];
  const exits: Promise<ProgramExit>[] = [];
  let previous: Readable | null = null;
  programs.forEach((p, index) => {
    const last = index === programs.length - 1;
    const stdin = index === 0 ? ends.input : (previous as Readable);
    const stdout = last ? ends.output : 'pipe';
    const child = spawn(p.program, [...p.args], {
      cwd: p.cwd,
      stdio: p.fd3 === undefined ? [stdin, stdout, 'pipe'] : [stdin, stdout, 'pipe', 'pipe'],
      // The C locale: messages we match (gpg's, tar's) read the same on every machine.
      env: { ...process.env, LC_ALL: 'C' },
    });
    children.push(child);
    if (p.fd3 !== undefined) {
      const fd3 = child.stdio[3] as Writable;
      fd3.on('error', () => undefined);
      fd3.end(`${p.fd3}\n`);
    }
    exits.push(exitOf(p.program, child, ends.stderrLine));
    // The parent's copy of the pipe between two children is closed, so the reader sees EOF when
    // the writer exits (and the writer sees EPIPE when the reader has gone).
    if (index > 0 && previous) previous.destroy();
    previous = last ? null : child.stdout;
    if (!last && child.stdout) child.stdout.pause();
  });
  const stdin = ends.input === 'pipe' ? (children[0]?.stdin ?? null) : null;
  stdin?.on('error', () => undefined);
  return {
    stdin,
    stdout: ends.output === 'pipe' ? (children.at(-1)?.stdout ?? null) : null,
    done: Promise.all(exits),
    kill: () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

function exitOf(
  program: string,
  child: ChildProcess,
  stderrLine: ChainOptions['stderrLine'],
): Promise<ProgramExit> {
  let stderr = '';
  let partial = '';
  // Decoded as a stream: a character split between two reads stays one character.
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
    if (stderr.length > STDERR_KEEP) {
      // Whole lines only: a line cut in half at the front would read as another message.
      const cut = stderr.indexOf('\n', stderr.length - STDERR_KEEP);
      stderr = cut < 0 ? stderr.slice(-STDERR_KEEP) : stderr.slice(cut + 1);
    }
    if (stderrLine) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      // A program that never ends its line must not grow this without bound.
      if (partial.length > STDERR_KEEP) {
        lines.push(partial);
        partial = '';
      }
      for (const line of lines) if (line.trim() !== '') stderrLine(program, line);
    }
  });
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ program, code: -1, stderr: error.message }));
    child.on('close', (code) => {
      if (stderrLine && partial.trim() !== '') stderrLine(program, partial);
      resolve({ program, code: code ?? -1, stderr: stderr.trim() });
    });
  });
}

/** The last line a program wrote on stderr, for a one-sentence message. */
export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

/**
 * Lines that say only that an earlier line said why ("Exiting with failure status due to
 * previous errors"), or that tar did what it always does: never the reason a user needs.
 */
const NOT_A_REASON = [
  /Exiting with failure status due to previous errors/,
  /Error is not recoverable: exiting now/,
  /Removing leading .* from (member names|hard link targets)/,
];

const REASON_LINES = 3;
const REASON_LINE_CHARS = 300;

/**
 * Why a program failed, in its own words, for a one-sentence message: its last few meaningful
 * stderr lines without the "tar: " in front, joined with "; ".
 */
export function stderrReason(program: string, text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const meaningful = lines.filter((l) => !NOT_A_REASON.some((pattern) => pattern.test(l)));
  const chosen = (meaningful.length > 0 ? meaningful : lines)
    .slice(-REASON_LINES)
    .map((l) => (l.startsWith(`${program}: `) ? l.slice(program.length + 2) : l))
    .map((l) => (l.length > REASON_LINE_CHARS ? `${l.slice(0, REASON_LINE_CHARS)}...` : l));
  return [...new Set(chosen)].join('; ');
}

/** A program of a chain that failed, as one sentence: what could not be done, and its reason. */
export function chainFailure(what: string, exit: ProgramExit): JobError {
  const said = stderrReason(exit.program, exit.stderr);
  return new JobError(
    `${what}: ${exit.program} ${exit.code < 0 ? 'did not run' : `exited ${exit.code}`}${said ? ` (${said})` : ''}`,
  );
}
