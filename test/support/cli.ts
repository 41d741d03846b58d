import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'lifeboat.mjs');

/** The sandboxes made in this test file: removeSandboxes() takes them away after its tests. */
const sandboxes = new Set<string>();

/**
 * Removes every sandbox this test file made (test/support/file-cleanup.ts calls it after the
 * file's own afterAll hooks). One with something still mounted under it is left, and said:
 * removing it would reach into whatever is mounted.
 */
export function removeSandboxes(): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '');
  for (const dir of sandboxes) {
    sandboxes.delete(dir);
    if (!existsSync(dir)) continue;
    if (mounts.some((point) => point === dir || point.startsWith(`${dir}/`))) {
      process.stderr.write(`test sandbox ${dir} is left: something is mounted under it\n`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A private /etc/lifeboat, log and work directories, so tests never touch the machine's own. */
export function sandbox(): {
  dir: string;
  etc: string;
  env: Record<string, string>;
  sets: string[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-'));
  sandboxes.add(dir);
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
