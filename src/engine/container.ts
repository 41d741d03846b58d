import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { isAbsolute } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import type { Pack } from 'tar-stream';
import { errorMessage, JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { runInterruptCleanups } from '../util/exit-cleanup.js';
import { type Engine, engineError, statusCode } from './engine.js';

/**
 * Work runs in short-lived containers that must never outlive lifeboat: every container carries
 * this process's owner label and sits in a registry until it is removed, so a failure, a throw or
 * Ctrl-C removes it, and a leak test (or `lifeboat doctor`) can find any that escaped.
 */

export const OWNER_LABEL = 'org.lifeboat.owner';

/** Unique to this process (pid alone repeats across machines and reboots). */
export const RUN_ID = `lifeboat-${process.pid}-${randomBytes(6).toString('hex')}`;

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ContainerOptions {
  engine: Engine;
  image: string;
  /** The container's main process. startContainer defaults to an idle one that exec() runs beside. */
  cmd?: string[];
  /** `HOST:CONTAINER[:OPTIONS]`; HOST must be absolute (a bare name would make a named volume). */
  binds?: string[];
  env?: Readonly<Record<string, string>>;
  workingDir?: string;
  user?: string;
  log: Log;
  labels?: Readonly<Record<string, string>>;
}

export interface RunContainerOptions extends ContainerOptions {
  cmd: string[];
  /** Kill the container and fail after this long. No limit when unset. */
  timeoutMs?: number;
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

/**
 * A tar archive: a Buffer, a Node stream, an async iterable of bytes, or tar-stream's pack (a
 * streamx stream: iterable at run time, though its typings don't say so).
 */
export type TarSource = Buffer | Readable | AsyncIterable<Uint8Array> | Pack;

export interface RunningContainer {
  readonly id: string;
  exec(cmd: string[], options?: ExecOptions): Promise<CommandResult>;
  /** Extracts a tar archive into `dir`, creating `dir` first. */
  putArchive(dir: string, tar: TarSource): Promise<void>;
  /** A tar archive of `path` (a file or a directory) in the container. */
  getArchive(path: string): Promise<Readable>;
  /** Force-removes the container; safe to call twice. */
  remove(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The registry of containers this process made and has not removed yet.

interface Tracked {
  engine: Engine;
  container: Docker.Container;
}

const tracked = new Map<string, Tracked>();
/** Engines this process made containers on: swept by label when interrupted. */
const enginesUsed = new Set<Engine>();
/** Set once an interrupt starts cleaning up: a container created after that is removed at once. */
let interrupted = false;

/**
 * Force-removes every container this process still has registered. Never throws (it runs in
 * finally blocks, where an error would hide the one that matters): failures go to `log` and the
 * container stays registered for a later attempt.
 */
export async function removeTrackedContainers(log?: Log): Promise<void> {
  await Promise.all([...tracked.values()].map((entry) => removeQuietly(entry, log)));
}

/** Containers carrying `owner` as their owner label (this process's by default), running or not. */
export async function listContainersByLabel(
  engine: Engine,
  owner: string = RUN_ID,
): Promise<Docker.ContainerInfo[]> {
  try {
    return await engine.docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${owner}`] },
    });
  } catch (error) {
    throw engineError(engine, error, 'to list containers');
  }
}

let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined;

export interface InterruptCleanupOptions {
  log?: Log;
  /** For tests; process.exit otherwise. */
  exit?: (code: number) => void;
  /** Give up on the engine after this long and exit anyway. */
  timeoutMs?: number;
}

/**
 * On the first SIGINT or SIGTERM: run the registered cleanups (util/exit-cleanup.ts: staged
 * outputs), remove this process's containers, then exit 130 or 143 (the
 * shell's 128 + signal number). Installing twice is a no-op. The handlers are dropped as soon as
 * one fires, so a second Ctrl-C while the engine is slow kills lifeboat the default way.
 * Returns a function that uninstalls the handlers.
 */
export function installInterruptCleanup(options: InterruptCleanupOptions = {}): () => void {
  if (interruptHandler === undefined) {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const timeoutMs = options.timeoutMs ?? 15_000;
    const handler = (signal: NodeJS.Signals) => {
      uninstall();
      interrupted = true;
      options.log?.warn(`${signal}: removing this run's containers before exiting`);
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      runInterruptCleanups();
      Promise.race([sweepAll(options.log), giveUp]).finally(() => {
        clearTimeout(timer);
        exit(signal === 'SIGINT' ? 130 : 143);
      });
    };
    interruptHandler = handler;
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }
  return uninstall;
}

function uninstall(): void {
  if (interruptHandler === undefined) return;
  process.removeListener('SIGINT', interruptHandler);
  process.removeListener('SIGTERM', interruptHandler);
  interruptHandler = undefined;
}

/** The registry, and then anything labelled ours: a create whose answer never came is found too. */
async function sweepAll(log: Log | undefined): Promise<void> {
  await removeTrackedContainers(log);
  await Promise.all(
    [...enginesUsed].map(async (engine) => {
      try {
        const left = await listContainersByLabel(engine);
        await Promise.all(
          left.map((info) =>
            removeQuietly({ engine, container: engine.docker.getContainer(info.Id) }, log),
          ),
        );
      } catch (error) {
        log?.warn(`could not list leftover containers: ${errorMessage(error)}`);
      }
    }),
  );
}

async function removeQuietly(entry: Tracked, log: Log | undefined): Promise<void> {
  try {
    await removeContainer(entry);
  } catch (error) {
    log?.warn(
      `could not remove container ${entry.container.id.slice(0, 12)}: ${errorMessage(error)} (remove it with: docker rm -f ${entry.container.id.slice(0, 12)})`,
    );
  }
}

async function removeContainer({ engine, container }: Tracked): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    // 404: already gone. 409: a removal is already under way (another cleanup path got there).
    const code = statusCode(error);
    if (code !== 404 && code !== 409) throw engineError(engine, error, 'to remove a container');
  }
  tracked.delete(container.id);
}

// ---------------------------------------------------------------------------------------------
// Creating containers.

const IDLE_CMD = ['sleep', 'infinity'];

async function createTracked(options: ContainerOptions, cmd: string[]): Promise<Tracked> {
  const { engine } = options;
  for (const bind of options.binds ?? []) {
    const host = bind.split(':')[0] ?? '';
    if (!isAbsolute(host)) {
      throw new Error(`bind ${bind}: the host path must be absolute (else it names a volume)`);
    }
  }
  enginesUsed.add(engine);
  let container: Docker.Container;
  try {
    container = await engine.docker.createContainer({
      Image: options.image,
      Cmd: cmd,
      Env: toEnv(options.env),
      WorkingDir: options.workingDir,
      User: options.user,
      // The owner label goes last: a caller's labels cannot take it away.
      Labels: { ...options.labels, [OWNER_LABEL]: RUN_ID },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: { Binds: options.binds ?? [] },
    });
  } catch (error) {
    if (statusCode(error) === 404) {
      throw new JobError(
        `The image ${options.image} does not exist in the engine at ${engine.endpoint.description}.`,
        { hint: 'Builder images are made by lifeboat itself; `lifeboat doctor` checks them.' },
      );
    }
    throw engineError(engine, error, `to create a container from ${options.image}`);
  }
  const entry = { engine, container };
  tracked.set(container.id, entry);
  if (interrupted) {
    await removeQuietly(entry, options.log);
    throw new JobError('Interrupted.');
  }
  return entry;
}

function toEnv(env: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => {
    if (key === '' || key.includes('=')) throw new Error(`bad environment variable name: ${key}`);
    return `${key}=${value}`;
  });
}

