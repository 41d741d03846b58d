import { PassThrough, Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';

/**
 * One tape drive, through mt (mt-st) and dd with their arguments spelled out: what the tape://
 * backup destination (destination-tape.ts) and the OBDR head (tape-obdr.ts) do to a tape. The
 * device is always the non-rewinding node (/dev/nstN): closing /dev/stN would rewind between
 * files.
 *
 * A tape file is what one dd writes: the st driver writes the file mark that ends it when dd,
 * having written, closes the device. Reading positions by file marks from the start (rewind,
 * fsf N), never by guessing.
 */

/** ReaR's header: the label in 20 blocks of 512 bytes. */
export const TAPE_LABEL_BYTES = 20 * 512;
/** The record size of variable-block writes and reads (dd bs=). */
const VARIABLE_RECORD = 64 * 1024;

export class TapeDrive {
  constructor(
    /** The non-rewinding device, /dev/nst0. */
    readonly device: string,
    /** How messages name the drive: `backup.url tape:///dev/nst0`. */
    private readonly named: string,
    private readonly log: Log,
  ) {}

  /**
   * The drive answers, holds a cartridge (ONLINE) and, to write, is not write-protected: one
   * sentence naming the device and exit 1 otherwise, before anything is written.
   */
  async check(purpose: 'write' | 'read'): Promise<void> {
    const status = await this.mt(['status'], 'is not usable');
    if (!/\bONLINE\b/.test(status)) {
      throw this.refused('holds no cartridge (mt status does not say ONLINE)', 'load a cartridge');
    }
    if (purpose === 'write' && /\bWR_PROT\b/.test(status)) {
      throw this.refused(
        'holds a write-protected cartridge',
        'slide its write-protect tab off, or load another',
      );
    }
  }

  /**
   * Starts the tape over: rewinds, turns the drive's compression off and writes tape file 0, the
   * label: `label` padded with zero bytes to TAPE_LABEL_BYTES, in 512-byte blocks (ReaR's OBDR
   * header, so an OBDR drive finds its ISO where it looks).
   */
  async writeLabel(label: string): Promise<void> {
    await this.mt(['rewind'], 'did not rewind');
    // The drive compresses nothing: archives are compressed already, and an OBDR drive boots only
    // an uncompressed ISO. Some drives have no compression to turn off.
    const compression = await execa('mt', ['-f', this.device, 'compression', '0'], {
      reject: false,
      stdin: 'ignore',
    });
    if (compression.exitCode !== 0)
      this.log.debug(`mt compression 0: ${String(compression.stderr).trim()}`);
    const bytes = Buffer.alloc(TAPE_LABEL_BYTES);
    bytes.write(label, 'latin1');
    await this.writeFile(Readable.from([bytes]), 512);
  }

  /** The label on the tape (tape file 0, up to its first zero byte); '' when there is none. */
  async readLabel(): Promise<string> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await this.readFile(0, 512, TAPE_LABEL_BYTES))
        chunks.push(chunk as Buffer);
    } catch {
      // A blank tape: nothing to read.
      return '';
    }
    const bytes = Buffer.concat(chunks);
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
  }

  /**
   * Writes `data` as one tape file where the head is, in `blockSize` blocks (0: variable blocks,
   * records of 64 KiB). Fixed blocks pad the last one with zero bytes.
   */
  async writeFile(data: Readable, blockSize: number): Promise<void> {
    await this.mt(['setblk', String(blockSize)], 'did not take the block size');
    const dd = execa(
      'dd',
      [
        `of=${this.device}`,
        `bs=${blockSize || VARIABLE_RECORD}`,
        // Whole blocks from the pipe: dd would write each short read as its own short record.
        'iflag=fullblock',
        // The last block or record is padded with zero bytes to its full size, as tar pads its
        // last record: no tape file ends with a short record, whose read (longer than the
        // record) some drive paths fill only in part. Readers stop at the size they know.
        'conv=sync',
        'status=none',
      ],
      { stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', reject: false },
    );
    await pipeline(data, dd.stdin as NodeJS.WritableStream).catch((error: unknown) => {
      dd.kill();
      throw error;
    });
    const done = await dd;
    if (done.exitCode !== 0) {
      throw this.refused(
        `could not be written (dd: ${String(done.stderr).trim() || `exit ${done.exitCode}`})`,
        'check the drive and the cartridge (mt status)',
      );
    }
    // dd closing the device after writing made the st driver write the file mark that ends it.
  }

  /** `count` more file marks where the head is: each makes an empty tape file. */
  async writeFileMarks(count: number): Promise<void> {
    if (count > 0) await this.mt(['weof', String(count)], 'did not write file marks');
  }

  /**
   * Tape file `file` (counted from 0 at the start of the tape), read whole in `blockSize` blocks
   * (every read asks for a whole block or record), then cut to `bytes` when given: the last
   * block is padded. The stream fails when dd does.
   */
  async readFile(file: number, blockSize: number, bytes?: number): Promise<Readable> {
    await this.position(file);
    await this.mt(['setblk', String(blockSize)], 'did not take the block size');
    const dd = execa(
      'dd',
      [`if=${this.device}`, `bs=${blockSize || VARIABLE_RECORD}`, 'status=none'],
      {
        stdin: 'ignore',
        stderr: 'pipe',
        buffer: false,
        reject: false,
      },
    );
    const out = new PassThrough();
    const stdout = dd.stdout as Readable;
    const source = bytes === undefined ? stdout : stdout.pipe(firstBytes(bytes));
    source.pipe(out, { end: false });
    // The stream ends when dd has said everything and exited well, and fails when dd failed.
    Promise.all([finished(source).catch(() => undefined), dd]).then(([, done]) => {
      if (done.exitCode === 0) out.end();
      else
        out.destroy(
          this.refused(
            `could not be read (dd: ${String(done.stderr).trim() || `exit ${done.exitCode}`})`,
            'check the drive and the cartridge (mt status)',
          ),
        );
    });
    return out;
  }

  /** Rewinds and spaces forward over `file` file marks: the head is at the start of that file. */
  async position(file: number): Promise<void> {
    await this.mt(['rewind'], 'did not rewind');
    if (file > 0) await this.mt(['fsf', String(file)], `has no tape file ${file}`);
  }

  refused(what: string, hint: string): JobError {
    return new JobError(`${this.named}: ${this.device} ${what}`, { hint });
  }

  private async mt(args: string[], failure: string): Promise<string> {
    const result = await execa('mt', ['-f', this.device, ...args], {
      reject: false,
      stdin: 'ignore',
    });
    if (result.exitCode !== 0) {
      const said = String(result.stderr).trim().split('\n').at(-1) ?? '';
      throw this.refused(
        `${failure} (mt ${args.join(' ')}: ${said || `exit ${result.exitCode}`})`,
        hintFor(said),
      );
    }
    return String(result.stdout);
  }
}

/** Passes the first `bytes` bytes on and drops the rest (a tape file's padding). */
function firstBytes(bytes: number): Transform {
  let left = bytes;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const kept = chunk.subarray(0, Math.max(0, left));
      left -= kept.length;
      done(null, kept.length > 0 ? kept : undefined);
    },
  });
}

/** What to do about what mt said. */
function hintFor(said: string): string {
  if (/No such file or directory|No such device/i.test(said))
    return 'check the device name (the non-rewinding /dev/nstN) and that the st driver is loaded';
  if (/busy/i.test(said)) return 'another program has the drive open: wait for it, or stop it';
  return 'check the drive and the cartridge (mt status)';
}
