import { isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import {
  type CommandResult,
  collectOutput,
  commandLabel,
  type ExecOptions,
  execIn,
  STREAM_GRACE_MS,
  seconds,
  toEnv,
  within,
} from './container-exec.js';
import {
  OWNER_LABEL,
  RUN_ID,
  removeContainer,
  removeQuietly,
  type Tracked,
  track,
} from './container-registry.js';
import { type Engine, engineError, statusCode } from './engine.js';

/**
 * Creating containers: one command in a container of its own (runContainer), or a started
 * container to run several in (withContainer). Each is registered (container-registry.ts) until
 * it is removed, so Ctrl-C removes it too.
 */

export { installInterruptCleanup } from '../util/exit-cleanup.js';
export type { CommandResult, ExecOptions } from './container-exec.js';
export {
  listContainersByLabel,
  OWNER_LABEL,
  RUN_ID,
  removeTrackedContainers,
} from './container-registry.js';

interface ContainerOptions {
  engine: Engine;
  image: string;
  /** The container's main process. withContainer defaults to an idle one that exec() runs beside. */
  cmd?: string[];
  /** `HOST:CONTAINER[:OPTIONS]`; HOST must be absolute (a bare name would make a named volume). */
  binds?: string[];
  env?: Readonly<Record<string, string>>;
  workingDir?: string;
  user?: string;
  log: Log;
  labels?: Readonly<Record<string, string>>;
}

interface RunContainerOptions extends ContainerOptions {
  cmd: string[];
  /** Kill the container and fail after this long. No limit when unset. */
  timeoutMs?: number;
}

/**
 * A tar archive: a Buffer, a Node stream, an async iterable of bytes, or tar-stream's pack (a
 * streamx stream: iterable at run time, though its typings don't say so).
 */
type TarSource = Buffer | Readable | AsyncIterable<Uint8Array> | Pack;

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

const IDLE_CMD = ['sleep', 'infinity'];

async function createTracked(options: ContainerOptions, cmd: string[]): Promise<Tracked> {
  const { engine } = options;
  for (const bind of options.binds ?? []) {
    const host = bind.split(':')[0] ?? '';
    if (!isAbsolute(host)) {
      throw new Error(`bind ${bind}: the host path must be absolute (else it names a volume)`);
    }
  }
  return track(
    engine,
    async () => {
      try {
        return await engine.docker.createContainer({
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
    },
    options.log,
  );
}

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

/**
 * Runs `fn` with a started container (idle unless `cmd` says otherwise), then removes it: on
 * success, on a throw, and (through the registry and installInterruptCleanup) on Ctrl-C.
 */
export async function withContainer<T>(
  options: ContainerOptions,
  fn: (container: RunningContainer) => Promise<T>,
): Promise<T> {
  const { engine, log } = options;
  const entry = await createTracked(options, options.cmd ?? IDLE_CMD);
  try {
    try {
      await entry.container.start();
    } catch (error) {
      throw engineError(engine, error, `to start a container from ${options.image}`);
    }
    log.debug(`container ${entry.container.id.slice(0, 12)} started (${options.image})`);
    return await fn(handle(entry, log));
  } finally {
    // Quietly: an error while removing must not hide the error that brought us here.
    await removeQuietly(entry, log);
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