// ---------------------------------------------------------------------------------------------
// One command, one container.

/** How long output may still trail in after the engine says the process has ended. */
const STREAM_GRACE_MS = 2_000;

/**
 * Runs `cmd` as the main process of a new container and removes the container afterwards,
 * whatever happens. Output lines go to log.debug as they arrive.
 */
export async function runContainer(options: RunContainerOptions): Promise<CommandResult> {
  const { engine, log } = options;
  const entry = await createTracked(options, options.cmd);
  const { container } = entry;
  const label = commandLabel(options.cmd);
  try {
    // Attach before start, so that not a byte of output is missed.
    let stream: NodeJS.ReadWriteStream;
    try {
      stream = await container.attach({ stream: true, stdout: true, stderr: true });
    } catch (error) {
      throw engineError(engine, error, 'to attach to a container');
    }
    const output = collectOutput(engine, stream, label, log);
    try {
      await container.start();
    } catch (error) {
      throw engineError(engine, error, `to start ${label} in ${options.image}`);
    }
    log.debug(`[${label}] started in container ${container.id.slice(0, 12)} (${options.image})`);

    const waited = container.wait() as Promise<{ StatusCode: number }>;
    const outcome = await within(waited, options.timeoutMs);
    if (outcome === 'timeout') {
      output.abandon();
      // Killed here, removed in finally: the error says it was stopped, so it must be.
      await container.kill().catch(() => undefined);
      throw new JobError(
        `${label} did not finish within ${seconds(options.timeoutMs)} in ${options.image}; it was stopped.`,
      );
    }
    const { stdout, stderr } = await output.finish(STREAM_GRACE_MS);
    log.debug(`[${label}] exited with code ${outcome.StatusCode}`);
    return { exitCode: outcome.StatusCode, stdout, stderr };
  } catch (error) {
    throw engineError(engine, error, `to run ${label}`);
  } finally {
    await removeQuietly(entry, log);
  }
}

