import { once } from 'node:events';
import { type Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Tracked } from './container-registry.js';
import { type Engine, engineError } from './engine.js';

/** Commands run beside a container's main process, and the plumbing of their streams. */

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Readonly<Record<string, string>>;
  workingDir?: string;
  user?: string;
  /**
   * Fed to the command's stdin, which is then closed. No stdin when unset. A function is called
   * once the command runs, for a stream that must not be opened before: the engine holds a
   * container's lock while it streams an archive out of it (getArchive), and creating an exec in
   * that container waits for the lock, so an archive of the same container piped into an exec
   * must be opened after the exec has started, or both wait for ever.
   */
  stdin?: string | Buffer | Readable | (() => Promise<Readable>);
  /** Fail after this long (the command itself goes when its container is removed). */
  timeoutMs?: number;
}

/** How long output may still trail in after the engine says the process has ended. */
export const STREAM_GRACE_MS = 2_000;

export async function execIn(
  { engine, container }: Tracked,
  cmd: string[],
  options: ExecOptions,
  log: Log,
): Promise<CommandResult> {
  const label = commandLabel(cmd);
  const withStdin = options.stdin !== undefined;
  let exec: Docker.Exec;
  let stream: NodeJS.ReadWriteStream;
  try {
    exec = await container.exec({
      Cmd: cmd,
      Env: toEnv(options.env),
      WorkingDir: options.workingDir,
      User: options.user,
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    // Hijacked: a raw two-way connection, the only way to give the command a stdin.
    stream = await exec.start({ hijack: true, stdin: withStdin });
  } catch (error) {
    throw engineError(engine, error, `to run ${label} in container ${container.id.slice(0, 12)}`);
  }
  log.debug(`[${label}] exec in container ${container.id.slice(0, 12)}`);
  const output = collectOutput(engine, stream, label, log);
  // Settles only if feeding stdin fails: then the command would wait for an end of file.
  const stdinFailed = feedStdin(stream, options.stdin);
  stdinFailed.catch(() => undefined); // raced below; never an unhandled rejection

  // The exec's stream does not always end when the command does, so its end is only a cue: the
  // engine's own record (Running false with an ExitCode) is what says the command is finished.
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let delay = 25;
  let exitCode: number | undefined;
  while (exitCode === undefined) {
    if (Date.now() >= deadline) {
      output.abandon();
      throw new JobError(`${label} did not finish within ${seconds(options.timeoutMs)}.`);
    }
    try {
      await within(
        Promise.race([output.ended, stdinFailed]),
        Math.min(delay, deadline - Date.now()),
      );
    } catch (error) {
      output.abandon();
      throw error;
    }
    delay = Math.min(delay * 2, 1_000);
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (error) {
      output.abandon();
      throw engineError(engine, error, `to report on ${label}`);
    }
    // Before the engine has started the process, Running is false and ExitCode null.
    if (!info.Running && info.ExitCode !== null) exitCode = info.ExitCode;
  }
  const { stdout, stderr } = await output.finish(STREAM_GRACE_MS);
  log.debug(`[${label}] exited with code ${exitCode}`);
  return { exitCode, stdout, stderr };
}

/**
 * Sends `stdin` to the command; ending our side of the connection is how the command sees end of
 * file. The promise never resolves: it rejects when the source fails (its error is the command's
 * error, as with a shell pipeline whose first stage failed).
 */
function feedStdin(stream: NodeJS.ReadWriteStream, stdin: ExecOptions['stdin']): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (stdin === undefined) return;
    if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
      stream.end(stdin);
      return;
    }
    const source = typeof stdin === 'function' ? stdin() : Promise.resolve(stdin);
    source.then((readable) => {
      readable.once('error', reject);
      readable.pipe(stream);
    }, reject);
  });
}

interface OutputCollection {
  /** Resolves when the engine's stream ends (it may never). */
  ended: Promise<void>;
  /** Waits up to `graceMs` for the stream to end, then returns everything received. */
  finish(graceMs: number): Promise<{ stdout: string; stderr: string }>;
  /** Drops the connection. */
  abandon(): void;
}

/** Splits the engine's multiplexed stream into stdout and stderr, logging lines as they come. */
export function collectOutput(
  engine: Engine,
  stream: NodeJS.ReadWriteStream,
  label: string,
  log: Log,
): OutputCollection {
  const stdout = new LineCollector((line) => log.debug(`[${label}] ${line}`));
  const stderr = new LineCollector((line) => log.debug(`[${label} stderr] ${line}`));
  engine.docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    // A broken connection ends the output too; the exit code still comes from the engine.
    stream.once('error', () => resolve());
  });
  const abandon = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  return {
    ended,
    abandon,
    async finish(graceMs) {
      await within(ended, graceMs);
      abandon();
      return { stdout: await stdout.close(), stderr: await stderr.close() };
    },
  };
}

/** Keeps every byte (decoded once at the end, so multi-byte characters are never split). */
class LineCollector extends Writable {
  private readonly chunks: Buffer[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    this.lines(this.decoder.write(chunk));
    callback();
  }

  override _final(callback: () => void): void {
    this.lines(this.decoder.end());
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
    callback();
  }

  async close(): Promise<string> {
    if (!this.writableFinished) {
      this.end();
      await once(this, 'finish');
    }
    return Buffer.concat(this.chunks).toString('utf8');
  }

  private lines(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.onLine(line.replace(/\r$/, ''));
  }
}

/** `KEY=value` strings, as the engine takes a container's or a command's environment. */
export function toEnv(env: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => {
    if (key === '' || key.includes('=')) throw new Error(`bad environment variable name: ${key}`);
    return `${key}=${value}`;
  });
}

/** The program's name, without its directory: what log lines and errors call the command. */
export function commandLabel(cmd: readonly string[]): string {
  const first = cmd[0] ?? '?';
  return first.slice(first.lastIndexOf('/') + 1);
}

export function seconds(ms: number | undefined): string {
  return `${Math.round((ms ?? 0) / 1000)} s`;
}

/**
 * `promise`'s value, or 'timeout' after `ms` (never, when undefined). The timer is cleared either
 * way: a pending timer would keep lifeboat alive after its work is done.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number | undefined,
): Promise<T | 'timeout'> {
  if (ms === undefined || ms === Infinity) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
