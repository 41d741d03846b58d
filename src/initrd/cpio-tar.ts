import { extract, type Header } from 'tar-stream';
import { JobError } from '../errors.js';
import type { BodyStore } from './cpio-body-store.js';
import type { CpioEntry } from './cpio-entry.js';
import { assertNewcFileSize } from './cpio-newc.js';
import {
  type ByteString,
  byteStringFromText,
  bytesOf,
  displayPath,
  normaliseArchivePath,
  ROOT_PATH,
} from './cpio-path.js';

/**
 * A tar stream (Docker's getArchive of the rescue root, GNU tar, tar-stream's pack) read as
 * archive entries, file bodies captured into a BodyStore.
 *
 * Names keep their bytes: tar-stream decodes header names and GNU long names with the
 * `filenameEncoding` we give it ('latin1': one character per byte, a ByteString), but PAX
 * `path`/`linkpath` records always as UTF-8 (POSIX says they are UTF-8), so those are turned back
 * into their UTF-8 bytes.
 */

export interface TarReadOptions {
  /**
   * Leading components to drop from every name, like tar's --strip-components. Default 0. Docker's
   * getArchive of `/rescue` names its entries `rescue/`, `rescue/bin/sh`...: strip 1, and the
   * `rescue/` directory becomes the root record `.`.
   */
  stripComponents?: number;
}

/**
 * Where the tar comes from: a Node Readable (Docker's getArchive, a subprocess's stdout), a
 * streamx Readable (tar-stream's pack), any async iterable of byte chunks. Its chunks must be
 * bytes (Buffer, Uint8Array); streamx types them as unknown, hence the loose element type.
 */
export type ByteSource = AsyncIterable<unknown> & { destroy?: (error?: Error) => unknown };

function paxField(header: Header, key: 'path' | 'linkpath'): string | undefined {
  const pax = header.pax;
  if (typeof pax !== 'object' || pax === null) return undefined;
  const value = (pax as Record<string, unknown>)[key];
  // tar-stream only applies a PAX value that is a non-empty string; the same test here.
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nameBytes(header: Header, which: 'name' | 'linkname'): ByteString {
  const pax = paxField(header, which === 'name' ? 'path' : 'linkpath');
  const value = header[which] ?? '';
  return (pax === undefined ? value : byteStringFromText(value)) as ByteString;
}

/**
 * GNU tar's PAX sparse files (GNU.sparse.* records) look like regular files to tar-stream, named
 * GNUSparseFile.PID/NAME and with the sparse map inside their data: taken as they are they would
 * be wrong files, so they are refused. Gives the file's real name, or undefined if not sparse.
 */
function gnuSparseName(header: Header): string | undefined {
  const pax = header.pax;
  if (typeof pax !== 'object' || pax === null) return undefined;
  const records = pax as Record<string, unknown>;
  if (!Object.keys(records).some((key) => key.startsWith('GNU.sparse.'))) return undefined;
  const name = records['GNU.sparse.name'];
  return typeof name === 'string' ? name : header.name;
}

function tarTypeOf(header: Header): string {
  return header.type ?? 'unknown (a typeflag tar-stream does not know, e.g. a GNU sparse file)';
}

/** Writes `source` into the tar parser, pausing when it is full; ends it at the source's end. */
async function feed(source: ByteSource, parser: ReturnType<typeof extract>): Promise<void> {
  for await (const chunk of source) {
    if (parser.destroyed) return;
    if (!(chunk instanceof Uint8Array))
      throw new TypeError(`the tar source gave a ${typeof chunk} where bytes were expected`);
    if (!parser.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          parser.off('drain', done);
          parser.off('close', done);
          resolve();
        };
        parser.on('drain', done);
        parser.on('close', done);
      });
    }
  }
  parser.end(null); // streamx's end(data) takes data; null is "no more"
}

/**
 * The entries of a tar stream, in its order. On error, or when the caller stops early, the
 * source is destroyed (as stream.pipeline would).
 */
export async function* tarEntries(
  source: ByteSource,
  store: BodyStore,
  options: TarReadOptions = {},
): AsyncGenerator<CpioEntry> {
  const strip = options.stripComponents ?? 0;
  // tar-stream reads `filenameEncoding` (extract.js) though its .d.ts does not list it.
  const parser = extract({ filenameEncoding: 'latin1' } as Parameters<typeof extract>[0]);
  const feeding = feed(source, parser).catch((error: unknown) => {
    parser.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  let finished = false;
  try {
    for await (const stream of parser) {
      const header = stream.header;
      const path = normaliseArchivePath(nameBytes(header, 'name'), strip);
      // A tar-stream entry stream yields Buffers (streamx types them as unknown).
      const body = stream as AsyncIterable<Uint8Array>;
      const entry = await entryOf(header, path, body, store, strip);
      if (entry !== undefined) yield entry;
    }
    await feeding;
    finished = true;
  } finally {
    if (!finished) {
      parser.destroy();
      source.destroy?.();
    }
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

async function entryOf(
  header: Header,
  path: ByteString | undefined,
  stream: AsyncIterable<Uint8Array>,
  store: BodyStore,
  strip: number,
): Promise<CpioEntry | undefined> {
  if (path === undefined || (path === ROOT_PATH && strip > 0 && header.type !== 'directory')) {
    // Outside the tree (above the stripped components: `README` beside `rootfs/` when stripping
    // one), skipped like tar --strip-components does.
    await drain(stream);
    return undefined;
  }
  const attributes = {
    path: bytesOf(path),
    mode: header.mode ?? 0,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: (header.mtime?.getTime() ?? 0) / 1000,
  };
  const sparseName = gnuSparseName(header);
  if (sparseName !== undefined) {
    const shown = normaliseArchivePath(byteStringFromText(sparseName)) ?? path;
    throw new JobError(`tar entry ${displayPath(shown)} is a GNU sparse file`, {
      hint: 'make the rescue root tar without --sparse',
    });
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file': {
      // Before reading a byte of it: a 4 GiB body is refused at its header.
      assertNewcFileSize(path, header.size);
      return { ...attributes, type: 'file', body: await store.capture(stream, header.size) };
    }
    case 'directory':
      await drain(stream);
      return { ...attributes, type: 'directory' };
    case 'symlink':
      await drain(stream);
      return { ...attributes, type: 'symlink', target: bytesOf(nameBytes(header, 'linkname')) };
    case 'link': {
      await drain(stream);
      const target = normaliseArchivePath(nameBytes(header, 'linkname'), strip);
      if (target === undefined) {
        throw new JobError(
          `hardlink ${displayPath(path)} names ${displayPath(nameBytes(header, 'linkname'))}, outside the stripped tree`,
        );
      }
      return { type: 'hardlink', path: attributes.path, target: bytesOf(target) };
    }
    case 'character-device':
    case 'block-device':
      await drain(stream);
      return {
        ...attributes,
        type: header.type,
        devmajor: header.devmajor ?? 0,
        devminor: header.devminor ?? 0,
      };
    case 'fifo':
      await drain(stream);
      return { ...attributes, type: 'fifo' };
    default:
      throw new JobError(`tar entry ${displayPath(path)} has type ${tarTypeOf(header)}`, {
        hint: 'the rescue root tar may hold files, directories, symlinks, hardlinks, devices and FIFOs',
      });
  }
}
