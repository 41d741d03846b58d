import { createHash } from 'node:crypto';
import { JobError } from '../errors.js';
import type { CpioEntry } from './cpio-entry.js';
import { type ByteString, byteStringOf, displayPath, parentPath, ROOT_PATH } from './cpio-path.js';

/**
 * A layered initrd: the kernel unpacks several newc archives, each compressed on its own, one
 * after the other into the same rootfs, a later one's entries over an earlier one's. lifeboat
 * makes two: a base layer that depends only on the recipe, the builder image and lifeboat (the
 * same for every host built with them, so it is made once and cached), and a host layer that
 * holds what differs from it in the finished rescue root (kernel modules, firmware, captured
 * programs and files, the host's configuration).
 *
 * The host layer is found by comparison, not by knowing which step wrote what: every entry of
 * the base is fingerprinted (type, mode, owner, time, and its bytes, target or device), and the
 * finished tree's entries whose fingerprint differs, or that the base lacks, make the host layer,
 * with their parent directories as the finished tree has them. The kernel's unpacking cannot
 * delete, so a finished tree that lacks a base entry is refused (it would boot with that entry).
 */

/** Path (as its byte string) → fingerprint, for every entry of a base layer. */
export type LayerIndex = Map<string, string>;

async function bodyDigest(entry: Extract<CpioEntry, { type: 'file' }>): Promise<string> {
  const hash = createHash('sha256');
  if (entry.body instanceof Uint8Array) hash.update(entry.body);
  else for await (const chunk of entry.body.chunks()) hash.update(chunk);
  return hash.digest('hex');
}

async function fingerprintOf(entry: CpioEntry): Promise<string> {
  if (entry.type === 'hardlink') return `hardlink ${byteStringOf(entry.target)}`;
  const common = `${entry.type} ${entry.mode & 0o7777} ${entry.uid}:${entry.gid} ${entry.mtime}`;
  switch (entry.type) {
    case 'file':
      return `${common} ${await bodyDigest(entry)}`;
    case 'symlink':
      return `${common} -> ${byteStringOf(entry.target)}`;
    case 'character-device':
    case 'block-device':
      return `${common} ${entry.devmajor}:${entry.devminor}`;
    default:
      return common;
  }
}

const pathOf = (entry: CpioEntry): ByteString => byteStringOf(entry.path);

/** Passes `entries` through unchanged, recording each one's fingerprint in `index`. */
export async function* indexed(
  entries: AsyncIterable<CpioEntry>,
  index: LayerIndex,
): AsyncGenerator<CpioEntry> {
  for await (const entry of entries) {
    index.set(pathOf(entry), await fingerprintOf(entry));
    yield entry;
  }
}

/**
 * The entries of the finished tree `entries` that the base layer `base` does not already hold
 * as they are, plus the parent directories they need. A hardlink to a file that stays in the
 * base becomes a copy of that file (the kernel forgets an archive's inodes at its end).
 */
export async function* overBase(
  entries: AsyncIterable<CpioEntry>,
  base: LayerIndex,
): AsyncGenerator<CpioEntry> {
  const directories = new Map<ByteString, CpioEntry>();
  const filesLeftInBase = new Map<ByteString, Extract<CpioEntry, { type: 'file' }>>();
  const emitted = new Set<ByteString>();
  const seen = new Set<string>();
  const parentsNeeded = new Set<ByteString>();
  for await (const entry of entries) {
    const path = pathOf(entry);
    seen.add(path);
    if (entry.type === 'directory') directories.set(path, entry);
    const fingerprint = await fingerprintOf(entry);
    if (base.get(path) === fingerprint) {
      if (entry.type === 'file') filesLeftInBase.set(path, entry);
      continue;
    }
    let layered: CpioEntry = entry;
    if (entry.type === 'hardlink') {
      const file = filesLeftInBase.get(byteStringOf(entry.target));
      if (file) layered = { ...file, path: entry.path };
    }
    emitted.add(path);
    for (let parent = parentPath(path); parent !== ROOT_PATH; parent = parentPath(parent))
      parentsNeeded.add(parent);
    yield layered;
  }
  const missing = [...base.keys()].filter((path) => !seen.has(path));
  if (missing.length > 0) {
    const named = missing
      .slice(0, 5)
      .map((path) => displayPath(path as ByteString))
      .join(', ');
    throw new JobError(
      `the host layer of the initrd would have to remove ${missing.length} entr${missing.length === 1 ? 'y' : 'ies'} of the base layer (${named}), which unpacking cannot do`,
      {
        hint: 'a step that deletes a file of the rescue base belongs in the base (assemble-rootfs --phase base)',
      },
    );
  }
  for (const parent of [...parentsNeeded].sort()) {
    const directory = directories.get(parent);
    if (directory && !emitted.has(parent)) yield directory;
  }
}
