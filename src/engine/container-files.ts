import { createWriteStream } from 'node:fs';
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