// ---------------------------------------------------------------------------------------------
// A container to run several commands in.

/** Creates and starts a container (idle unless `cmd` says otherwise). Remove it when done. */
export async function startContainer(options: ContainerOptions): Promise<RunningContainer> {
  return handle(await startTracked(options), options.log);
}

async function startTracked(options: ContainerOptions): Promise<Tracked> {
  const { engine, log } = options;
  const entry = await createTracked(options, options.cmd ?? IDLE_CMD);
  try {
    await entry.container.start();
  } catch (error) {
    await removeQuietly(entry, log);
    throw engineError(engine, error, `to start a container from ${options.image}`);
  }
  log.debug(`container ${entry.container.id.slice(0, 12)} started (${options.image})`);
  return entry;
}

/**
 * Runs `fn` with a started container, then removes it: on success, on a throw, and (through the
 * registry and installInterruptCleanup) on Ctrl-C.
 */
export async function withContainer<T>(
  options: ContainerOptions,
  fn: (container: RunningContainer) => Promise<T>,
): Promise<T> {
  const entry = await startTracked(options);
  try {
    return await fn(handle(entry, options.log));
  } finally {
    // Quietly: an error while removing must not hide the error that brought us here.
    await removeQuietly(entry, options.log);
  }
}

function handle(entry: Tracked, log: Log): RunningContainer {
  const { engine, container } = entry;
  const self: RunningContainer = {
    id: container.id,
    exec: (cmd, options = {}) => execIn(entry, cmd, options, log),
    async putArchive(dir, tar) {
      // The engine refuses to extract into a directory that does not exist. mkdir -p (not a tar
      // with directory entries) because extracting a directory over a symlink such as /lib would
      // replace the symlink.
      const made = await self.exec(['mkdir', '-p', '--', dir]);
      if (made.exitCode !== 0) {
        throw new JobError(`Could not create ${dir} in the container: ${made.stderr.trim()}`);
      }
      const body =
        Buffer.isBuffer(tar) || tar instanceof Readable
          ? tar
          : Readable.from(tar as AsyncIterable<Uint8Array>);
      try {
        await container.putArchive(body, { path: dir });
      } catch (error) {
        throw engineError(engine, error, `to extract an archive into ${dir}`);
      }
    },
    async getArchive(path) {
      try {
        const tar = await container.getArchive({ path });
        return tar instanceof Readable ? tar : Readable.from(tar as AsyncIterable<Buffer>);
      } catch (error) {
        if (statusCode(error) === 404) {
          throw new JobError(`${path} does not exist in the container.`, { cause: error });
        }
        throw engineError(engine, error, `to archive ${path}`);
      }
    },
    remove: () => removeContainer(entry),
  };
  return self;
}

async function execIn(
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

// ---------------------------------------------------------------------------------------------
// Output.

interface OutputCollection {
  /** Resolves when the engine's stream ends (it may never). */
  ended: Promise<void>;
  /** Waits up to `graceMs` for the stream to end, then returns everything received. */
  finish(graceMs: number): Promise<{ stdout: string; stderr: string }>;
  /** Drops the connection. */
  abandon(): void;
}

/** Splits the engine's multiplexed stream into stdout and stderr, logging lines as they come. */
function collectOutput(
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

// ---------------------------------------------------------------------------------------------

function commandLabel(cmd: readonly string[]): string {
  const first = cmd[0] ?? '?';
  return first.slice(first.lastIndexOf('/') + 1);
}

function seconds(ms: number | undefined): string {
  return `${Math.round((ms ?? 0) / 1000)} s`;
}

/**
 * `promise`'s value, or 'timeout' after `ms` (never, when undefined). The timer is cleared either
 * way: a pending timer would keep lifeboat alive after its work is done.
 */
async function within<T>(promise: Promise<T>, ms: number | undefined): Promise<T | 'timeout'> {
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
