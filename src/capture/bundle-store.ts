import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { JobError } from '../errors.js';
import { hashRegularFile, openRegularFile } from './file-records-hash.js';
import { STORE_DIR } from './manifest.js';

/**
 * The bundle's content-addressed store, `files/<sha256>`: where a content goes, and how it gets
 * there from a live host.
 */

const SHA256 = /^[0-9a-f]{64}$/;

export function isSha256(text: string): boolean {
  return SHA256.test(text);
}

/** Where the content with this sha256 lives in the bundle at `dir`. */
export function bundleFilePath(dir: string, sha256: string): string {
  // The name comes from a manifest, which may be foreign: nothing but a hash may become a path.
  if (!isSha256(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
  return join(dir, STORE_DIR, sha256);
}

/**
 * Copies `source` to the new file `destination` (mode 0600: a capture holds host keys and
 * password hashes), hashing the bytes as they are copied. The host is live: a file rewritten
 * since it was hashed would leave the store disagreeing with the manifest, so that is an error
 * naming the file, and the whole capture must be taken again.
 */
export async function copyVerified(
  source: string,
  destination: string,
  sha256: string,
): Promise<void> {
  const changed = (why: string, cause?: unknown): JobError =>
    new JobError(`${source} changed since it was hashed (${why})`, {
      hint: 'The host is live and the file was written meanwhile: run the capture again.',
      cause,
    });
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw changed('it is gone', error);
    if (code === 'ELOOP' || code === 'ENOTREG')
      throw changed('it is no longer a regular file', error);
    throw error;
  }
  const { handle } = opened;
  try {
    const output = await open(destination, 'wx', 0o600);
    try {
      const hash = createHash('sha256');
      for await (const chunk of handle.createReadStream({
        autoClose: false,
      }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        for (let offset = 0; offset < chunk.length; ) {
          offset += (await output.write(chunk, offset, chunk.length - offset)).bytesWritten;
        }
      }
      // The umask could have taken bits away; the mode is part of what two runs must agree on.
      await output.chmod(0o600);
      await output.sync();
      const actual = hash.digest('hex');
      if (actual !== sha256) throw changed(`its sha256 is now ${actual}, was ${sha256}`);
    } finally {
      await output.close();
    }
  } finally {
    await handle.close();
  }
}

/** sha256 of a store file; undefined when it is missing, 'not a file' when something else is there. */
export async function hashStoreFile(file: string): Promise<string | undefined> {
  try {
    return (await hashRegularFile(file)).sha256;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'ENOTREG') return 'not a file';
    throw error;
  }
}
