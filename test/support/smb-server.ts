import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort, waitForPort } from './ports.js';

/**
 * A real SMB server for the backup tests: Samba's smbd on 127.0.0.1 on a free port, with its own
 * configuration, state directories and password database (nothing of this machine's Samba), one
 * share `backups` writable by one user. A QEMU guest reaches it at 10.0.2.2 and mounts it with
 * its own kernel's CIFS client.
 */
export interface PrivateSmbServer {
  port: number;
  share: string;
  /** The shared directory on this machine. */
  shareDir: string;
  user: string;
  password: string;
  stop(): void;
}

export async function startSmbServer(dir: string): Promise<PrivateSmbServer> {
  const shareDir = join(dir, 'share');
  for (const sub of ['share', 'run', 'lock', 'state', 'cache', 'private', 'log']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  const port = await closedPort();
  // Samba maps an SMB user to a Unix one: root is the only one every machine has.
  const user = 'root';
  const password = 'lifeboat-test-smb-password';
  const config = join(dir, 'smb.conf');
  writeFileSync(
    config,
    `[global]
  server role = standalone server
  smb ports = ${port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  pid directory = ${join(dir, 'run')}
  lock directory = ${join(dir, 'lock')}
  state directory = ${join(dir, 'state')}
  cache directory = ${join(dir, 'cache')}
  private dir = ${join(dir, 'private')}
  ncalrpc dir = ${join(dir, 'run', 'ncalrpc')}
  passdb backend = tdbsam:${join(dir, 'private', 'passdb.tdb')}
  log file = ${join(dir, 'log', 'smbd.log')}
  load printers = no
  disable spoolss = yes
[backups]
  path = ${shareDir}
  read only = no
  valid users = ${user}
`,
  );
  // -s: the password twice on stdin, never on argv.
  execFileSync('smbpasswd', ['-c', config, '-s', '-a', user], {
    input: `${password}\n${password}\n`,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const child: ChildProcess = spawn(
    '/usr/sbin/smbd',
    ['--foreground', '--no-process-group', '-s', config],
    // detached: a server of its own process group, so that whatever it signals on its way
    // down reaches only itself, never the test runner.
    { stdio: 'ignore', detached: true },
  );
  await waitForPort(port, 20_000, () => child.exitCode !== null);
  return { port, share: 'backups', shareDir, user, password, stop: () => child.kill('SIGTERM') };
}
