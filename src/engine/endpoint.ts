import { join } from 'node:path';
import type { DockerOptions } from 'dockerode';
import { UsageError } from '../errors.js';

/**
 * Where the container engine is, worked out from the environment the way the docker CLI does it,
 * so that a user who can run `docker ps` can run lifeboat with no extra setup: Docker, a remote
 * Docker over TCP/TLS or SSH, and Podman's Docker-compatible socket (DOCKER_HOST=unix://...).
 *
 * Docker contexts (`docker context use`) are not followed: only DOCKER_HOST is.
 */

export type Env = Readonly<Record<string, string | undefined>>;
/** Reads a whole file; injected so that resolving stays a pure function of its inputs. */
export type ReadFile = (path: string) => Buffer | string;

export type EndpointKind = 'unix' | 'tcp' | 'ssh';

export interface Endpoint {
  kind: EndpointKind;
  /** For people: where lifeboat looks, e.g. `unix:///var/run/docker.sock`, `tcp://h:2376 (TLS)`. */
  description: string;
  /** What dockerode needs to reach it. */
  options: DockerOptions;
}

export const DEFAULT_SOCKET = '/var/run/docker.sock';

const ACCEPTED_FORMS =
  'unix:///path/to/docker.sock, tcp://HOST[:PORT] or ssh://[USER@]HOST[:PORT] ' +
  `(or leave DOCKER_HOST unset for unix://${DEFAULT_SOCKET})`;

// The docker CLI's defaults: 2375 is plain HTTP, 2376 is TLS.
const DEFAULT_TCP_PORT = 2375;
const DEFAULT_TLS_PORT = 2376;

export function resolveEndpoint(env: Env, readFile: ReadFile): Endpoint {
  // Docker treats an empty DOCKER_HOST as unset; so do we.
  const host = env.DOCKER_HOST;
  if (host === undefined || host === '') return unixEndpoint(DEFAULT_SOCKET);

  const schemeEnd = host.indexOf('://');
  // Like the docker CLI, a bare `HOST:PORT` means TCP.
  const scheme = schemeEnd < 0 ? 'tcp' : host.slice(0, schemeEnd);
  const rest = schemeEnd < 0 ? host : host.slice(schemeEnd + 3);

  switch (scheme) {
    case 'unix':
      return parseUnix(host, rest);
    case 'tcp':
      return parseTcp(host, rest, env, readFile);
    case 'ssh':
      return parseSsh(host, rest, env);
    default:
      throw malformed(host, `the scheme "${scheme}://" is not one lifeboat can use`);
  }
}

function unixEndpoint(socketPath: string): Endpoint {
  return { kind: 'unix', description: `unix://${socketPath}`, options: { socketPath } };
}

function parseUnix(raw: string, path: string): Endpoint {
  // `unix://` alone means the default socket, as for the docker CLI.
  if (path === '') return unixEndpoint(DEFAULT_SOCKET);
  if (!path.startsWith('/')) throw malformed(raw, 'a unix socket path must be absolute');
  return unixEndpoint(path);
}

function parseTcp(raw: string, rest: string, env: Env, readFile: ReadFile): Endpoint {
  // `tcp://:2375` means this machine, as for the docker CLI (URL parsing wants a host).
  const url = parseAuthority(raw, `tcp://${rest.startsWith(':') ? `127.0.0.1${rest}` : rest}`);
  if (url.username !== '' || url.password !== '') {
    throw malformed(raw, 'a tcp:// address takes no user name');
  }
  // Like the docker CLI, any non-empty DOCKER_TLS_VERIFY (even "0") turns verification on: a
  // user whose `docker` works with their environment gets the same behaviour here.
  const tls = (env.DOCKER_TLS_VERIFY ?? '') !== '';
  if (url.hostname === '') throw malformed(raw, 'the host is missing');
  const hostname = stripBrackets(url.hostname);
  const port = url.port === '' ? (tls ? DEFAULT_TLS_PORT : DEFAULT_TCP_PORT) : Number(url.port);
  const shown = `tcp://${url.hostname}:${port}`;
  if (!tls) {
    return {
      kind: 'tcp',
      description: shown,
      options: { host: hostname, port, protocol: 'http' },
    };
  }
  return {
    kind: 'tcp',
    description: `${shown} (TLS)`,
    options: { host: hostname, port, protocol: 'https', ...readTlsFiles(env, readFile) },
  };
}

function parseSsh(raw: string, rest: string, env: Env): Endpoint {
  const url = parseAuthority(raw, `ssh://${rest}`);
  if (url.password !== '') {
    // The docker CLI refuses these too: a password in an environment variable leaks everywhere.
    throw malformed(raw, 'a password in DOCKER_HOST is not accepted; use an SSH agent');
  }
  if (url.hostname === '') throw malformed(raw, 'the host is missing');
  // ssh itself defaults to the local user name; so does the docker CLI (through ssh).
  const username = decodeURIComponent(url.username) || env.USER || env.LOGNAME;
  if (username === undefined || username === '') {
    throw malformed(raw, 'no user name: write ssh://USER@HOST, or set USER');
  }
  const hostname = stripBrackets(url.hostname);
  const port = url.port === '' ? 22 : Number(url.port);
  return {
    kind: 'ssh',
    description: `ssh://${username}@${url.hostname}:${port}`,
    options: {
      protocol: 'ssh',
      host: hostname,
      port,
      username,
      // dockerode's SSH client authenticates through the agent only (no ~/.ssh/config, no keys
      // read from disk), and runs `docker system dial-stdio` on the remote host.
      sshOptions: env.SSH_AUTH_SOCK === undefined ? {} : { agent: env.SSH_AUTH_SOCK },
    },
  };
}

/** Parses `scheme://[user@]host[:port]`, refusing paths, queries and fragments. */
function parseAuthority(raw: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw malformed(raw, 'it is not a valid address');
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw malformed(raw, 'it must not have a path, query or fragment');
  }
  return url;
}

function stripBrackets(hostname: string): string {
  // IPv6 literals come back as `[::1]`; sockets want `::1`.
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function readTlsFiles(env: Env, readFile: ReadFile): Pick<DockerOptions, 'ca' | 'cert' | 'key'> {
  // The docker CLI's default certificate directory is its configuration directory.
  const configDir =
    env.DOCKER_CONFIG || (env.HOME === undefined ? undefined : join(env.HOME, '.docker'));
  const dir = env.DOCKER_CERT_PATH || configDir;
  const via = env.DOCKER_CERT_PATH ? 'DOCKER_CERT_PATH' : 'the default ~/.docker';
  if (dir === undefined) {
    throw new UsageError(
      'DOCKER_TLS_VERIFY is set but no certificate directory is known (neither DOCKER_CERT_PATH nor HOME is set).',
      { hint: 'Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem.' },
    );
  }
  const read = (file: string): Buffer | string => {
    const path = join(dir, file);
    try {
      return readFile(path);
    } catch (error) {
      throw new UsageError(
        `DOCKER_TLS_VERIFY is set but ${path} cannot be read (certificate directory from ${via}).`,
        {
          hint: 'Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY for a plain-TCP engine.',
          cause: error,
        },
      );
    }
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

function malformed(raw: string, why: string): UsageError {
  return new UsageError(
    `DOCKER_HOST="${raw}" is not an engine address lifeboat understands: ${why}.`,
    {
      hint: `Set DOCKER_HOST to ${ACCEPTED_FORMS}.`,
    },
  );
}
