import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { runTempParent } from '../util/run-temp.js';
import { privateTempDir, type TempDir } from '../util/temp-dir.js';
import { type CpioBody, EMPTY_BODY, memoryBody } from './cpio-entry.js';

/**
 * Where file bodies wait while a tar stream is read to its end (the archive is written in sorted
 * order, so nothing can be written before the last tar entry is seen). The first `memoryLimit`
 * bytes of bodies stay in memory; the rest are appended to one spill file in a private temporary
 * directory and read back from there. A rescue root is 100-300 MB: with the default limit most
 * of it goes through the page cache rather than the heap.
 */

export interface BodyStoreOptions {
  /** Bytes of file bodies to hold in memory before spilling to disk. Default 64 MiB. */
  memoryLimit?: number;
  /** Directory for the spill file's private directory. Default os.runTempParent(). */
  tempDir?: string;
}

export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;
/** Spill writes are gathered to this size, and reads come back in pieces of this size. */
const SPILL_IO_BYTES = 1024 * 1024;

/** An append-only file of bodies; each body is an (offset, size) slice of it. */
class SpillFile {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #flushed = 0;

  private constructor(
    private readonly directory: TempDir,
    private readonly handle: FileHandle,
  ) {}

  static async create(parent: string): Promise<SpillFile> {
    // The rescue root's file bodies (keys a recipe embeds among them): gone on Ctrl-C too.
    const directory = await privateTempDir('lifeboat-cpio-', { parent });
    const handle = await open(join(directory.dir, 'bodies'), 'w+', 0o600);
    return new SpillFile(directory, handle);
  }

  get length(): number {
    return this.#flushed + this.#pendingBytes;
  }

  async append(chunk: Uint8Array): Promise<void> {
    // Copied: the producer may reuse its buffer once we return, and a view into a larger stream
    // buffer would keep all of it alive until the flush.
    this.#pending.push(Uint8Array.prototype.slice.call(chunk));
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes >= SPILL_IO_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const pieces = this.#pending;
    const position = this.#flushed;
    this.#pending = [];
    this.#flushed += this.#pendingBytes;
    this.#pendingBytes = 0;
    await this.handle.writev(pieces, position);
  }

  async *read(offset: number, size: number): AsyncGenerator<Uint8Array> {
    if (offset + size > this.#flushed) await this.flush();
    for (let done = 0; done < size; ) {
      const length = Math.min(SPILL_IO_BYTES, size - done);
      // A fresh buffer each time: whoever receives a chunk may keep it.
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.handle.read(buffer, 0, length, offset + done);
      if (bytesRead === 0) throw new Error('spill file ended early');
      yield buffer.subarray(0, bytesRead);
      done += bytesRead;
    }
  }

  async dispose(): Promise<void> {
    await this.handle.close().catch(() => {});
    await this.directory.dispose();
  }
}

export class BodyStore {
  readonly #memoryLimit: number;
  readonly #tempDir: string;
  #memoryUsed = 0;
  #spill: Promise<SpillFile> | undefined;

  constructor(options: BodyStoreOptions = {}) {
    this.#memoryLimit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
    this.#tempDir = options.tempDir ?? runTempParent();
  }

  /** Bytes held in memory so far. */
  get memoryUsed(): number {
    return this.#memoryUsed;
  }

  /** Reads `chunks` (exactly `size` bytes) into the store. */
  async capture(chunks: AsyncIterable<Uint8Array>, size: number): Promise<CpioBody> {
    if (size === 0) {
      for await (const _ of chunks);
      return EMPTY_BODY;
    }
    if (this.#memoryUsed + size <= this.#memoryLimit) {
      this.#memoryUsed += size;
      return memoryBody(await readExactly(chunks, size));
    }
    this.#spill ??= SpillFile.create(this.#tempDir);
    const spill = await this.#spill;
    const offset = spill.length;
    let seen = 0;
    for await (const chunk of chunks) {
      seen += chunk.byteLength;
      if (seen > size) break;
      await spill.append(chunk);
    }
    if (seen !== size) throw new Error(`body of ${size} bytes came with ${seen}`);
    return { size, chunks: () => spill.read(offset, size) };
  }

  /** Removes the spill file. The bodies it held can't be read after this. */
  async dispose(): Promise<void> {
    const spill = this.#spill;
    this.#spill = undefined;
    const file = await spill?.catch(() => undefined);
    await file?.dispose();
  }
}

/** One buffer of exactly `size` bytes (a copy, so no larger stream buffer is kept alive). */
async function readExactly(chunks: AsyncIterable<Uint8Array>, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  let seen = 0;
  for await (const chunk of chunks) {
    if (seen + chunk.byteLength > size) throw new Error(`body of ${size} bytes came with more`);
    buffer.set(chunk, seen);
    seen += chunk.byteLength;
  }
  if (seen !== size) throw new Error(`body of ${size} bytes came with ${seen}`);
  return buffer;
}
