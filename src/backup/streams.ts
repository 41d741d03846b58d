import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';

/** Stream plumbing of the backup methods: feeding a program while hashing, reading lines. */

/**
 * Copies `source` into a program's stdin while hashing every byte, and into `copy` when given.
 * The whole source is read even when the program stops early (gpg with a wrong key): the
 * checksum is about the file.
 */
export async function feed(
  source: Readable,
  sink: Writable,
  copy?: { write(chunk: Buffer): Promise<void> },
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let open = true;
  sink.on('close', () => {
    open = false;
  });
  sink.on('error', () => {
    open = false;
  });
  for await (const chunk of source as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (open && !sink.write(chunk)) await drainedOrClosed(sink);
    await copy?.write(chunk);
  }
  if (open) sink.end();
  return { sha256: hash.digest('hex'), bytes };
}

/** Until the sink takes more (drain) or is gone (close, error); no listener is left behind. */
export function drainedOrClosed(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
  });
}

/** Calls `line` for each line of a stream; resolves at its end. */
export async function collectLines(stream: Readable, line: (text: string) => void): Promise<void> {
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l !== '') line(l);
  }
  if (rest !== '') line(rest);
}

export async function streamText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
