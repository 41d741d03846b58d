import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort, waitForPort } from './ports.js';

/**
 * A real rsync daemon for the rsync method's tests: `rsync --daemon` on 127.0.0.1 with one
 * writable module, `backups`, whose user `lifeboat` logs in with `password`. A QEMU guest reaches
 * it at 10.0.2.2.
 */
export interface PrivateRsyncd {
  port: number;
  /** The module's directory on this machine. */
  dir: string;
  user: string;
  password: string;
  stop(): void;
}

export async function startRsyncd(dir: string, password: string): Promise<PrivateRsyncd> {
  const moduleDir = join(dir, 'module');
  mkdirSync(moduleDir, { recursive: true });
  writeFileSync(join(dir, 'secrets'), `lifeboat:${password}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'rsyncd.conf'),
    [
      'use chroot = no',
      // Root on the server side too, so owners, devices and xattrs arrive as they are.
      'uid = root',
      'gid = root',
      '[backups]',
      `path = ${moduleDir}`,
      'read only = no',
      'auth users = lifeboat',
      `secrets file = ${join(dir, 'secrets')}`,
      '',
    ].join('\n'),
  );
  const port = await closedPort();
  // --no-detach: in the foreground, so the test owns the process and stop() ends it.
  const child = spawn(
    'rsync',
    [
      '--daemon',
      '--no-detach',
      `--config=${join(dir, 'rsyncd.conf')}`,
      '--address=127.0.0.1',
      `--port=${port}`,
      `--log-file=${join(dir, 'rsyncd.log')}`,
    ],
    { stdio: 'ignore', detached: true },
  );
  await waitForPort(port, 20_000, () => child.exitCode !== null);
  return {
    port,
    dir: moduleDir,
    user: 'lifeboat',
    password,
    stop: () => child.kill('SIGTERM'),
  };
}
