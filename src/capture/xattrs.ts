import { execa } from 'execa';
import type { Log } from '../log/log.js';
import { compareByteOrder } from './canonical-json.js';

/**
 * Extended attributes of files on this machine, read with the host's `getfattr` (package
 * `attr`): Node has no xattr API, and getfattr only reads. Every namespace is kept (`--match=-`):
 * security.capability is what lets a non-root `ping` work, system.posix_acl_* are the ACLs,
 * security.selinux the labels; a rescue system that restores files needs all of them.
 *
 * getfattr prints one block per file that has attributes (files without any print nothing):
 *
 *   # file: /path/of/the/file
 *   user.name=0sBASE64
 *   <empty line>
 *
 * Bytes in paths and names that would break this layout (newline, `\`, `=` in names) are written
 * as `\ooo` octal escapes; the output is otherwise the raw bytes of the names.
 */

/** name → base64 value, names sorted by bytes. */
export type Xattrs = Record<string, string>;

export interface XattrResult {
  /** Host path → its attributes; files without attributes are absent. */
  xattrs: Map<string, Xattrs>;
  warnings: string[];
}

export const GETFATTR_MISSING_WARNING =
  'xattrs not captured: getfattr (package attr) is not installed';

/** Files per getfattr run, and the bytes of their paths: well below ARG_MAX (2 MiB on Linux). */
const BATCH_FILES = 500;
const BATCH_BYTES = 256 * 1024;

export interface ReadXattrsOptions {
  log?: Pick<Log, 'debug'>;
  /** The program to run (tests point it at a missing one). */
  getfattr?: string;
}

export async function readXattrs(
  hostPaths: Iterable<string>,
  options: ReadXattrsOptions = {},
): Promise<XattrResult> {
  const getfattr = options.getfattr ?? 'getfattr';
  const xattrs = new Map<string, Xattrs>();
  const warnings: string[] = [];
  for (const batch of batches([...new Set(hostPaths)])) {
    options.log?.debug(`xattrs: ${getfattr} on ${batch.length} files`);
    const result = await execa(
      getfattr,
      [
        '--absolute-names',
        '--no-dereference',
        '--dump',
        '--match=-',
        '--encoding=base64',
        '--',
        ...batch,
      ],
      {
        encoding: 'buffer',
        reject: false,
        stdin: 'ignore',
        // The messages are parsed for the warnings: keep them untranslated.
        env: { LC_ALL: 'C' },
      },
    );
    if (result.code === 'ENOENT')
      return { xattrs: new Map(), warnings: [GETFATTR_MISSING_WARNING] };
    if (result.exitCode === undefined) {
      // Killed, or could not be started for another reason: not a per-file problem.
      throw new Error(`xattrs: ${getfattr} failed: ${result.shortMessage}`);
    }
    // Exit status 1 with a message per file it could not read (vanished, permission denied);
    // the other files of the batch are still printed.
    const stderr = Buffer.from(result.stderr).toString('utf8').trim();
    if (stderr !== '') {
      for (const line of stderr.split('\n')) warnings.push(`xattrs not captured: ${line.trim()}`);
    }
    const wanted = new Set(batch);
    for (const [path, attributes] of parseGetfattrDump(Buffer.from(result.stdout))) {
      if (!wanted.has(path))
        throw new Error(`xattrs: ${getfattr} printed an unexpected file ${path}`);
      xattrs.set(path, attributes);
    }
  }
  return { xattrs, warnings };
}

function* batches(paths: string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    const size = Buffer.byteLength(path) + 1;
    if (batch.length > 0 && (batch.length >= BATCH_FILES || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(path);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

const FILE_HEADER = '# file: ';

/**
 * The blocks of `getfattr --dump --encoding=base64` output: path → attributes (names sorted).
 * The text is handled as latin1 so that every byte stays one character until the escapes are
 * undone; names and paths are then decoded as UTF-8, as Node encoded the paths it passed.
 */
export function parseGetfattrDump(output: Buffer): Map<string, Xattrs> {
  const blocks = new Map<string, Xattrs>();
  let current: [string, string][] | undefined;
  let currentPath = '';
  const finish = (): void => {
    if (current === undefined) return;
    current.sort(([a], [b]) => compareByteOrder(a, b));
    blocks.set(currentPath, Object.fromEntries(current));
    current = undefined;
  };
  for (const line of output.toString('latin1').split('\n')) {
    if (line === '') {
      finish();
    } else if (line.startsWith(FILE_HEADER)) {
      finish();
      currentPath = unescapeOctal(line.slice(FILE_HEADER.length));
      current = [];
    } else {
      const equals = line.indexOf('=');
      if (current === undefined || equals < 0) {
        throw new Error(`xattrs: unexpected getfattr output line: ${JSON.stringify(line)}`);
      }
      const value = line.slice(equals + 1);
      if (!value.startsWith('0s')) {
        throw new Error(`xattrs: getfattr did not print base64: ${JSON.stringify(line)}`);
      }
      current.push([unescapeOctal(line.slice(0, equals)), value.slice(2)]);
    }
  }
  finish();
  return blocks;
}

/** getfattr's `\ooo` escapes undone, the bytes read as UTF-8. */
function unescapeOctal(latin1: string): string {
  const raw = latin1.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
  return Buffer.from(raw, 'latin1').toString('utf8');
}
