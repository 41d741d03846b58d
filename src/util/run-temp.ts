import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAfter, sweepStale } from './stale.js';

/**
 * Every temporary file of a run lives under one directory of lifeboat's own work area,
 * `<paths.workDir>/tmp/run-PID-TIME` (0700), not in the world-readable /tmp: an archive index, a
 * gpg home, the rescue root's file bodies (which hold embedded keys when the recipe asks) are
 * nobody else's business. The directory goes when the process exits, an interrupt included (the
 * interrupt handler exits through process.exit, which runs 'exit' listeners); what a SIGKILL
 * left is swept by the next run, by the dead pid in its name.
 *
 * Mount points are the exception (src/backup/destination-mount.ts keeps them in /tmp): removing
 * this directory recursively must never be able to reach into a mounted backup server.
 */
let runTemp: string | undefined;

const PREFIX = 'run-';

/** The directory that holds every run's temporary directory. */
export function runTempArea(workDir: string): string {
  return join(workDir, 'tmp');
}

/**
 * Makes this run's temporary directory under `workDir` (once; later calls return it) and sweeps
 * those of killed runs. Returns the names swept, for the log.
 */
export function openRunTemp(workDir: string): { dir: string; swept: string[] } {
  if (runTemp !== undefined) return { dir: runTemp, swept: [] };
  const area = runTempArea(workDir);
  mkdirSync(area, { recursive: true, mode: 0o700 });
  const swept = sweepStale(area, pidAfter(PREFIX));
  const dir = join(area, `${PREFIX}${process.pid}-${Date.now()}`);
  mkdirSync(dir, { mode: 0o700 });
  runTemp = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { dir, swept };
}

/** Where a temporary directory of this run goes: the run's own, or /tmp before one is open. */
export function runTempParent(): string {
  return runTemp ?? tmpdir();
}
