import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';

/**
 * Artifacts are written into a private temporary directory beside the output directory and moved
 * into place only when the build is complete: a failed or interrupted build leaves no partial
 * artifact. Every artifact is 0600 — an initrd can hold keys the recipe asked for.
 */
export interface StagingArea {
  /** Write artifacts here. */
  dir: string;
  /**
   * Move every entry into the output directory (replacing same-named ones): files 0600,
   * directories (a capture bundle) 0700.
   */
  commit(): Promise<string[]>;
  /** Remove the staging area (after a failure). */
  discard(): Promise<void>;
}

/**
 * One build at a time into an output directory: a lock file beside it names the process that
 * builds there. A lock whose process is gone (killed) is taken over. Returns the release.
 */
export function lockOutput(outDir: string): () => void {
  const lock = join(dirname(outDir), `.${basename(outDir)}.lock`);
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder))
        throw new JobError(
          `--out ${outDir}: lifeboat (pid ${holder}) is building into it now; two builds into one directory would mix their media`,
          { hint: 'Wait for that build, or name another output directory.' },
        );
      // Its process is gone (a SIGKILL): the lock is stale.
      rmSync(lock, { force: true });
    }
  }
  const release = () => rmSync(lock, { force: true });
  const forget = onInterruptCleanup(release);
  return () => {
    forget();
    release();
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function stageOutput(outDir: string): Promise<StagingArea> {
  const parent = dirname(outDir);
  try {
    if (!(await stat(parent)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new UsageError(`--out ${outDir}: its parent directory ${parent} does not exist`);
  }
  const unlock = lockOutput(outDir);
  const dir = join(parent, `.${basename(outDir)}.partial-${process.pid}-${Date.now()}`);
  await mkdir(dir, { mode: 0o700 });
  // Ctrl-C exits without running the caller's catch: the staging area goes then too.
  const forgetDir = onInterruptCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const forget = () => {
    forgetDir();
    unlock();
  };
  return {
    dir,
    async commit() {
      forget();
      await mkdir(outDir, { recursive: true, mode: 0o700 });
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        const isDir = (await stat(join(dir, name))).isDirectory();
        await chmod(join(dir, name), isDir ? 0o700 : 0o600);
        // rename cannot replace a non-empty directory (the capture of an earlier build).
        if (isDir) await rm(join(outDir, name), { recursive: true, force: true });
        await rename(join(dir, name), join(outDir, name));
      }
      await rm(dir, { recursive: true, force: true });
      return names;
    },
    async discard() {
      forget();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
