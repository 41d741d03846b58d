import { createWriteStream, readFileSync, statfsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../log/log.js';
import { runTempParent } from '../util/run-temp.js';
import { privateTempDir, type TempDir } from '../util/temp-dir.js';
import { drainedOrClosed } from './streams.js';

/**
 * Verify reads every byte of the archive from the destination, and restore reads them all again.
 * When the archive fits comfortably where this run keeps its temporary files (in the rescue
 * system that is RAM), verify keeps the bytes it checked and restore extracts from them: one
 * transfer over the network instead of two, and restore reads the very bytes that were verified
 * (their first program reads the file itself; verify hashed them on the way in, so restore does
 * not hash them again). A larger archive is read twice, and hashed again, as before.
 */
export interface VerifiedCopy {
  /** The file verify writes and restore reads. */
  readonly file: string;
  /** Set when writing failed (a full file system): restore reads the destination instead. */
  failed: boolean;
  /** Takes every chunk verify reads; resolves when the sink wants more. */
  write(chunk: Buffer): Promise<void>;
  /** Ends the file; resolves when it is on disk (or writing failed). */
  end(): Promise<void>;
  dispose(): Promise<void>;
}

/** statfs(2) f_type of the file systems whose bytes are memory. */
const MEMORY_FILE_SYSTEMS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

/** At most this share of the free space (and, on tmpfs or ramfs, of the available memory). */
const SHARE = 0.5;

function availableMemory(): number | undefined {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The room a copy may take in `dir`, in bytes. */
export function copyBudget(dir: string): number {
  const fs = statfsSync(dir);
  let room = Number(fs.bavail) * Number(fs.bsize);
  if (MEMORY_FILE_SYSTEMS.has(Number(fs.type))) room = Math.min(room, availableMemory() ?? 0);
  return Math.floor(room * SHARE);
}

/**
 * A place for verify's copy of an archive of `bytes` bytes, or undefined (with a debug line
 * saying why) when it would not fit.
 */
export async function verifiedCopyFor(
  bytes: number,
  log: Log,
  parent?: string,
): Promise<VerifiedCopy | undefined> {
  const where = parent ?? runTempParent();
  const budget = copyBudget(where);
  if (bytes > budget) {
    log.debug(
      `the archive (${bytes} bytes) is more than the ${budget} bytes a copy may take in ${where}: restore reads it from the destination again`,
    );
    return undefined;
  }
  // In the run's temporary directory: a verify that no restore follows (recover failed in
  // between) leaves its copy to the run's own removal, at exit or on an interrupt.
  const temp: TempDir = await privateTempDir('lifeboat-verified-', { parent: where });
  const file = join(temp.dir, 'archive');
  const out: WriteStream = createWriteStream(file, { mode: 0o600 });
  const copy: VerifiedCopy = {
    file,
    failed: false,
    async write(chunk) {
      if (copy.failed || out.write(chunk)) return;
      await drainedOrClosed(out);
    },
    async end() {
      if (copy.failed) return;
      await new Promise<void>((resolve) => out.end(resolve));
    },
    async dispose() {
      out.destroy();
      await temp.dispose();
    },
  };
  out.on('error', (error) => {
    if (!copy.failed)
      log.debug(`keeping a copy of the archive failed (${error.message}): restore reads it again`);
    copy.failed = true;
  });
  return copy;
}
