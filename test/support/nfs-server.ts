import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort, waitForPort } from './ports.js';

/**
 * A real NFS server for the backup tests: NFS-Ganesha (Debian's nfs-ganesha, a userspace server:
 * this machine's kernel has no nfsd) on 127.0.0.1, NFSv4 only, on a free port,
 * exporting one directory read-write without root squashing, as a backup server does for the
 * machines it backs up. A QEMU guest reaches it at 10.0.2.2 (user networking forwards to this
 * machine's loopback) and mounts it with its own kernel's NFS client.
 */
export interface PrivateNfsServer {
  port: number;
  /** The exported directory on this machine. */
  exportDir: string;
  /** The path clients mount: server:/backups. */
  pseudoPath: string;
  stop(): void;
}

export async function startNfsServer(dir: string): Promise<PrivateNfsServer> {
  const exportDir = join(dir, 'export');
  mkdirSync(exportDir, { recursive: true });
  mkdirSync(join(dir, 'recovery'), { recursive: true });
  const port = await closedPort();
  const pseudoPath = '/backups';
  const config = join(dir, 'ganesha.conf');
  writeFileSync(
    config,
    `NFS_CORE_PARAM {
  NFS_Port = ${port};
  Bind_addr = 127.0.0.1;
  Protocols = 4;
  # NFSv4 needs neither the lock manager nor quotas: nothing registers with an rpcbind.
  Enable_NLM = false;
  Enable_RQUOTA = false;
}
NFSv4 {
  # A fresh server has no clients to wait for: no 90 s grace period before the first write.
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = ${join(dir, 'recovery')};
}
EXPORT {
  Export_Id = 1;
  Path = ${exportDir};
  Pseudo = ${pseudoPath};
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 4;
  Transports = TCP;
  FSAL { Name = VFS; }
}
`,
  );
  // -F: in the foreground, so the test owns the process and stop() ends it.
  const child: ChildProcess = spawn(
    '/usr/bin/ganesha.nfsd',
    ['-F', '-f', config, '-L', join(dir, 'ganesha.log'), '-p', join(dir, 'ganesha.pid')],
    // detached: a server of its own process group, so that whatever it signals on its way
    // down reaches only itself, never the test runner.
    { stdio: 'ignore', detached: true },
  );
  await waitForPort(port, 20_000, () => child.exitCode !== null);
  return { port, exportDir, pseudoPath, stop: () => child.kill('SIGTERM') };
}
