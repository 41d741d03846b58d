import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { DEFAULT_SOCKET, type Env, type ReadFile, resolveEndpoint } from './endpoint.js';

const noFiles: ReadFile = (path) => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};

/** A fake filesystem holding the three TLS files under `dir`, each containing its own path. */
function certFiles(dir: string): ReadFile {
  return (path) => {
    if (path === `${dir}/ca.pem` || path === `${dir}/cert.pem` || path === `${dir}/key.pem`) {
      return Buffer.from(path);
    }
    return noFiles(path);
  };
}

function resolve(env: Env, readFile: ReadFile = noFiles) {
  return resolveEndpoint(env, readFile);
}

function usageError(env: Env, readFile: ReadFile = noFiles): UsageError {
  try {
    resolve(env, readFile);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('resolveEndpoint', () => {
  it('uses /var/run/docker.sock when DOCKER_HOST is unset or empty', () => {
    for (const env of [{}, { DOCKER_HOST: '' }, { DOCKER_HOST: 'unix://' }]) {
      expect(resolve(env)).toEqual({
        kind: 'unix',
        description: 'unix:///var/run/docker.sock',
        options: { socketPath: DEFAULT_SOCKET },
      });
    }
  });

  it('takes a unix socket path, such as Podman’s', () => {
    const endpoint = resolve({ DOCKER_HOST: 'unix:///run/user/1000/podman/podman.sock' });
    expect(endpoint.options).toEqual({ socketPath: '/run/user/1000/podman/podman.sock' });
    expect(endpoint.description).toBe('unix:///run/user/1000/podman/podman.sock');
  });

  it('takes tcp://host:port as plain HTTP when TLS is not asked for', () => {
    const endpoint = resolve({ DOCKER_HOST: 'tcp://build.example:2375' });
    expect(endpoint).toEqual({
      kind: 'tcp',
      description: 'tcp://build.example:2375',
      options: { host: 'build.example', port: 2375, protocol: 'http' },
    });
  });

  it('defaults the TCP port like the docker CLI, and reads a bare HOST:PORT as TCP', () => {
    expect(resolve({ DOCKER_HOST: 'tcp://h' }).options.port).toBe(2375);
    expect(resolve({ DOCKER_HOST: 'h:1234' }).options).toEqual({
      host: 'h',
      port: 1234,
      protocol: 'http',
    });
    expect(resolve({ DOCKER_HOST: 'tcp://:2375' }).options.host).toBe('127.0.0.1');
    expect(resolve({ DOCKER_HOST: 'tcp://[::1]:2375' }).options.host).toBe('::1');
  });

  it('uses HTTPS with the certificates from DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', () => {
    const endpoint = resolve(
      { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' },
      certFiles('/certs'),
    );
    expect(endpoint.description).toBe('tcp://h:2376 (TLS)');
    expect(endpoint.options).toMatchObject({ host: 'h', port: 2376, protocol: 'https' });
    expect(String(endpoint.options.ca)).toBe('/certs/ca.pem');
    expect(String(endpoint.options.cert)).toBe('/certs/cert.pem');
    expect(String(endpoint.options.key)).toBe('/certs/key.pem');
  });

  it('finds the certificates in ~/.docker (or DOCKER_CONFIG) by default, and defaults to port 2376', () => {
    const home = resolve(
      { DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', HOME: '/home/u' },
      certFiles('/home/u/.docker'),
    );
    expect(home.options.port).toBe(2376);
    expect(String(home.options.ca)).toBe('/home/u/.docker/ca.pem');
    const config = resolve(
      { DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', HOME: '/home/u', DOCKER_CONFIG: '/cfg' },
      certFiles('/cfg'),
    );
    expect(String(config.options.key)).toBe('/cfg/key.pem');
  });

  it('names the unreadable certificate and DOCKER_CERT_PATH', () => {
    const error = usageError({
      DOCKER_HOST: 'tcp://h:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: '/nowhere',
    });
    expect(error.message).toContain('/nowhere/ca.pem');
    expect(error.message).toContain('DOCKER_CERT_PATH');
    expect(error.exitCode).toBe(2);
  });

  it('ignores TLS settings for a unix socket', () => {
    expect(resolve({ DOCKER_HOST: 'unix:///s.sock', DOCKER_TLS_VERIFY: '1' }).options).toEqual({
      socketPath: '/s.sock',
    });
  });

  it('takes ssh://user@host:port through dockerode’s SSH transport and the SSH agent', () => {
    const endpoint = resolve({
      DOCKER_HOST: 'ssh://ops@builder.example:2222',
      SSH_AUTH_SOCK: '/tmp/agent.sock',
    });
    expect(endpoint).toEqual({
      kind: 'ssh',
      description: 'ssh://ops@builder.example:2222',
      options: {
        protocol: 'ssh',
        host: 'builder.example',
        port: 2222,
        username: 'ops',
        sshOptions: { agent: '/tmp/agent.sock' },
      },
    });
  });

  it('defaults the SSH user to USER and the port to 22', () => {
    const endpoint = resolve({ DOCKER_HOST: 'ssh://builder', USER: 'me' });
    expect(endpoint.options).toMatchObject({ username: 'me', port: 22, host: 'builder' });
    expect(endpoint.description).toBe('ssh://me@builder:22');
  });

  it.each([
    ['http://h:2375', 'scheme "http://"'],
    ['npipe:////./pipe/docker_engine', 'scheme "npipe://"'],
    ['unix://relative.sock', 'absolute'],
    ['tcp://h:2375/path', 'path'],
    ['tcp://h:99999', 'not a valid address'],
    ['tcp://user@h:2375', 'user name'],
    ['tcp://h h:2375', 'not a valid address'],
    ['ssh://u:secret@h', 'password'],
    ['ssh://', 'host is missing'],
    ['tcp://', 'host is missing'],
  ])('refuses DOCKER_HOST=%s, naming DOCKER_HOST and the accepted forms', (host, why) => {
    const error = usageError({ DOCKER_HOST: host, USER: 'me' });
    expect(error.message).toContain(`DOCKER_HOST="${host}"`);
    expect(error.message).toContain(why);
    expect(error.hint).toContain('unix:///path/to/docker.sock');
    expect(error.hint).toContain('tcp://HOST[:PORT]');
    expect(error.hint).toContain('ssh://[USER@]HOST[:PORT]');
  });
});
