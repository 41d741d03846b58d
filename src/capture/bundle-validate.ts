import { UsageError } from '../errors.js';
import { isSha256 } from './bundle-store.js';
import { CAPTURE_SCHEMA, type CaptureManifest } from './manifest.js';

/**
 * Reading a capture.json someone hands us. It may come from another lifeboat version, another
 * tool, or a disk that lost bytes, and its sha256 fields become file names: so the format is
 * checked before anything is used, and every failure names the file and what is wrong with it.
 * The sections other than `files` are checked for presence only: they are data for the build,
 * which reads them with their own expectations.
 */

/** The schema prefix of every version of the format (a capture we may replace). */
export const CAPTURE_SCHEMA_FAMILY = 'lifeboat.capture/';

const SECTIONS = [
  'source',
  'identity',
  'programs',
  'libraries',
  'copyAsIs',
  'kernel',
  'network',
  'bootloader',
  'layout',
] as const;

/** The manifest in `text` (the content of `file`); UsageError when it is not one we can read. */
export function parseManifest(text: string, file: string): CaptureManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${file} is not valid JSON (${(error as Error).message}): not a lifeboat capture, or a damaged one`,
    );
  }
  if (!isObject(value) || typeof value.schema !== 'string') {
    throw new UsageError(`${file} is not a lifeboat capture (no "schema" field)`);
  }
  if (value.schema !== CAPTURE_SCHEMA) {
    throw new UsageError(
      value.schema.startsWith(CAPTURE_SCHEMA_FAMILY)
        ? `${file} is in the format ${value.schema}; this lifeboat reads ${CAPTURE_SCHEMA}`
        : `${file} is not a lifeboat capture (schema ${JSON.stringify(value.schema)})`,
      { hint: 'Capture the host again with this version of lifeboat.' },
    );
  }
  const damaged = (what: string): UsageError =>
    new UsageError(`${file} is damaged: ${what}`, { hint: 'Capture the host again.' });
  for (const section of SECTIONS) {
    if (!(section in value)) throw damaged(`the "${section}" section is missing`);
    // kernel and layout are null when the host had none; every other section is a mapping.
    const nullable = section === 'kernel' || section === 'layout';
    if (!isObject(value[section]) && !(nullable && value[section] === null))
      throw damaged(`the "${section}" section is not a mapping`);
  }
  const identity = value.identity as Record<string, unknown>;
  for (const key of ['hostname', 'arch'])
    if (typeof identity[key] !== 'string') throw damaged(`identity.${key} is not a string`);
  if (!Array.isArray(value.warnings) || !value.warnings.every((w) => typeof w === 'string')) {
    throw damaged('"warnings" is not a list of strings');
  }
  if (!Array.isArray(value.files)) throw damaged('"files" is not a list');
  const symlinks = new Set<string>();
  value.files.forEach((record, index) => {
    const problem =
      fileRecordProblem(record) ?? throughSymlink(record as { path: string }, symlinks);
    if (problem !== undefined) throw damaged(`files[${index}]: ${problem}`);
    if ((record as { type: string }).type === 'symlink')
      symlinks.add((record as { path: string }).path);
  });
  return value as unknown as CaptureManifest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MODE = /^[0-7]{4}$/;

function isId(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** What is wrong with a files[] entry, or undefined when it is a valid FileRecord. */
function fileRecordProblem(record: unknown): string | undefined {
  if (!isObject(record)) return 'not an object';
  if (typeof record.path !== 'string' || !record.path.startsWith('/'))
    return 'path is not absolute';
  // A path is where the file goes in the rescue system: one that climbs (/../tmp/x) or is spelt
  // two ways (/etc//x, /etc/./x) would land somewhere else than it says.
  const segments = record.path.split('/').slice(1);
  if (
    record.path !== '/' &&
    segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))
  )
    return `${JSON.stringify(record.path)}: not a plain path (no "..", ".", "//" or NUL)`;
  const at = record.path;
  if (!isId(record.uid) || !isId(record.gid)) return `${at}: uid/gid are not numbers`;
  switch (record.type) {
    case 'symlink':
      return typeof record.target === 'string' && record.target !== ''
        ? undefined
        : `${at}: symlink without a target`;
    case 'dir':
      if (typeof record.mode !== 'string' || !MODE.test(record.mode)) return `${at}: bad mode`;
      return xattrsProblem(record.xattrs, at);
    case 'file':
      if (typeof record.mode !== 'string' || !MODE.test(record.mode)) return `${at}: bad mode`;
      if (!isId(record.size)) return `${at}: bad size`;
      if (typeof record.sha256 !== 'string' || !isSha256(record.sha256)) return `${at}: bad sha256`;
      return xattrsProblem(record.xattrs, at);
    default:
      return `${at}: unknown type ${JSON.stringify(record.type)}`;
  }
}

/**
 * A record under a symlink the capture also holds (/etc/zz -> /, then /etc/zz/x): the build
 * would write through the link, somewhere else than the path says. Records are sorted, so a
 * link comes before what is under it.
 */
function throughSymlink(
  record: { path: string },
  symlinks: ReadonlySet<string>,
): string | undefined {
  const parts = record.path.split('/');
  for (let i = parts.length - 1; i > 1; i--) {
    const above = parts.slice(0, i).join('/');
    if (symlinks.has(above)) return `${record.path}: lies under the symlink ${above}`;
  }
  return undefined;
}

function xattrsProblem(xattrs: unknown, at: string): string | undefined {
  if (xattrs === undefined) return undefined;
  if (!isObject(xattrs) || !Object.values(xattrs).every((v) => typeof v === 'string')) {
    return `${at}: bad xattrs`;
  }
  return undefined;
}
