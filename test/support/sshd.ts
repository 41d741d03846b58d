import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort, waitForPort } from './ports.js';

/**
 * A real SFTP server for the backup tests and the drill: OpenSSH's sshd on 127.0.0.1 with its
 * own host key, configuration and one authorized client key, on a free port. A QEMU guest
 * reaches it at 10.0.2.2 (user networking forwards to this machine's loopback).
 */
export interface PrivateSshd {
  port: number;
  clientKey: string;
  hostKeyFingerprint: string;
  stop(): void;
}

export async function startSshd(dir: string): Promise<PrivateSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', join(dir, file)]);
  keygen('host_key');
  keygen('client_key');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await closedPort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  // -D: in the foreground, so the test owns the process and stop() ends it. (Forking, sshd's
  // parent could exit before the daemon had written its pid file: CI read a missing one.)
  const child = spawn(
    '/usr/sbin/sshd',
    ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  await waitForPort(port, 20_000, () => child.exitCode !== null);
  const fingerprint = execFileSync('ssh-keygen', ['-lf', join(dir, 'host_key.pub')], {
    encoding: 'utf8',
  }).trim();
  return {
    port,
    clientKey: readFileSync(join(dir, 'client_key'), 'utf8'),
    hostKeyFingerprint: fingerprint,
    stop: () => child.kill('SIGTERM'),
  };
}
