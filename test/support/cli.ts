import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'lifeboat.mjs');

/** A private /etc/lifeboat, log and work directories, so tests never touch the machine's own. */
export function sandbox(): {
  dir: string;
  etc: string;
  env: Record<string, string>;
  sets: string[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-'));
  return {
    dir,
    etc: join(dir, 'etc'),
    env: { LIFEBOAT_CONFIG_DIR: join(dir, 'etc'), XDG_STATE_HOME: join(dir, 'state') },
    sets: [
      '--set',
      `paths.logDir=${join(dir, 'log')}`,
      '--set',
      `paths.workDir=${join(dir, 'work')}`,
    ],
  };
}

/** Runs the bundled CLI (built by the global setup) the way a user would. */
export function lifeboat(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [CLI, ...args], {
    reject: false,
    all: true,
    cwd: options.cwd ?? ROOT,
    env: { ...options.env, CI: '' },
    extendEnv: true,
  });
}
