import { createWriteStream } from 'node:fs';
import { chmod, lutimes, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { RunningContainer } from './container.js';

/**
 * Copies the named files of a directory in the builder container into `dir` on this machine,
 * each 0600 (an initrd can hold keys the recipe asked for).
 */
export async function copyOutOfContainer(
  container: RunningContainer,
  containerDir: string,
  dir: string,
  names: readonly string[],
): Promise<void> {
  const wanted = new Set(names);
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    // The engine's archive names entries under the directory's own name: "out/initrd.img".
    const name = header.name.split('/').slice(1).join('/');
    if (header.type === 'file' && wanted.has(name)) {
      pipeline(stream, createWriteStream(join(dir, name), { mode: 0o600 })).then(
        () => next(),
        next,
      );
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  await pipeline(await container.getArchive(containerDir), reader as never);
}

/**
 * Copies a whole directory of the builder container (a PXE tree) to `dir` on this machine (which
 * must not exist yet): its directories, regular files and symlinks, with the modes the container
 * gave them; any other kind of entry, or a name that would leave `dir`, is refused.
 */
export async function copyTreeOutOfContainer(
  container: RunningContainer,
  containerDir: string,
  dir: string,
): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    // "tree/pxelinux.cfg/default" → "pxelinux.cfg/default"; the directory itself is "tree/".
    const name = header.name.split('/').slice(1).join('/').replace(/\/$/, '');
    const mode = (header.mode ?? 0o644) & 0o777;
    const path = join(dir, name);
    // The container's dates (SOURCE_DATE_EPOCH) stay: a served tree is the same on every build.
    const mtime = header.mtime ?? new Date(0);
    const done = (work: Promise<unknown>) =>
      work.then(
        () => next(),
        (error: unknown) => next(error as Error),
      );
    if (name === '') {
      stream.resume();
      done(chmod(dir, mode));
    } else if (name.split('/').includes('..')) {
      stream.resume();
      next(new Error(`${containerDir}: the archive names ${header.name}`));
    } else if (header.type === 'directory') {
      stream.resume();
      done(mkdir(path, { mode }).then(() => chmod(path, mode)));
    } else if (header.type === 'symlink' && header.linkname) {
      stream.resume();
      done(symlink(header.linkname, path).then(() => lutimes(path, mtime, mtime)));
    } else if (header.type === 'file') {
      done(
        pipeline(stream, createWriteStream(path, { mode }))
          .then(() => chmod(path, mode))
          .then(() => lutimes(path, mtime, mtime)),
      );
    } else {
      stream.resume();
      next(
        new Error(
          `${containerDir}: ${header.name} is a ${header.type}, not a file, directory or link`,
        ),
      );
    }
  });
  await pipeline(await container.getArchive(containerDir), reader as never);
}
