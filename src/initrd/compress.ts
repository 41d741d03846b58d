import { type Duplex, PassThrough, Transform, type TransformCallback } from 'node:stream';
import { constants, createGzip } from 'node:zlib';
import { execa } from 'execa';

/**
 * Compression of the initrd's cpio stream, with settings fixed so that the bytes depend on the
 * input and the compressor's version only: never on the machine's core count, the clock, a
 * file name, or the environment.
 *
 * gzip runs in-process (node:zlib). zstd and xz run as programs; in lifeboat they run inside the
 * builder container, never on the protected host, so their exact command lines are data here
 * (compressorCommand) for the container runner, with one comment per flag. createCompressor runs
 * the same command lines with execa, for tests and for hosts where running them is fine.
 */

export type CompressionKind = 'none' | 'gzip' | 'zstd' | 'xz';
export type ProgramCompression = 'zstd' | 'xz';

export interface CompressorCommand {
  program: string;
  /** Reads the cpio archive on stdin, writes the compressed stream on stdout. */
  args: readonly string[];
  /** Set these in the program's environment (they override what the image or host sets). */
  env: Readonly<Record<string, string>>;
}

const ZSTD: CompressorCommand = {
  program: 'zstd',
  args: [
    // Compress (the default, said outright) into the zstd frame format.
    '--compress',
    '--format=zstd',
    // Level 12: on the example rescue rootfs (251 MiB) -19 took 154 s single-threaded for 62 MiB,
    // -12 took 10 s for about 9 MiB more. A build that takes minutes is not tried often; the
    // window (well under the 8 MiB of -19) stays small for the kernel's streaming decoder.
    '-12',
    // One worker thread: the output must not depend on how many cores the builder has. (zstd
    // 1.5.4 gives the same bytes for -T1 and -T2, but only pinning the count makes it a rule;
    // --single-thread is a different mode and gives other bytes.)
    '-T1',
    // Keep the XXH64 content checksum (zstd's default, stated): the kernel's decoder verifies it
    // and fails the unpack on a mismatch (ZSTD_error_checksum_wrong) rather than boot bad files.
    '--check',
    // No decompressed size in the frame header: zstd writes it when it reads a file and omits it
    // on a pipe, so the bytes would depend on how the runner hands over the input.
    '--no-content-size',
    // Write to stdout (no file operands: read stdin); no progress meter, no chatter on stderr.
    '--stdout',
    '--no-progress',
    '--quiet',
  ],
  // ZSTD_CLEVEL and ZSTD_NBTHREADS, the only variables zstd reads, are overridden by -12 and -T1.
  env: {},
};

const XZ: CompressorCommand = {
  program: 'xz',
  args: [
    // Compress stdin to stdout, in the .xz container (the kernel's XZ Embedded reads .xz, and
    // .lzma only as a separate, older format).
    '--compress',
    '--stdout',
    '--format=xz',
    // CRC32 integrity check: XZ Embedded supports only none and CRC32
    // (Documentation/staging/xz.rst); xz's default, CRC64, makes the kernel refuse the initrd.
    '--check=crc32',
    // The whole filter chain, written out (a custom chain also overrides any preset): LZMA2 with
    // preset 6's match finder and modes, and a 1 MiB dictionary, the size the kernel uses for
    // everything but its own image (`xzmisc`) and the largest it calls reasonable for in-kernel
    // decoding. No BCJ filter: that is for the kernel image.
    '--lzma2=preset=6,dict=1MiB',
    // Single-threaded mode: one block. Multi-threaded mode splits the input into blocks and
    // gives other bytes; 1 keeps the result the same on every builder.
    '--threads=1',
    // Fail instead of quietly shrinking the dictionary (which would change the bytes) when a
    // memory limit is hit.
    '--no-adjust',
    '--quiet',
  ],
  // xz parses options from XZ_DEFAULTS and XZ_OPT before its command line; some of them (e.g.
  // --block-size) are not overridden by anything above. Empty, they add nothing.
  env: { XZ_DEFAULTS: '', XZ_OPT: '' },
};

/** The exact command line that compresses stdin to stdout with fixed settings. */
export function compressorCommand(kind: ProgramCompression): CompressorCommand {
  return kind === 'zstd' ? ZSTD : XZ;
}

/** gzip settings for node:zlib (the same on every run; zlib's defaults, stated, except level). */
export const GZIP_OPTIONS = {
  // Strongest; also makes the header's XFL byte 2 ("maximum compression").
  level: 9,
  // zlib's default window (32 KiB) and hash memory; stated so a Node default change can't move them.
  windowBits: 15,
  memLevel: 8,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

/** Offset of the gzip header's OS byte (RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS). */
const GZIP_OS_OFFSET = 9;
/** "Unix", what GNU gzip and zlib on Linux write. */
const GZIP_OS_UNIX = 3;

/**
 * gzip in-process, with the header pinned. zlib writes no file name and an MTIME of 0 (it is
 * never given a header), but its OS byte is its build target's: 3 on Linux, 19 on macOS, 10 on
 * Windows. The byte is informational only, so it is set to 3 ("Unix", GNU gzip's) everywhere.
 *
 * The deflate stream itself is a function of the input and of Node's bundled zlib (Chromium's
 * fork, `process.versions.zlib`), which hashes with CRC32C when the CPU has it (SSE4.2 + PCLMUL
 * on x86-64, CRC on arm64) and with zlib's rolling hash otherwise: the same bytes on every
 * machine with those instructions, a different (valid) stream without them. A build that must
 * match bit for bit pins the Node version (it is an input) and runs on such CPUs.
 */
class DeterministicGzip extends Transform {
  readonly #zlib = createGzip(GZIP_OPTIONS);
  #offset = 0;
  #flushed: TransformCallback | undefined;

  constructor() {
    super();
    this.#zlib.on('data', (chunk: Buffer) => this.push(this.#pinOsByte(chunk)));
    this.#zlib.on('error', (error) => this.destroy(error));
    this.#zlib.on('end', () => this.#flushed?.());
  }

  #pinOsByte(chunk: Buffer): Buffer {
    const at = GZIP_OS_OFFSET - this.#offset;
    this.#offset += chunk.length;
    if (at < 0 || at >= chunk.length || chunk[at] === GZIP_OS_UNIX) return chunk;
    const copy = Buffer.from(chunk);
    copy[at] = GZIP_OS_UNIX;
    return copy;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#zlib.write(chunk, () => done());
  }

  override _flush(done: TransformCallback): void {
    this.#flushed = done;
    this.#zlib.end();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#zlib.destroy();
    done(error);
  }
}

export function createGzipCompressor(): Transform {
  return new DeterministicGzip();
}

/**
 * A host-side compressor: write the cpio archive in, read the compressed stream out. zstd and xz
 * run with compressorCommand's arguments via execa; errors (a missing program, a non-zero exit)
 * surface as stream errors.
 */
export function createCompressor(kind: CompressionKind): Duplex {
  switch (kind) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGzipCompressor();
    case 'zstd':
    case 'xz': {
      const { program, args, env } = compressorCommand(kind);
      const subprocess = execa(program, args, {
        env,
        encoding: 'buffer',
        // Streamed through, never collected (an initrd is hundreds of MB); stderr is kept for
        // the error message.
        buffer: { stdout: false, stderr: true },
        stdin: 'pipe',
        stdout: 'pipe',
      });
      return subprocess.duplex();
    }
  }
}
