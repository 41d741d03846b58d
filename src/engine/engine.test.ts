import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JobError } from '../errors.js';
import { connectEngine, engineVersion } from './engine.js';

// These need no engine: they check what a user sees when none answers.

async function failure(promise: Promise<unknown>): Promise<JobError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JobError) return error;
    throw error;
  }
  throw new Error('expected a JobError');
}

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('connectEngine / engineVersion without an engine', () => {
  it('names the socket it tried and how to fix it, in one sentence', async () => {
    const engine = connectEngine({ DOCKER_HOST: 'unix:///nonexistent/lifeboat-test.sock' });
    expect(engine.endpoint.description).toBe('unix:///nonexistent/lifeboat-test.sock');
    const error = await failure(engineVersion(engine));
    expect(error.message).toContain('unix:///nonexistent/lifeboat-test.sock');
    expect(error.message).toContain('systemctl start docker');
    expect(error.message).toContain('DOCKER_HOST');
    expect(error.message).not.toContain('\n');
    expect(error.hint).toContain('lifeboat doctor');
    expect(error.exitCode).toBe(1);
  });

  it('reports a refused TCP connection the same way', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const port = address.port;
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const engine = connectEngine({ DOCKER_HOST: `tcp://127.0.0.1:${port}` });
    const error = await failure(engineVersion(engine));
    expect(error.message).toContain(`tcp://127.0.0.1:${port}`);
    expect(error.message).toContain('connection refused');
  });

  it('gives up on an engine that accepts but never answers', async () => {
    server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const engine = connectEngine({ DOCKER_HOST: `tcp://127.0.0.1:${address.port}` });
    const started = Date.now();
    const error = await failure(engineVersion(engine, 300));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error.message).toContain('no answer within');
  });

  it('does not let process.env override the endpoint it was given', () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://elsewhere.invalid:2375';
    try {
      const engine = connectEngine({ DOCKER_HOST: 'unix:///x.sock' });
      const modem = engine.docker.modem as unknown as { host?: string; socketPath?: string };
      expect(modem.host).toBeUndefined();
      expect(modem.socketPath).toBe('/x.sock');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
