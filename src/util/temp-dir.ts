import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { onInterruptCleanup } from './exit-cleanup.js';
import { runTempParent } from './run-temp.js';

/**
 * A private temporary directory (0700, as mkdtemp makes it) that goes on dispose() and on an
 * interrupt alike: Ctrl-C exits without running `finally`, and what a backup or build leaves in
 * a temporary directory (an archive index, a gpg home, the rescue root's file bodies) must not
 * outlive the run. `onInterrupt` runs first on an interrupt (stop a daemon that lives in it).
 */
export interface TempDir {
  dir: string;
  dispose(): Promise<void>;
}

export async function privateTempDir(
  prefix: string,
  options: { parent?: string; onInterrupt?: (dir: string) => void } = {},
): Promise<TempDir> {
  const dir = await mkdtemp(join(options.parent ?? runTempParent(), prefix));
  const forget = onInterruptCleanup(() => {
    try {
      options.onInterrupt?.(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return {
    dir,
    async dispose() {
      forget();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
