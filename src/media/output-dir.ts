import {
  accessSync,
  constants,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import { osError, osReason } from '../util/os-error.js';
import { pidAfter, processAlive, sweepStale } from '../util/stale.js';

/**
 * Artifacts are written into a private staging directory inside the output directory (so they
 * are on its file system, whatever is mounted there: a USB stick) and moved into place only when
 * the build is complete: a failed or interrupted build leaves no partial artifact. Every
 * artifact is 0600 — an initrd can hold keys the recipe asked for.
 */
export interface StagingArea {
  /** Write artifacts here. */
  dir: string;
  /**
   * Move every entry into the output directory (replacing same-named ones): files 0600,
   * directories (a capture bundle) 0700; the names in `servedAsIs` (a PXE tree, which a TFTP
   * server reads) keep the modes their output gave them.
   */
  commit(servedAsIs?: readonly string[]): Promise<string[]>;
  /** Remove the staging area (after a failure). */
  discard(): Promise<void>;
}

const LOCK_NAME = '.lifeboat-build.lock';

/**
 * Whether --out can take media, checked before any work: a directory (or a name whose parent is
 * one) that this process may write. One sentence otherwise, exit 2.
 */
export function checkOutputDir(outDir: string): void {
  const existing = statOrUndefined(outDir);
  if (existing && !existing.isDirectory())
    throw new UsageError(`--out ${outDir}: is a file, not a directory`, {
      hint: 'Name a directory for the media (it is made when missing).',
    });
  const parent = dirname(outDir);
  if (!existing && !statOrUndefined(parent)?.isDirectory())
    throw new UsageError(`--out ${outDir}: its parent directory ${parent} does not exist`);
  const where = existing ? outDir : parent;
  try {
    accessSync(where, constants.W_OK);
  } catch (error) {
    throw new UsageError(`--out ${outDir}: ${where} cannot be written (${osReason(error)})`, {
      hint: 'Name a directory on a writable file system.',
    });
  }
}

/**
 * One build at a time into an output directory: a lock file in it names the process that builds
 * there. A lock whose process is gone (killed) is taken over. Returns the release.
 */
export function lockOutput(outDir: string): () => void {
  const lock = join(outDir, LOCK_NAME);
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

export async function stageOutput(outDir: string): Promise<StagingArea> {
  checkOutputDir(outDir);
  const made = !statOrUndefined(outDir);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  // An output directory this build made goes again when the build fails: nothing was there.
  const removeIfMade = () => {
    if (made) rmdirSync(outDir);
  };
  let unlock: () => void;
  try {
    unlock = lockOutput(outDir);
  } catch (error) {
    removeIfMade();
    throw error;
  }
  // A killed build's staging area (its process is gone) goes now.
  sweepStale(outDir, pidAfter('.partial-'));
  const dir = join(outDir, `.partial-${process.pid}-${Date.now()}`);
  await mkdir(dir, { mode: 0o700 });
  // Ctrl-C exits without running the caller's catch: the staging area goes then too.
  const forgetDir = onInterruptCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
    unlock();
    try {
      removeIfMade();
    } catch {
      // Not empty after all: someone else's files are there now; leave them.
    }
  });
  const forget = () => {
    forgetDir();
    unlock();
  };
  return {
    dir,
    async commit(servedAsIs = []) {
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        const isDir = (await stat(join(dir, name))).isDirectory();
        if (!servedAsIs.includes(name)) await chmod(join(dir, name), isDir ? 0o700 : 0o600);
        // rename cannot replace a non-empty directory (the capture of an earlier build).
        if (isDir) await rm(join(outDir, name), { recursive: true, force: true });
        await rename(join(dir, name), join(outDir, name));
      }
      await rm(dir, { recursive: true, force: true });
      forget();
      return names;
    },
    async discard() {
      await rm(dir, { recursive: true, force: true });
      forget();
      try {
        removeIfMade();
      } catch {
        // Not empty: leave what is there.
      }
    },
  };
}

/**
 * An error of the operating system while the media were written, as one sentence that says
 * where and what to do; undefined for anything else (a bug, which must say so).
 */
export function outputFailure(error: unknown, outDir: string): JobError | undefined {
  const known = osError(error);
  if (!known) return undefined;
  return new JobError(`writing the media into ${outDir} failed: ${known.reason}`, {
    hint: known.hint,
    cause: error,
  });
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
