import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { compareByteOrder } from '../capture/canonical-json.js';
import { type LayerEntry, writeLayer } from './capture-layer-tar.js';

/**
 * A directory of this machine as a layer: skeleton layers (skel/default...), a recipe's overlays,
 * lifeboat's rescue bundle. The same determinism as the capture layer: byte order of path, mtime
 * 0, and everything owned by root (a checkout belongs to whoever made it; the rescue system's
 * files belong to root). Modes are the files' own (git keeps the executable bit).
 *
 * Directory entries are included, so a layer can carry a directory's mode (/root/.ssh 0700): put
 * the stream into an empty directory and let assemble-rootfs merge it, which keeps the rootfs's
 * directory symlinks (/lib -> usr/lib); extracted straight over a rootfs it would replace them.
 * Sockets, FIFOs and device nodes are refused: no layer needs them.
 */
export async function directoryLayer(dir: string): Promise<Readable> {
  const entries: LayerEntry[] = [];
  await walk(dir, '', entries);
  entries.sort((a, b) => compareByteOrder(a.name, b.name));
  const tar = pack();
  writeLayer(tar, entries, (source) => createReadStream(source.file)).catch((error: unknown) =>
    tar.destroy(error as Error),
  );
  return Readable.from(tar as unknown as AsyncIterable<Buffer>);
}

async function walk(root: string, relative: string, into: LayerEntry[]): Promise<void> {
  const names = await readdir(join(root, relative));
  for (const name of names) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const file = join(root, path);
    const stat = await lstat(file);
    const base = { name: path, mode: stat.mode & 0o7777, uid: 0, gid: 0 };
    if (stat.isDirectory()) {
      into.push({ ...base, type: 'directory' });
      await walk(root, path, into);
    } else if (stat.isSymbolicLink()) {
      into.push({ ...base, type: 'symlink', mode: 0o777, linkname: await readlink(file) });
    } else if (stat.isFile()) {
      into.push({ ...base, type: 'file', source: { file, size: stat.size, path: file } });
    } else {
      throw new Error(`${file}: only files, directories and symlinks can go into a layer`);
    }
  }
}
