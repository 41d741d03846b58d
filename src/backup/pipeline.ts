import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

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
  /** The last few lines it wrote on stderr. */
  stderr: string;
}

const STDERR_KEEP = 4096;

export function startChain(
  programs: readonly ChainProgram[],
  ends: { input: 'pipe' | 'ignore'; output: 'pipe' | 'ignore' },
): ChainEnds {
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
    exits.push(exitOf(p.program, child));
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

function exitOf(program: string, child: ChildProcess): Promise<ProgramExit> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ program, code: -1, stderr: error.message }));
    child.on('close', (code) => resolve({ program, code: code ?? -1, stderr: stderr.trim() }));
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
