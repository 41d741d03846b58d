import { readdirSync, readFileSync } from 'node:fs';

/**
 * Kills (SIGKILL) every process whose command line holds `argument`, this one excepted, and
 * returns how many. For the interrupt path, where a helper daemon may be starting while we stop:
 * gpg starts gpg-agent with the same --homedir it was given, so killing by the home directory
 * takes gpg (before it can start an agent) and an agent already started alike. Read from /proc,
 * so nothing depends on ps.
 */
export function killProcessesNaming(argument: string): number {
  let killed = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (!commandLine.split('\0').some((part) => part.includes(argument))) continue;
    try {
      process.kill(Number(name), 'SIGKILL');
      killed += 1;
    } catch {
      // gone meanwhile, or not ours to kill
    }
  }
  return killed;
}
