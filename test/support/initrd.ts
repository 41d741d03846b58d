import { mkdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { parseNewc } from '../build/cpio-support.js';

/**
 * Reading a built initrd as the kernel does. It is a layered initrd (src/initrd/cpio-layers.ts):
 * compressed newc archives one after the other, a later one's entries over an earlier one's.
 * GNU cpio stops at the first archive's trailer, so a test that fed it the whole file would see
 * the base layer only (and miss everything host-specific): these helpers read every layer.
 */

const MAGIC: [Buffer, string[]][] = [
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), ['zstd', '-dc']],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), ['xz', '-dc']],
  [Buffer.from([0x1f, 0x8b]), ['gzip', '-dc']],
];

/** The uncompressed bytes: every layer's archive, in order (each decompressor reads them all). */
async function uncompressed(initrd: string): Promise<Buffer> {
  const head = readFileSync(initrd).subarray(0, 6);
  const decompressor = MAGIC.find(([magic]) => head.subarray(0, magic.length).equals(magic))?.[1];
  if (!decompressor) return readFileSync(initrd);
  const [program, ...args] = decompressor as [string, ...string[]];
  const result = await execa(program, [...args, initrd], {
    encoding: 'buffer',
    maxBuffer: 2 ** 31,
  });
  return Buffer.from(result.stdout);
}

/** The newc archives of an initrd, in the order the kernel unpacks them. */
export async function initrdArchives(initrd: string): Promise<Buffer[]> {
  const bytes = await uncompressed(initrd);
  const archives: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    // Between archives: the NULs that pad each one (the kernel skips them too).
    if (bytes[offset] === 0) {
      offset += 1;
      continue;
    }
    const { trailerEnd } = parseNewc(bytes.subarray(offset));
    archives.push(bytes.subarray(offset, offset + trailerEnd));
    offset += trailerEnd;
  }
  return archives;
}

export interface InitrdMember {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  data: Buffer;
}

/** Every path of the unpacked initrd, as the last layer that holds it has it. */
export async function initrdMembers(initrd: string): Promise<Map<string, InitrdMember>> {
  const members = new Map<string, InitrdMember>();
  for (const archive of await initrdArchives(initrd))
    for (const record of parseNewc(archive).records)
      members.set(record.name, {
        name: record.name,
        mode: record.mode,
        uid: record.uid,
        gid: record.gid,
        data: record.data,
      });
  return members;
}

/** One file of the unpacked initrd (`etc/lifeboat/site.yaml`), or undefined. */
export async function initrdFile(initrd: string, path: string): Promise<Buffer | undefined> {
  return (await initrdMembers(initrd)).get(path)?.data;
}

/** Unpacks the initrd into `into` with GNU cpio, layer over layer, as the kernel does. */
export async function unpackInitrd(initrd: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  for (const archive of await initrdArchives(initrd))
    await execa(
      'cpio',
      ['--extract', '--make-directories', '--unconditional', '--no-absolute-filenames', '--quiet'],
      { cwd: into, input: archive },
    );
}
