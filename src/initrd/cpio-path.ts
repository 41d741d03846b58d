import { JobError } from '../errors.js';

/**
 * Paths inside an initramfs archive, kept as the bytes they are.
 *
 * Linux file names are bytes, not text: a rescue root may hold names that are not valid UTF-8,
 * and the archive must carry them unchanged. A `ByteString` is a JS string with one character
 * per byte (code units 0-255, what Buffer's 'latin1' encoding gives), so it works as a Map key
 * and `<` compares it in byte order, the order `LC_ALL=C sort` gives.
 */
export type ByteString = string & { readonly __byteString: unique symbol };

/** The root directory of the archive; written as `.` (see NEWC_ROOT_NAME in cpio-newc.ts). */
export const ROOT_PATH = '' as ByteString;

export function byteStringFromBytes(bytes: Uint8Array): ByteString {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
    'latin1',
  ) as ByteString;
}

/** A JS string taken as text: its UTF-8 bytes. */
export function byteStringFromText(text: string): ByteString {
  return Buffer.from(text, 'utf8').toString('latin1') as ByteString;
}

/** A name given as text (UTF-8) or as raw bytes. */
export function byteStringOf(name: string | Uint8Array): ByteString {
  return typeof name === 'string' ? byteStringFromText(name) : byteStringFromBytes(name);
}

export function bytesOf(path: ByteString): Buffer {
  return Buffer.from(path, 'latin1');
}

/** For messages: the path as text (invalid UTF-8 shows as U+FFFD), quoted. */
export function displayPath(path: ByteString): string {
  return JSON.stringify(path === ROOT_PATH ? '.' : bytesOf(path).toString('utf8'));
}

/**
 * The archive path of an entry name as tar or a caller spells it: `./usr/bin/`, `/usr/bin`,
 * `usr//bin` and `usr/./bin` are all `usr/bin`; `.`, `./` and `/` are the root. The first
 * `stripComponents` components are dropped (like tar's --strip-components); a name with fewer
 * components than that is outside the tree and gives undefined, a name with exactly that many is
 * the root. A `..` component is refused: an initramfs entry can't point outside its root, and
 * honouring it would let a crafted tar write anywhere.
 */
export function normaliseArchivePath(
  name: ByteString,
  stripComponents = 0,
): ByteString | undefined {
  const components = name.split('/').filter((c) => c !== '' && c !== '.');
  if (components.includes('..')) {
    throw new JobError(`archive entry ${displayPath(name)} has a '..' component`, {
      hint: 'the rescue root must be a plain tree: entries may not climb out of it',
    });
  }
  if (components.length < stripComponents) return undefined;
  return components.slice(stripComponents).join('/') as ByteString;
}

/** The directory holding `path` (ROOT_PATH for a top-level entry). */
export function parentPath(path: ByteString): ByteString {
  const slash = path.lastIndexOf('/');
  return (slash < 0 ? ROOT_PATH : path.slice(0, slash)) as ByteString;
}

/**
 * Byte order of paths, the archive's order. A parent is a prefix of its children, so it sorts
 * before them ("dir" < "dir-x" < "dir/x"), and the root (the empty path) sorts first, as `.`
 * does in `find . | LC_ALL=C sort`.
 */
export function compareArchivePaths(a: ByteString, b: ByteString): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
