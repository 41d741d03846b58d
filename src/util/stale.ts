import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a killed lifeboat left behind (SIGKILL, a power cut: no cleanup ran) is found by the
 * process id in its name and removed by the next run, once that process is gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` whose name `pidOf` reads a process id from, when that process is
 * gone (never this one). Returns the names removed; a missing `dir` has none.
 */
export function sweepStale(dir: string, pidOf: (name: string) => number | undefined): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const pid = pidOf(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) return false;
    rmSync(join(dir, name), { recursive: true, force: true });
    return true;
  });
}

/** The pid of a name made as `<prefix><pid>-<anything>`, else undefined. */
export function pidAfter(prefix: string): (name: string) => number | undefined {
  return (name) => {
    if (!name.startsWith(prefix)) return undefined;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
}

/** The pid of a build area's name, WORKFLOW-PID-TIME (src/cli/commands/workflow.ts makes them). */
export function buildAreaPid(name: string): number | undefined {
  const pid = /^[a-z]+-(\d+)-\d+$/.exec(name)?.[1];
  return pid === undefined ? undefined : Number(pid);
}
