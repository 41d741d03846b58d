import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

/**
 * Synthetic kernel modules and roots for the module-capture tests: a minimal ELF64 object with a
 * `.modinfo` section, and a merged-/usr root with depmod-style metadata.
 */

/** An ELF64 LE object whose only sections are `.modinfo` (the given `key=value`s) and `.shstrtab`. */
export function elfWithModinfo(entries: readonly string[]): Buffer {
  const modinfo = Buffer.from(entries.map((e) => `${e}\0`).join(''));
  const names = Buffer.from('\0.modinfo\0.shstrtab\0');
  const modinfoAt = 64;
  const namesAt = modinfoAt + modinfo.length;
  const tableAt = Math.ceil((namesAt + names.length) / 8) * 8;
  const out = Buffer.alloc(tableAt + 3 * 64);
  out.writeUInt32LE(0x464c457f, 0);
  out[4] = 2; // ELFCLASS64
  out[5] = 1; // little-endian
  out[6] = 1; // EV_CURRENT
  out.writeUInt16LE(1, 0x10); // ET_REL, as modules are
  out.writeUInt16LE(62, 0x12); // x86-64
  out.writeBigUInt64LE(BigInt(tableAt), 0x28);
  out.writeUInt16LE(64, 0x34);
  out.writeUInt16LE(64, 0x3a);
  out.writeUInt16LE(3, 0x3c);
  out.writeUInt16LE(2, 0x3e);
  modinfo.copy(out, modinfoAt);
  names.copy(out, namesAt);
  const header = (
    index: number,
    nameOffset: number,
    type: number,
    offset: number,
    size: number,
  ) => {
    const at = tableAt + index * 64;
    out.writeUInt32LE(nameOffset, at);
    out.writeUInt32LE(type, at + 4);
    out.writeBigUInt64LE(BigInt(offset), at + 24);
    out.writeBigUInt64LE(BigInt(size), at + 32);
  };
  header(1, 1, 1 /* PROGBITS */, modinfoAt, modinfo.length);
  header(2, 10, 3 /* STRTAB */, namesAt, names.length);
  return out;
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
