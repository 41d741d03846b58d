import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/**
 * Reading a regular file of a live host safely. Between the lstat that chose the file and the
 * read, it may have been replaced: O_NOFOLLOW refuses a symlink put in its place (which could
 * point anywhere on this machine), O_NONBLOCK keeps a FIFO put in its place from blocking the
 * open forever, and the fstat of the open file is what is recorded, so the mode and owner
 * describe the bytes actually read.
 */
export async function openRegularFile(
  hostPath: string,
): Promise<{ handle: FileHandle; stats: Stats }> {
  const handle = await open(
    hostPath,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw Object.assign(new Error(`${hostPath}: no longer a regular file`), { code: 'ENOTREG' });
    }
    return { handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface HashedFile {
  sha256: string;
  /** Bytes hashed: the size that goes with the hash, even if the file grew meanwhile. */
  size: number;
  /** fstat of the file read. */
  stats: Stats;
}

/** sha256 of a regular file, streamed (capture files can be big: a kernel, a firmware blob). */
export async function hashRegularFile(hostPath: string): Promise<HashedFile> {
  const { handle, stats } = await openRegularFile(hostPath);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of handle.createReadStream({
      autoClose: false,
    }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { sha256: hash.digest('hex'), size, stats };
  } finally {
    await handle.close();
  }
}
