import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Pack, pack } from 'tar-stream';
import { UsageError } from '../errors.js';

/**
 * Docker build contexts made so that the same directory always gives the same bytes: the engine's
 * layer cache then sees identical inputs, and the digest of the context can name the image
 * (a tag that changes exactly when an input changes).
 *
 * Unlike `docker build`, no .dockerignore is read: a context directory holds only what the image
 * needs.
 */

export interface ContextEntry {
  /** Path inside the context, `/`-separated, no leading `./`. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits only (`stat.mode & 0o7777`). */
  mode: number;
  size: number;
  /** Symlink target, kept as written. */
  linkname?: string;
}

type EntryHeader = Parameters<Pack['entry']>[0];

/**
 * Every entry under `dir`, sorted by the byte order of its path (not locale order, which differs
 * between machines, and not readdir order, which differs between filesystems).
 */
export async function listContext(dir: string): Promise<ContextEntry[]> {
  const entries: ContextEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const st = await lstat(abs);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        entries.push({ path, type: 'directory', mode, size: 0 });
        await walk(path);
      } else if (st.isFile()) {
        entries.push({ path, type: 'file', mode, size: st.size });
      } else if (st.isSymbolicLink()) {
        entries.push({
          path,
          type: 'symlink',
          mode: 0o777,
          size: 0,
          linkname: await readlink(abs),
        });
      } else {
        throw new UsageError(
          `${abs} cannot go into a build context: only files, directories and symlinks can.`,
          { hint: `Remove it from ${dir}.` },
        );
      }
    }
  };
  await walk('');
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/**
 * The context of `dir` as a tar stream: sorted entries, mtime 0, owner 0:0 with no names, modes
 * and symlinks kept. Hard links become separate files (their content is what matters).
 */
export function packContext(dir: string): Readable {
  const tar = pack();
  const fill = async () => {
    for (const entry of await listContext(dir)) {
      const header = {
        name: entry.path,
        type: entry.type,
        mode: entry.mode,
        mtime: new Date(0),
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
      } satisfies EntryHeader;
      if (entry.type === 'file') {
        await writeFile(tar, { ...header, size: entry.size }, join(dir, entry.path));
      } else if (entry.type === 'symlink') {
        tar.entry({ ...header, linkname: entry.linkname ?? '' });
      } else {
        tar.entry(header);
      }
    }
    tar.finalize();
  };
  fill().catch((error: unknown) =>
    tar.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  // tar-stream's streams are streamx streams; dockerode and node:stream want Node's.
  return Readable.from(tar);
}

/** Streams one file into its tar entry, honouring backpressure (large files stay out of memory). */
async function writeFile(tar: Pack, header: EntryHeader, path: string): Promise<void> {
  let sink: ReturnType<Pack['entry']> | undefined;
  const written = new Promise<void>((resolve, reject) => {
    // tar-stream calls back once the entry is complete, with an error if the size was wrong.
    sink = tar.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  if (sink === undefined) throw new Error('tar-stream did not create an entry');
  for await (const chunk of createReadStream(path)) {
    if (!sink.write(chunk as Buffer)) await once(sink, 'drain');
  }
  sink.end(undefined);
  await written;
}

/** A context packed into memory together with its digests: what is hashed is what is sent. */
export interface BuildContext {
  tar: Buffer;
  /** sha256 (hex) of the canonical tar alone. */
  contextSha256: string;
  /** sha256 (hex) of the tar's digest and the extra inputs: see `combineDigest`. */
  digest: string;
}

/**
 * Packs `dir` and digests it with the other inputs of a build (the base image's ID, build args).
 *
 * The digest is taken over the canonical tar rather than over a separate listing of paths, modes
 * and contents: the tar already holds exactly those and nothing else (no times, no owners), and
 * hashing the bytes that are sent means the two can never disagree.
 */
export async function makeBuildContext(
  dir: string,
  inputs: Readonly<Record<string, string>> = {},
): Promise<BuildContext> {
  const chunks: Buffer[] = [];
  for await (const chunk of packContext(dir)) chunks.push(chunk as Buffer);
  const tar = Buffer.concat(chunks);
  const contextSha256 = sha256(tar);
  return { tar, contextSha256, digest: combineDigest(contextSha256, inputs) };
}

/** The digest of a context directory with the other inputs of a build, without keeping the tar. */
export async function contextDigest(
  dir: string,
  inputs: Readonly<Record<string, string>> = {},
): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of packContext(dir)) hash.update(chunk as Buffer);
  return combineDigest(hash.digest('hex'), inputs);
}

/**
 * sha256 over a canonical JSON document: a format version, the context's tar digest, and the
 * inputs as [key, value] pairs sorted by key. JSON keeps keys and values unambiguous (no separator
 * can be forged by a value); the version lets the scheme change without colliding with old tags.
 */
export function combineDigest(
  contextSha256: string,
  inputs: Readonly<Record<string, string>>,
): string {
  const pairs = Object.entries(inputs).sort(([a], [b]) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  return sha256(
    JSON.stringify({ format: 'lifeboat-build-context/1', context: contextSha256, inputs: pairs }),
  );
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
