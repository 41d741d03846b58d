import type { Pack } from 'tar-stream';

/**
 * Writing layers (trees to extract over the rescue rootfs) with tar-stream, deterministically:
 * the caller gives the entries in their final order; every mtime is 0 and owners are numeric
 * only (no user or group names, which differ between the host, the builder and the rescue system).
 *
 * Extended attributes: tar-stream can add pax records, but encodes their values as UTF-8 text,
 * which mangles binary values such as security.capability. So entries with xattrs get a pax
 * extended header ('x') written here byte by byte, carrying `SCHILY.xattr.NAME` (the records GNU
 * tar and the Docker engine read) and the path; tar-stream then writes the entry itself with a
 * plain ustar header.
 */
export interface LayerEntry {
  /** Relative, no leading slash: `usr/lib/modules/...`. */
  name: string;
  type: 'file' | 'symlink' | 'directory';
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Symlink target. */
  linkname?: string;
  /** Extended attributes: name → base64 value (the capture manifest's encoding). */
  xattrs?: Record<string, string> | undefined;
  /** A file's content, when it is small and in memory. */
  content?: Buffer;
  /** A file's content, streamed by the writer's `open`. */
  source?: { file: string; size: number; sha256?: string; path: string };
}

export type OpenSource = (source: NonNullable<LayerEntry['source']>) => AsyncIterable<Buffer>;

/** ustar's numeric fields as tar-stream writes them: 6 octal digits for uid and gid. */
const USTAR_MAX_ID = 0o777777;

/** Writes `entries` to `tar`, in the order given, then finalizes it. */
export async function writeLayer(tar: Pack, entries: LayerEntry[], open: OpenSource) {
  const epoch = new Date(0);
  for (const entry of entries) {
    const size = entry.type === 'file' ? (entry.content?.length ?? entry.source?.size ?? 0) : 0;
    const pax = paxRecords(entry);
    const header = {
      name: pax === undefined ? entry.name : ustarName(entry),
      type: entry.type,
      mode: entry.mode,
      uid: Math.min(entry.uid, USTAR_MAX_ID),
      gid: Math.min(entry.gid, USTAR_MAX_ID),
      mtime: epoch,
      size,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
    };
    // Between two entries (each awaited), so the bytes land right before the entry they describe.
    if (pax !== undefined) tar.push(paxBlock(pax));
    if (entry.type !== 'file') {
      await add(tar, header);
    } else if (entry.content !== undefined) {
      await add(tar, header, entry.content);
    } else if (entry.source !== undefined) {
      await stream(tar, header, open(entry.source));
    } else {
      await add(tar, header, Buffer.alloc(0));
    }
  }
  tar.finalize();
}

type Header = Parameters<Pack['entry']>[0];

function ignore(): void {}

function add(tar: Pack, header: Header, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve());
    const sink = content === undefined ? tar.entry(header, done) : tar.entry(header, content, done);
    // A destroyed archive destroys its entries too; the callback carries their error.
    sink.on('error', ignore);
  });
}

/** One file's content into its entry, waiting whenever the archive's reader falls behind. */
async function stream(tar: Pack, header: Header, chunks: AsyncIterable<Buffer>): Promise<void> {
  let sink: ReturnType<Pack['entry']> | undefined;
  const written = new Promise<void>((resolve, reject) => {
    sink = tar.entry(header, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
  const entry = sink as ReturnType<Pack['entry']>;
  entry.on('error', ignore);
  try {
    for await (const chunk of chunks) {
      if (!entry.write(chunk)) {
        await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
      }
    }
  } catch (error) {
    // The caller destroys the whole archive with this error; the entry's own ("size mismatch"
    // or the like) would only hide the reason.
    written.catch(() => undefined);
    throw error;
  }
  entry.end(undefined);
  await written;
}

/**
 * The pax extended header for an entry that needs one (xattrs, ids beyond ustar), binary-safe;
 * undefined when the plain header says it all.
 */
export function paxRecords(entry: LayerEntry): Buffer | undefined {
  const records: [string, Buffer][] = [];
  for (const [name, value] of Object.entries(entry.xattrs ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    records.push([`SCHILY.xattr.${name}`, Buffer.from(value, 'base64')]);
  }
  if (entry.uid > USTAR_MAX_ID) records.push(['uid', Buffer.from(String(entry.uid))]);
  if (entry.gid > USTAR_MAX_ID) records.push(['gid', Buffer.from(String(entry.gid))]);
  if (records.length === 0) return undefined;
  // The path (and link target) go into this header too: tar-stream would otherwise write a pax
  // header of its own for a long name, and readers keep only the last of two.
  records.unshift([
    'path',
    Buffer.from(entry.type === 'directory' ? `${entry.name}/` : entry.name),
  ]);
  if (entry.linkname !== undefined) records.push(['linkpath', Buffer.from(entry.linkname)]);
  return Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
}

/**
 * A pax extended header entry ('x') with its records, padded to whole 512-byte blocks. Written
 * by hand: tar-stream accepts no body for an entry of that type.
 */
function paxBlock(records: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write('PaxHeader', 0, 'ascii');
  const octal = (value: number, offset: number, width: number) =>
    header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
  octal(0o644, 100, 8); // mode
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(records.length, 124, 12); // size
  octal(0, 136, 12); // mtime
  header.write('x', 156, 'ascii'); // typeflag: extended header for the next entry
  header.write('ustar\u000000', 257, 'ascii'); // magic "ustar\0" and version "00"
  // The checksum is computed with its own field as eight spaces.
  header.write('        ', 148, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = Buffer.alloc((512 - (records.length % 512)) % 512);
  return Buffer.concat([header, records, padding]);
}

/** "LEN key=value\n", LEN counting the whole record in bytes, its own digits included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + String(body.length).length;
  if (String(length).length !== String(body.length).length)
    length = body.length + String(length).length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/**
 * The name for the ustar header of an entry whose pax header carries the real path: the name
 * itself when ustar can hold it, else a stand-in (readers take the pax path).
 */
function ustarName(entry: LayerEntry): string {
  const name = entry.type === 'directory' ? `${entry.name}/` : entry.name;
  return fitsUstar(name) && (entry.linkname === undefined || fitsLink(entry.linkname))
    ? entry.name
    : 'lifeboat-long-name';
}

/** ASCII, and splittable into ustar's 155-byte prefix and 100-byte name at a slash. */
function fitsUstar(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: any byte outside ASCII disqualifies.
  if (!/^[\x00-\x7f]*$/.test(name)) return false;
  if (name.length <= 100) return true;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100) return true;
  }
  return false;
}

function fitsLink(linkname: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: any byte outside ASCII disqualifies.
  return linkname.length <= 100 && /^[\x00-\x7f]*$/.test(linkname);
}
