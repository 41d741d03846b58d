import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { bundleFilePath, readBundle } from '../capture/bundle.js';
import { compareByteOrder } from '../capture/canonical-json.js';
import { type FileRecord, MANIFEST_FILE } from '../capture/manifest.js';
import { JobError } from '../errors.js';
import { captureFacts } from './capture-layer-facts.js';
import { type LayerEntry, writeLayer } from './capture-layer-tar.js';

/**
 * The capture layer: the file tree a capture bundle describes, as a tar stream to extract over
 * the rescue rootfs (steps/assemble-rootfs --capture DIR merges it). Regular files come from the
 * bundle's store (files/<sha256>, checked against their hash as they stream), with the modes,
 * owners and extended attributes the manifest recorded; symlinks and directories from the
 * manifest alone. Beside the host's files it carries what the rescue system's /init and the
 * later recovery read about the host: /etc/lifeboat/capture.json, /etc/lifeboat/modules and
 * /etc/lifeboat/network.capture (see capture-layer-facts.ts).
 *
 * Deterministic: entries in byte order of path, every mtime 0 (assemble-rootfs sets them all to
 * SOURCE_DATE_EPOCH afterwards), numeric owners without names. Extended attributes travel as pax
 * `SCHILY.xattr.*` records (what GNU tar and the Docker engine read), binary-safe. Parent
 * directories the manifest does not list are left out on purpose: extracting a directory entry
 * `lib/` over the rescue root's `lib -> usr/lib` symlink would replace the symlink.
 */
export interface CaptureLayerOptions {
  /**
   * Put the kernel image (kernel.image, e.g. /boot/vmlinuz-...) in the tree too. Off by default:
   * the kernel boots beside the initrd, and inside it would only cost memory.
   */
  includeKernelImage?: boolean;
  /** Add the /etc/lifeboat facts files. On by default. */
  facts?: boolean;
}

/**
 * The capture layer of the bundle at `bundleDir`. The manifest is read before this resolves (a
 * missing or damaged bundle is a UsageError here); a store file that is missing or does not match
 * its hash makes the stream fail with a JobError naming it.
 */
export async function captureLayer(
  bundleDir: string,
  options: CaptureLayerOptions = {},
): Promise<Readable> {
  const { manifest, dir } = await readBundle(bundleDir);
  const entries = new Map<string, LayerEntry>();
  const kernelImage = options.includeKernelImage ? null : (manifest.kernel?.image ?? null);
  for (const record of manifest.files) {
    if (record.path === kernelImage) continue;
    const entry = recordEntry(record, dir);
    if (entry !== undefined) entries.set(entry.name, entry);
  }
  if (options.facts !== false) {
    const manifestBytes = await readFile(join(dir, MANIFEST_FILE));
    for (const [name, content] of captureFacts(manifest, manifestBytes)) {
      // The facts win over a host file of the same name (a host running lifeboat has its own).
      entries.set(name, { name, type: 'file', mode: 0o644, uid: 0, gid: 0, content });
    }
  }
  const sorted = [...entries.values()].sort((a, b) => compareByteOrder(a.name, b.name));
  const tar = pack();
  writeLayer(tar, sorted, openStoreFile).catch((error: unknown) => tar.destroy(error as Error));
  return Readable.from(tar as unknown as AsyncIterable<Buffer>);
}

/** The tar entry for one manifest record, or undefined for a path that names the root itself. */
function recordEntry(record: FileRecord, bundleDir: string): LayerEntry | undefined {
  const name = record.path.replace(/^\/+/, '');
  if (name === '') return undefined;
  const owner = { uid: record.uid, gid: record.gid };
  switch (record.type) {
    case 'file':
      return {
        name,
        type: 'file',
        mode: Number.parseInt(record.mode, 8),
        ...owner,
        xattrs: record.xattrs,
        source: {
          file: bundleFilePath(bundleDir, record.sha256),
          size: record.size,
          sha256: record.sha256,
          path: record.path,
        },
      };
    case 'symlink':
      return { name, type: 'symlink', mode: 0o777, ...owner, linkname: record.target };
    case 'dir':
      return {
        name,
        type: 'directory',
        mode: Number.parseInt(record.mode, 8),
        ...owner,
        xattrs: record.xattrs,
      };
  }
}

/** A store file's content, checked against the hash the manifest gives it while it streams. */
async function* openStoreFile(source: NonNullable<LayerEntry['source']>): AsyncIterable<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(source.file)) {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      size += bytes.length;
      yield bytes;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new JobError(
      `The capture bundle lacks the content of ${source.path} (${source.file}${code ? `: ${code}` : ''}).`,
      { hint: 'The bundle is damaged or incomplete: capture the host again.', cause: error },
    );
  }
  const actual = hash.digest('hex');
  if (actual !== source.sha256 || size !== source.size) {
    throw new JobError(
      `The capture bundle's copy of ${source.path} (${source.file}) does not match its manifest (sha256 ${actual}, ${size} bytes; expected ${source.sha256}, ${source.size} bytes).`,
      { hint: 'The bundle is damaged: capture the host again.' },
    );
  }
}
