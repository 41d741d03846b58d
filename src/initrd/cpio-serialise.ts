import { JobError } from '../errors.js';
import type { NewcRecord } from './cpio-layout.js';
import { NEWC_ARCHIVE_BLOCK, newcRecordHead, newcTrailer, paddingAfter } from './cpio-newc.js';
import { byteStringFromBytes, displayPath } from './cpio-path.js';

/**
 * Records to bytes. Small pieces (headers, names, small files) are gathered into chunks of about
 * BATCH_BYTES so the stream downstream (a compressor, a pipe into a container) sees a few large
 * writes rather than tens of thousands of tiny ones; large file chunks pass through as they are.
 */
const BATCH_BYTES = 256 * 1024;
const ZEROS = Buffer.alloc(NEWC_ARCHIVE_BLOCK);

async function* dataChunks(record: NewcRecord): AsyncGenerator<Uint8Array> {
  const { data } = record;
  if (data === undefined) return;
  if (Buffer.isBuffer(data)) {
    yield data;
    return;
  }
  let seen = 0;
  for await (const chunk of data.chunks()) {
    seen += chunk.byteLength;
    if (seen > data.size) break;
    yield chunk;
  }
  if (seen !== data.size) {
    throw new JobError(
      `${displayPath(byteStringFromBytes(record.name))} changed while the archive was written: expected ${data.size} bytes, read ${seen}`,
    );
  }
}

function dataSize(record: NewcRecord): number {
  const { data } = record;
  if (data === undefined) return 0;
  return Buffer.isBuffer(data) ? data.length : data.size;
}

/** The archive's bytes: every record, the trailer, and NULs to a multiple of 512 bytes. */
export async function* newcChunks(records: Iterable<NewcRecord>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let written = 0;
  const take = (): Buffer => {
    const batch = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return batch;
  };
  const add = (piece: Uint8Array): void => {
    const buffer = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    pending.push(buffer);
    pendingBytes += buffer.length;
    written += buffer.length;
  };

  for (const record of records) {
    const fileSize = dataSize(record);
    add(
      newcRecordHead(
        {
          ino: record.ino,
          mode: record.mode,
          uid: record.uid,
          gid: record.gid,
          nlink: record.nlink,
          mtime: record.mtime,
          fileSize,
          // The device the file lived on means nothing in the archive (and differs between
          // machines): 0, like GNU cpio's --ignore-devno.
          devMajor: 0,
          devMinor: 0,
          rdevMajor: record.rdevMajor,
          rdevMinor: record.rdevMinor,
          check: 0,
        },
        record.name,
      ),
    );
    for await (const chunk of dataChunks(record)) {
      if (chunk.byteLength >= BATCH_BYTES) {
        if (pendingBytes > 0) yield take();
        add(chunk);
        yield take();
      } else {
        add(chunk);
        if (pendingBytes >= BATCH_BYTES) yield take();
      }
    }
    const padding = paddingAfter(fileSize);
    if (padding > 0) add(ZEROS.subarray(0, padding));
    if (pendingBytes >= BATCH_BYTES) yield take();
  }
  add(newcTrailer());
  const tail = paddingAfter(written, NEWC_ARCHIVE_BLOCK);
  if (tail > 0) add(ZEROS.subarray(0, tail));
  yield take();
}
