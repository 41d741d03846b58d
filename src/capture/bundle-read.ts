import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { bundleFilePath, hashStoreFile } from './bundle-store.js';
import { parseManifest } from './bundle-validate.js';
import { compareByteOrder } from './canonical-json.js';
import { type CaptureManifest, MANIFEST_FILE } from './manifest.js';

/** Reading a capture bundle back, and checking its store against its manifest. */

export interface Bundle {
  manifest: CaptureManifest;
  /** The bundle directory, absolute. */
  dir: string;
}

/** The bundle at `dir`; UsageError naming capture.json when it is missing, foreign or damaged. */
export async function readBundle(dir: string): Promise<Bundle> {
  const absolute = resolve(dir);
  const file = join(absolute, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UsageError(`${file} does not exist: ${absolute} is not a lifeboat capture`, {
        hint: 'Give the directory written by `lifeboat capture --out`.',
      });
    }
    throw error;
  }
  return { manifest: parseManifest(text, file), dir: absolute };
}

export interface StoreProblem {
  sha256: string;
  /** The store file. */
  file: string;
  /** missing: no such file; mismatch: its content does not hash to its name (or it is no file). */
  problem: 'missing' | 'mismatch';
  /** The manifest paths with this content, sorted. */
  paths: string[];
}

/** The files of the problems, for a message: `/etc/x (missing), /usr/bin/y (damaged)`, at most `max`. */
export function describeStoreProblems(problems: readonly StoreProblem[], max = 5): string {
  const named = problems.flatMap((p) =>
    p.paths.map((path) => `${path} (${p.problem === 'missing' ? 'missing' : 'damaged'})`),
  );
  const more = named.length - max;
  return `${named.slice(0, max).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The store files the manifest needs that are missing or damaged, sorted by sha256; [] when sound. */
export async function verifyBundle(dir: string): Promise<StoreProblem[]> {
  const { manifest, dir: absolute } = await readBundle(dir);
  const paths = new Map<string, string[]>();
  for (const record of manifest.files) {
    if (record.type !== 'file') continue;
    const named = paths.get(record.sha256);
    if (named === undefined) paths.set(record.sha256, [record.path]);
    else named.push(record.path);
  }
  const problems: StoreProblem[] = [];
  for (const sha256 of [...paths.keys()].sort()) {
    const file = bundleFilePath(absolute, sha256);
    const actual = await hashStoreFile(file);
    if (actual === sha256) continue;
    problems.push({
      sha256,
      file,
      problem: actual === undefined ? 'missing' : 'mismatch',
      paths: (paths.get(sha256) ?? []).sort(compareByteOrder),
    });
  }
  return problems;
}
