import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { pack } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { JobError } from '../../src/errors.js';
import { compressorCommand, createCompressor } from '../../src/initrd/compress.js';
import {
  assertNewcFileSize,
  type CpioEntry,
  entriesToNewc,
  NEWC_MAX_FILE_SIZE,
  newcHeader,
  newcTrailer,
  type TarToNewcOptions,
  tarToNewc,
  writeNewc,
} from '../../src/initrd/cpio.js';
import { describeTier } from '../support/tiers.js';
import {
  clampTreeMtimes,
  collect,
  cpioExtract,
  EPOCH,
  expectedSnapshot,
  gnuCpio,
  gnuTar,
  makeTree,
  NON_UTF8_NAME,
  type ParsedRecord,
  parseNewc,
  snapshot,
  tarStreamTar,
  tempDir,
} from './cpio-support.js';

const made: string[] = [];
function scratch(prefix: string): string {
  const dir = tempDir(prefix);
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const file = (path: string, content: string, extra: Partial<CpioEntry> = {}): CpioEntry =>
  ({
    type: 'file',
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: EPOCH - 10,
    body: Buffer.from(content),
    ...extra,
  }) as CpioEntry;
const dir = (path: string, mode = 0o755): CpioEntry => ({
  type: 'directory',
  path,
  mode,
  uid: 0,
  gid: 0,
  mtime: EPOCH - 10,
});

async function archiveOf(entries: CpioEntry[], options = {}): Promise<Buffer> {
  return collect(entriesToNewc(entries, { sourceDateEpoch: EPOCH, ...options }));
}
const names = (archive: Buffer) => parseNewc(archive).records.map((r) => r.name);
const byName = (archive: Buffer) =>
  new Map(parseNewc(archive).records.map((r) => [r.name, r] as const));

describe('newc format', () => {
  it('writes the 110-byte header in upper-case hex, as GNU cpio does', () => {
    const header = newcHeader({
      ino: 1,
      mode: 0o100644,
      uid: 0,
      gid: 0,
      nlink: 1,
      mtime: 0x6553f100,
      fileSize: 11,
      devMajor: 0,
      devMinor: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      nameSize: 6,
      check: 0,
    });
    expect(header.toString('latin1')).toBe(
      '070701' +
        '00000001000081A4000000000000000000000001' +
        '6553F1000000000B000000000000000000000000' +
        '000000000000000600000000',
    );
    expect(() => newcHeader({ ...zeroFields(), fileSize: 2 ** 32 })).toThrow(RangeError);
  });

  it('ends with the TRAILER!!! record GNU cpio writes', () => {
    expect(newcTrailer().toString('latin1')).toBe(
      `070701${'0'.repeat(32)}00000001${'0'.repeat(48)}0000000B00000000TRAILER!!!\0\0\0\0`,
    );
  });

  it('refuses files of 4 GiB and more, naming them', () => {
    expect(() => assertNewcFileSize('big.img' as never, NEWC_MAX_FILE_SIZE)).not.toThrow();
    expect(() => assertNewcFileSize('big.img' as never, 2 ** 32)).toThrow(
      /"big.img" is 4294967296 bytes.*smaller than 4 GiB/,
    );
  });
});

function zeroFields() {
  return {
    ino: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 0,
    mtime: 0,
    fileSize: 0,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    nameSize: 0,
    check: 0,
  };
}

describe('archive layout (from entries)', () => {
  it('normalises names, sorts by bytes and makes up missing parent directories', async () => {
    const archive = await archiveOf([
      file('y//z/./w', 'w'),
      dir('/x/', 0o700),
      file('./a/b/c', 'c'),
      file('a-b', 'sorts between a and a/b'),
    ]);
    expect(names(archive)).toEqual(['.', 'a', 'a-b', 'a/b', 'a/b/c', 'x', 'y', 'y/z', 'y/z/w']);
    const records = byName(archive);
    for (const madeUp of ['.', 'a', 'a/b', 'y', 'y/z']) {
      expect(records.get(madeUp)).toMatchObject({ mode: 0o40755, uid: 0, gid: 0, mtime: EPOCH });
    }
    expect(records.get('x')?.mode).toBe(0o40700);
    // Directories: 2 + subdirectories; inodes count up from 1 in archive order.
    expect(records.get('.')?.nlink).toBe(5);
    expect(records.get('a')?.nlink).toBe(3);
    expect(records.get('y/z')?.nlink).toBe(2);
    expect(parseNewc(archive).records.map((r) => r.ino)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(archive.length % 512).toBe(0);
  });

  it('gives the same bytes whatever order the entries come in', async () => {
    const entries = [
      dir('etc'),
      file('etc/hostname', 'rescue\n'),
      {
        type: 'symlink',
        path: 'etc/mtab',
        target: '../proc/self/mounts',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 5,
      },
      file('bin/busybox', 'elf'),
      { type: 'hardlink', path: 'bin/sh', target: 'bin/busybox' },
    ] as CpioEntry[];
    const forward = await archiveOf(entries);
    const backward = await archiveOf([
      entries[3],
      entries[4],
      entries[2],
      entries[1],
      entries[0],
    ] as CpioEntry[]);
    expect(backward.equals(forward)).toBe(true);
    // Symlink permissions are pinned to 0777, whatever the input said.
    expect(byName(forward).get('etc/mtab')?.mode).toBe(0o120777);
  });

  it('numbers hardlinks once and puts the data on the last name', async () => {
    const archive = await archiveOf([
      file('bin/busybox', 'ELF...', { mode: 0o755 }),
      { type: 'hardlink', path: 'sbin/init', target: 'bin/busybox' },
      { type: 'hardlink', path: 'bin/ash', target: './bin/busybox' },
    ]);
    const records = byName(archive);
    const group = ['bin/ash', 'bin/busybox', 'sbin/init'].map(
      (n) => records.get(n) as ParsedRecord,
    );
    expect(new Set(group.map((r) => r.ino)).size).toBe(1);
    expect(group.map((r) => r.nlink)).toEqual([3, 3, 3]);
    expect(group.map((r) => r.fileSize)).toEqual([0, 0, 6]);
    expect(group[2]?.data.toString()).toBe('ELF...');
    expect(group.map((r) => r.mode)).toEqual([0o100755, 0o100755, 0o100755]);
  });

  it('clamps mtimes to SOURCE_DATE_EPOCH, drops owners unless asked, starts inodes where asked', async () => {
    const entries = [
      file('new', 'n', { mtime: EPOCH + 1000, uid: 1000, gid: 100 }),
      file('old', 'o', { mtime: 1234 }),
    ];
    const clamped = byName(await archiveOf(entries));
    expect(clamped.get('new')).toMatchObject({ mtime: EPOCH, uid: 0, gid: 0 });
    expect(clamped.get('old')?.mtime).toBe(1234);
    const kept = byName(await archiveOf(entries, { keepOwners: true, firstInode: 0 }));
    expect(kept.get('new')).toMatchObject({ uid: 1000, gid: 100 });
    expect(kept.get('.')?.ino).toBe(0);
    const unclamped = byName(await archiveOf(entries, { sourceDateEpoch: undefined }));
    expect(unclamped.get('new')?.mtime).toBe(EPOCH + 1000);
    expect(unclamped.get('.')?.mtime).toBe(0);
  });

  it('replaces an entry named twice, as extracting the tar would', async () => {
    const records = byName(
      await archiveOf([file('etc/motd', 'first'), dir('etc', 0o750), file('etc/motd', 'second')]),
    );
    expect(records.get('etc/motd')?.data.toString()).toBe('second');
    expect(records.get('etc')?.mode).toBe(0o40750);
  });

  it('skips sockets with a warning', async () => {
    const warnings: string[] = [];
    const archive = await archiveOf(
      [file('a', 'a'), { type: 'socket', path: 'run/sock', mode: 0o777, uid: 0, gid: 0, mtime: 0 }],
      { onWarning: (m: string) => warnings.push(m) },
    );
    expect(names(archive)).toEqual(['.', 'a']);
    expect(warnings).toEqual([
      'skipped socket "run/sock": a socket has no meaning in an initramfs',
    ]);
  });

  it('refuses what the kernel could not unpack or tar could not mean, with the path', async () => {
    const fails = (entries: CpioEntry[]) => archiveOf(entries);
    await expect(fails([{ type: 'hardlink', path: 'b', target: 'a' }])).rejects.toThrow(
      /hardlink "b" names "a", which is not an earlier entry/,
    );
    await expect(fails([file('../etc/passwd', 'x')])).rejects.toThrow(/'\.\.' component/);
    await expect(
      fails([
        { type: 'symlink', path: 'lib', target: 'usr/lib', mode: 0o777, uid: 0, gid: 0, mtime: 0 },
        file('lib/libc.so.6', 'x'),
      ]),
    ).rejects.toThrow(/"lib\/libc.so.6" is inside "lib", which is a symlink/);
    await expect(fails([file(`${'n'.repeat(4096)}`, 'x')])).rejects.toThrow(/more than the 4095/);
    await expect(fails([dir('d'), file('d', 'x')])).rejects.toThrow(/both a directory and a file/);
    await expect(fails([file('.', 'x')])).rejects.toThrow(/root must be a directory/);
    await expect(
      fails([file('a', 'x', { body: { size: 2 ** 32, chunks: async function* () {} } })]),
    ).rejects.toThrow(JobError);
  });

  it("strips leading components, as for Docker's getArchive of a directory", async () => {
    const tar = pack();
    tar.entry({ name: 'rescue/', type: 'directory', mode: 0o700, mtime: new Date(0) });
    tar.entry({ name: 'rescue/bin/sh', type: 'file', mode: 0o755 }, Buffer.from('sh'));
    tar.entry({ name: 'rescue/bin/ash', type: 'link', linkname: 'rescue/bin/sh' });
    tar.entry({ name: 'README', type: 'file', mode: 0o644 }, Buffer.from('outside'));
    tar.finalize();
    const archive = await collect(tarToNewc(tar, { sourceDateEpoch: EPOCH, stripComponents: 1 }));
    expect(names(archive)).toEqual(['.', 'bin', 'bin/ash', 'bin/sh']);
    expect(byName(archive).get('.')).toMatchObject({ mode: 0o40700, mtime: 0 });
    expect(byName(archive).get('bin/sh')?.data.toString()).toBe('sh');
  });

  it('writes to a sink with writeNewc', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    await writeNewc([file('a', 'a')], sink, { sourceDateEpoch: EPOCH });
    expect(Buffer.concat(chunks).equals(await archiveOf([file('a', 'a')]))).toBe(true);
  });
});

// Everything below builds real trees: device nodes and chown need root; GNU tar and cpio are the
// oracles.
const hostMissing =
  process.getuid?.() !== 0
    ? 'building test trees needs root (mknod, chown)'
    : ['/usr/bin/cpio', '/usr/bin/tar', '/usr/bin/zstd', '/usr/bin/xz', '/usr/bin/gzip'].find(
        (tool) => !existsSync(tool),
      );
const describeTrees = describeTier(
  'fixture',
  hostMissing === undefined || hostMissing.includes(' ')
    ? hostMissing
    : `${hostMissing} is not installed`,
);

async function ofGnuTar(root: string, options: TarToNewcOptions = {}): Promise<Buffer> {
  const tar = gnuTar(root);
  const [archive] = await Promise.all([
    collect(tarToNewc(tar.stdout, { sourceDateEpoch: EPOCH, ...options })),
    tar.done,
  ]);
  return archive;
}

async function extracted(archive: Buffer): Promise<ReturnType<typeof snapshot>> {
  const into = scratch('out');
  // GNU cpio leaves an existing `.` as it is (the kernel applies the `.` record to the rootfs
  // root); the record itself is checked on the archive. mkdtemp made this one 0700.
  chmodSync(into, 0o755);
  await cpioExtract(archive, into);
  return snapshot(into);
}

describeTrees('archive of a real tree', () => {
  it('round-trips through GNU tar, the writer and GNU cpio: types, modes, links, devices, names', async () => {
    const root = scratch('tree');
    makeTree(root, { hardlinks: true, nonUtf8: true });
    const archive = await ofGnuTar(root);
    const got = await extracted(archive);
    expect(got).toEqual(expectedSnapshot(snapshot(root), { epoch: EPOCH }));
    expect(byName(archive).get('.')).toMatchObject({ mode: 0o40755, uid: 0, mtime: EPOCH });
    // Spot checks of what the comparison covers.
    expect(got.get('dev/null')?.rdev).toBe('1:3');
    expect(got.get('bin/su')?.mode).toBe(0o4755);
    expect(got.get('bin/tool')?.names).toEqual(['bin/tool', 'usr/bin/tool-alias']);
    expect(got.get('z/empty1')?.names).toEqual(['z/empty1', 'z/empty2']);
    expect(got.has(NON_UTF8_NAME.toString('latin1'))).toBe(true);
    expect(got.get('old/ancient')?.mtime).toBe(1_000_000_000);
  });

  it('keeps owners when asked', async () => {
    const root = scratch('owners');
    makeTree(root);
    const got = await extracted(await ofGnuTar(root, { keepOwners: true }));
    expect(got.get('home/user/owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(got).toEqual(expectedSnapshot(snapshot(root), { epoch: EPOCH, keepOwners: true }));
  });

  it('gives the same bytes for the same tree: twice, built in another order and place at other times, from tar-stream', async () => {
    const first = scratch('same-1');
    makeTree(first, { hardlinks: true });
    const second = scratch('same-2');
    makeTree(second, { hardlinks: true, reverse: true, mtime: 1_800_000_000 });

    const reference = await ofGnuTar(first);
    expect((await ofGnuTar(first)).equals(reference)).toBe(true);
    expect((await ofGnuTar(second)).equals(reference)).toBe(true);
    // tar-stream: children before parents, no `./` prefix, PAX names, and no root entry (the
    // root is made up: 0755 and EPOCH, what the clamped tree root says too).
    const fromTarStream = await collect(
      tarToNewc(tarStreamTar(second), { sourceDateEpoch: EPOCH }),
    );
    expect(fromTarStream.equals(reference)).toBe(true);
    // Spilling every body to disk changes nothing but where they wait.
    const spillDir = scratch('spill');
    const spilled = await ofGnuTar(first, { memoryLimit: 0, tempDir: spillDir });
    expect(spilled.equals(reference)).toBe(true);
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it('round-trips a tar-stream tar (PAX long and non-ASCII names)', async () => {
    const root = scratch('tar-stream');
    makeTree(root, { hardlinks: true, nonUtf8: true });
    const tar = tarStreamTar(root, { skip: [NON_UTF8_NAME], rootEntry: true });
    const got = await extracted(await collect(tarToNewc(tar, { sourceDateEpoch: EPOCH })));
    expect(got).toEqual(
      expectedSnapshot(snapshot(root), { epoch: EPOCH, without: [NON_UTF8_NAME] }),
    );
  });

  it("equals GNU cpio's `find . | sort | cpio --reproducible` byte for byte (tree without hardlinks)", async () => {
    const root = scratch('oracle');
    makeTree(root, { nonUtf8: true });
    // firstInode 0: GNU cpio's --renumber-inodes counts from 0, lifeboat from 1 by default.
    const ours = await ofGnuTar(root, { firstInode: 0 });
    clampTreeMtimes(root, EPOCH); // what the writer does, done to the files for GNU cpio
    const theirs = await gnuCpio(root);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('matches GNU cpio record for record with hardlinks, which GNU cpio moves out of order', async () => {
    const root = scratch('oracle-links');
    makeTree(root, { hardlinks: true, nonUtf8: true });
    const ours = parseNewc(await ofGnuTar(root, { firstInode: 0 })).records;
    clampTreeMtimes(root, EPOCH);
    const theirs = parseNewc(await gnuCpio(root)).records;
    // GNU cpio holds back every name of a multiply-linked file until its last name, then writes
    // them all there: the earlier names move later. Ours are in byte order; sorted, the records
    // are the same (same inode numbers, nlink, data on the last name).
    const sorted = [...theirs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    expect(ours.map((r) => r.name)).toEqual(sorted.map((r) => r.name));
    expect(ours).toEqual(sorted);
    // And that is the only difference in order: without multiply-linked files, the same order.
    expect(theirs.map((r) => r.name)).not.toEqual(ours.map((r) => r.name));
    const single = (r: ParsedRecord) => (r.mode & 0o170000) !== 0o100000 || r.nlink === 1;
    expect(theirs.filter(single).map((r) => r.name)).toEqual(
      ours.filter(single).map((r) => r.name),
    );
    // With the default first inode, every number is one more than GNU cpio's.
    const numbered = parseNewc(await ofGnuTar(root)).records;
    expect(numbered.map((r) => r.ino)).toEqual(ours.map((r) => r.ino + 1));
  });

  it('refuses a 4 GiB file at its tar header, before any data, naming it', async () => {
    const tar = pack();
    tar.entry({ name: 'small', type: 'file', mode: 0o644 }, Buffer.from('ok'));
    // No data is ever written: the header alone must be enough to refuse it.
    tar.entry({ name: 'srv/disk.img', type: 'file', mode: 0o644, size: 2 ** 32 });
    const spillDir = scratch('spill-4g');
    await expect(
      collect(tarToNewc(tar, { sourceDateEpoch: EPOCH, memoryLimit: 0, tempDir: spillDir })),
    ).rejects.toThrow(
      /"srv\/disk.img" is 4294967296 bytes: an initramfs \(newc cpio\) file must be smaller than 4 GiB/,
    );
    expect(readdirSync(spillDir)).toEqual([]); // `small` was spilled; the spill file is gone
    expect(tar.destroyed).toBe(true);
  });

  it('fails with the source, on a truncated tar, on sparse files, and cleans up when its reader stops early', async () => {
    const root = scratch('failures');
    makeTree(root);
    const tar = gnuTar(root);
    const whole = await collect(tar.stdout);
    await tar.done;

    async function* broken() {
      yield whole.subarray(0, 2048);
      throw new Error('the engine went away');
    }
    await expect(collect(tarToNewc(Readable.from(broken())))).rejects.toThrow(
      'the engine went away',
    );
    await expect(collect(tarToNewc(Readable.from([whole.subarray(0, 3000)])))).rejects.toThrow(
      /Unexpected end of data/,
    );

    // GNU tar's PAX sparse files would come out as wrong files: refused.
    const sparse = scratch('sparse');
    await execa('truncate', ['-s', '1M', join(sparse, 'holes.img')]);
    const sparseTar = execa('tar', ['--sparse', '--format=posix', '-C', sparse, '-c', '.'], {
      encoding: 'buffer',
      buffer: false,
    });
    await expect(collect(tarToNewc(sparseTar.stdout))).rejects.toThrow(
      /"holes.img" is a GNU sparse file/,
    );
    await sparseTar.catch(() => {});

    const spillDir = scratch('spill-stop');
    const archive = tarToNewc(Readable.from([whole]), { memoryLimit: 0, tempDir: spillDir });
    for await (const _ of archive) break; // one chunk, then the reader goes away
    expect(archive.destroyed).toBe(true);
    // 'close' comes after the cleanup has run (an AbortError before it is expected).
    if (!archive.closed) await new Promise((resolve) => archive.once('close', resolve));
    expect(readdirSync(spillDir)).toEqual([]);
  });
});

// --- compression -------------------------------------------------------------------------------

/** 3 MiB of text-like, not trivially compressible bytes, the same on every run. */
function sampleInput(): Buffer {
  const words = ['lifeboat', 'rescue', 'initramfs', 'kernel', 'cpio', 'newc', 'zstd', 'gzip'];
  let seed = 12345;
  const parts: string[] = [];
  for (let i = 0; i < 400_000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    parts.push(words[seed % words.length] as string);
    if (seed % 7 === 0) parts.push(String(seed));
  }
  return Buffer.from(parts.join(' ')).subarray(0, 3 * 1024 * 1024);
}

async function compress(
  kind: 'gzip' | 'zstd' | 'xz',
  input: Buffer,
  chunk: number,
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) pieces.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), createCompressor(kind), async (source) => {
    for await (const piece of source) out.push(piece as Buffer);
  });
  return Buffer.concat(out);
}

const DECOMPRESS = { gzip: ['gzip', '-dc'], zstd: ['zstd', '-dcq'], xz: ['xz', '-dc'] } as const;

describeTrees('compression', () => {
  const input = sampleInput();

  for (const kind of ['gzip', 'zstd', 'xz'] as const) {
    it(`${kind}: the same bytes every time, whatever the write sizes, and ${DECOMPRESS[kind].join(' ')} gives the input back`, async () => {
      const once = await compress(kind, input, 64 * 1024);
      const again = await compress(kind, input, 1000 * 1000);
      expect(again.equals(once)).toBe(true);
      const [program, ...args] = DECOMPRESS[kind];
      const back = await execa(program, args, { input: once, encoding: 'buffer' });
      expect(Buffer.from(back.stdout).equals(input)).toBe(true);
      expect(once.length).toBeLessThan(input.length / 2);
    });
  }

  it('gzip: no name, MTIME 0, XFL 2 (level 9), OS 3', async () => {
    const gz = await compress('gzip', input, 64 * 1024);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('xz: CRC32 check and a 1 MiB dictionary, as the kernel wants', async () => {
    const dir = scratch('xz');
    const path = join(dir, 'sample.xz');
    writeFileSync(path, await compress('xz', input, 64 * 1024));
    const { stdout } = await execa('xz', ['--robot', '--list', '-vv', path]);
    expect(stdout).toMatch(/^stream\t1\t1\t.*\tCRC32\t/m);
    expect(stdout).toMatch(/\t--lzma2=dict=1MiB$/m);
  });

  it('zstd: a content checksum, no content size', async () => {
    const dir = scratch('zstd');
    const path = join(dir, 'sample.zst');
    writeFileSync(path, await compress('zstd', input, 64 * 1024));
    const { stdout } = await execa('zstd', ['-lv', path]);
    expect(stdout).toMatch(/Check: XXH64/);
    expect(stdout).not.toMatch(/Decompressed Size: [\d.]+ [KM]i?B \(\d+ B\)/);
  });

  it('states its command lines as data: -T1 / --threads=1, the kernel checks', () => {
    expect(compressorCommand('zstd')).toMatchObject({ program: 'zstd' });
    expect(compressorCommand('zstd').args).toEqual(
      expect.arrayContaining(['-12', '-T1', '--check']),
    );
    expect(compressorCommand('xz').args).toEqual(
      expect.arrayContaining(['--check=crc32', '--threads=1', '--lzma2=preset=6,dict=1MiB']),
    );
    expect(compressorCommand('xz').env).toEqual({ XZ_DEFAULTS: '', XZ_OPT: '' });
  });

  it('compresses an archive that the kernel-facing tools read back', async () => {
    const root = scratch('compressed-tree');
    makeTree(root, { hardlinks: true });
    const archive = await ofGnuTar(root);
    for (const kind of ['gzip', 'zstd', 'xz'] as const) {
      const packed = await compress(kind, archive, 4096);
      const [program, ...args] = DECOMPRESS[kind];
      const back = await execa(program, args, { input: packed, encoding: 'buffer' });
      expect(Buffer.from(back.stdout).equals(archive)).toBe(true);
    }
  });
});
