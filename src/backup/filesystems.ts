import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { captureLayout } from '../layout/capture.js';
import { runHostTool } from '../layout/run-tool.js';
import type { Log } from '../log/log.js';

/**
 * What a backup archives: the mount points of the host's real file systems, from the same layout
 * capture savelayout makes (block-device file systems only: never /proc, /sys, a tmpfs, a
 * network mount). A mounted root given with --root is archived as one tree: its mounts are not
 * this machine's layout.
 */
export async function backupFilesystems(hostRoot: string, log: Log): Promise<string[]> {
  if (hostRoot !== '/') return ['/'];
  const layout = await captureLayout({ run: runHostTool, root: '/', warn: (w) => log.debug(w) });
  const mountPoints = [...new Set(layout.mounts.map((m) => m.mountpoint))].sort();
  // "/" first, then the others in path order: a parent before what is mounted below it.
  return ['/', ...mountPoints.filter((m) => m !== '/')];
}

/** The host's name, the directory its backups go under: /etc/hostname of --root, else this machine's. */
export function backupHostname(hostRoot: string): string {
  if (hostRoot !== '/') {
    try {
      const name = readFileSync(join(hostRoot, 'etc', 'hostname'), 'utf8')
        .trim()
        .split('.')[0];
      if (name && /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) return name;
    } catch {
      // No /etc/hostname in the tree: the name of the directory is the next best thing.
    }
    return 'localhost';
  }
  return osHostname().split('.')[0] || 'localhost';
}
