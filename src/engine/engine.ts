import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { errorMessage, JobError, LifeboatError, UsageError } from '../errors.js';
import { type Endpoint, type Env, type ReadFile, resolveEndpoint } from './endpoint.js';

/** A connection to a container engine: the client, and where it points (for messages). */
export interface Engine {
  readonly docker: Docker;
  readonly endpoint: Endpoint;
}

export interface EngineVersion {
  /** `docker` or `podman` (Podman's compatible API names itself in the version components). */
  product: 'docker' | 'podman';
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
  kernelVersion: string;
}

/**
 * docker-modem fills its defaults from process.env (DOCKER_HOST, DOCKER_CERT_PATH...) *underneath*
 * the options it is given. Clearing every connection field first makes the endpoint we resolved
 * the only one that counts, even when `env` is not process.env.
 */
const NO_INHERITED_CONNECTION: Docker.DockerOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  username: undefined,
};

/**
 * Makes a client for the engine the environment points at. Nothing is contacted yet: the first
 * call finds out whether anything answers (see engineVersion for a quick, clear check).
 */
export function connectEngine(
  env: Env = process.env,
  readFile: ReadFile = (path) => readFileSync(path),
): Engine {
  const endpoint = resolveEndpoint(env, readFile);
  let docker: Docker;
  try {
    docker = new Docker({ ...NO_INHERITED_CONNECTION, ...endpoint.options });
  } catch (error) {
    // docker-modem parses process.env itself, and throws on what it cannot read there.
    throw new UsageError(
      `The Docker client could not be set up for ${endpoint.description}: ${errorMessage(error)}.`,
      { hint: 'Check DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.', cause: error },
    );
  }
  return { docker, endpoint };
}

const VERSION_TIMEOUT_MS = 5_000;

/** Pings the engine and asks its version; a clear JobError when nothing answers in time. */
export async function engineVersion(
  engine: Engine,
  timeoutMs: number = VERSION_TIMEOUT_MS,
): Promise<EngineVersion> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The abort signal stops the HTTP request; the race covers transports that ignore it (SSH).
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new EngineTimeout(timeoutMs));
    }, timeoutMs);
  });
  try {
    // dockerode accepts an abort signal here; its typings just don't say so.
    const docker = engine.docker as unknown as SignalledCalls;
    const ask = async () => {
      await docker.ping({ abortSignal: abort.signal });
      return docker.version({ abortSignal: abort.signal });
    };
    const v = await Promise.race([ask(), deadline]);
    const podman = (v.Components ?? []).some((c) => /podman/i.test(c.Name));
    return {
      product: podman ? 'podman' : 'docker',
      version: v.Version,
      apiVersion: v.ApiVersion,
      os: v.Os,
      arch: v.Arch,
      kernelVersion: v.KernelVersion,
    };
  } catch (error) {
    throw engineError(engine, error, 'to tell its version');
  } finally {
    clearTimeout(timer);
  }
}

interface SignalledCalls {
  ping(options: { abortSignal: AbortSignal }): Promise<unknown>;
  version(options: { abortSignal: AbortSignal }): Promise<Docker.DockerVersion>;
}

class EngineTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${Math.round(ms / 1000)} s`);
  }
}

const UNREACHABLE = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ABORT_ERR',
]);

const DOCTOR = '`lifeboat doctor` explains what it checked.';

/**
 * Turns whatever an engine call threw into an error a user can act on: the engine not answering
 * gets the same one-sentence message everywhere, and other API errors keep the engine's own
 * message (dockerode prefixes it with HTTP noise that means nothing to a user).
 *
 * `doing` completes "the engine refused ..." for the API-error case ("to create a container").
 */
export function engineError(engine: Engine, error: unknown, doing: string): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const where = engine.endpoint.description;
  const code = errorCode(error);
  if (code === 'EACCES' || code === 'EPERM') {
    return new JobError(
      `Permission denied on the Docker engine socket ${where}: add your user to the docker group (then log in again), run lifeboat as root, or set DOCKER_HOST to an engine you may use.`,
      { hint: DOCTOR, cause: error },
    );
  }
  if (error instanceof EngineTimeout || (code !== undefined && UNREACHABLE.has(code))) {
    const why = error instanceof EngineTimeout ? error.message : describeCode(code);
    return new JobError(
      `No Docker engine answers at ${where} (${why}): start it (\`systemctl start docker\`, or run dockerd), or set DOCKER_HOST to where one runs.`,
      { hint: DOCTOR, cause: error },
    );
  }
  if (sshLevel(error) !== undefined) {
    // ssh2 marks its own failures with a level ('client-authentication', 'client-timeout'...).
    return new JobError(
      `Could not reach the engine over SSH at ${where} (${errorMessage(error)}): check that \`ssh\` to that host works with the keys in your SSH agent (SSH_AUTH_SOCK) and that docker runs there.`,
      { hint: DOCTOR, cause: error },
    );
  }
  return new JobError(`The engine at ${where} refused ${doing}: ${apiMessage(error)}.`, {
    cause: error,
  });
}

/** The engine's own words from a dockerode error, without the `(HTTP code 404) ...` prefix. */
export function apiMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = (error as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && 'message' in json) {
      const message = (json as { message?: unknown }).message;
      if (typeof message === 'string' && message !== '') return message;
    }
    if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  }
  return errorMessage(error).trim();
}

/** The HTTP status of a dockerode error, if it has one. */
export function statusCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const code = (error as { statusCode?: unknown }).statusCode;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

function sshLevel(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('level' in error)) return undefined;
  return typeof error.level === 'string' ? error.level : undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof Error && error.name === 'AbortError') return 'ABORT_ERR';
  return undefined;
}

function describeCode(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such socket';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    default:
      return code ?? 'no answer';
  }
}
