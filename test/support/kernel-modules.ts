import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { buildElf } from './elf-builder.js';

/**
 * Synthetic kernel modules and roots for the module-capture tests: a minimal ELF64 object with a
 * `.modinfo` section (made by the ELF reader's test builder), and a merged-/usr root with
 * depmod-style metadata.
 */

/**
 * An ELF64 LE relocatable object (as modules are) whose only sections are `.modinfo` (the given
 * `key=value`s) and `.shstrtab`. The builder adds one PT_LOAD header, which section readers ignore.
 */
export function elfWithModinfo(entries: readonly string[]): Buffer {
  const modinfo = Buffer.from(entries.map((e) => `${e}\0`).join(''));
  return buildElf({ type: 1 /* ET_REL */, sections: [{ name: '.modinfo', data: modinfo }] });
}

/** Compresses like Debian's kernel packaging would (`.xz`, `.zst`, `.gz` suffix of the path). */
export async function compressFor(path: string, data: Buffer): Promise<Buffer> {
  const tool = path.endsWith('.xz')
    ? ['xz', '--check=crc32', '--stdout']
    : path.endsWith('.zst')
      ? ['zstd', '--stdout', '--quiet']
      : path.endsWith('.gz')
        ? ['gzip', '-n', '--stdout']
        : undefined;
  if (tool === undefined) return data;
  const [file, ...args] = tool as [string, ...string[]];
  const { stdout } = await execa(file, args, {
    input: data,
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  return Buffer.from(stdout);
}

export interface TempRoot {
  root: string;
  /** Writes a file at a root-relative path (parents made). */
  write(path: string, data: string | Buffer): Promise<void>;
  link(path: string, target: string): Promise<void>;
  remove(): Promise<void>;
}

/** A temporary root laid out like merged-/usr Debian: lib -> usr/lib. */
export async function makeTempRoot(): Promise<TempRoot> {
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-modules-'));
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  return {
    root,
    async write(path, data) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), data);
    },
    async link(path, target) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await symlink(target, join(root, path));
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
