import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { BackupDestination } from './destination-types.js';
import { TapeDrive } from './tape-drive.js';

/**
 * tape:///dev/nst0: NETFS backups on a tape drive (ReaR BACKUP_URL=tape://). A tape is no
 * directory: it holds one backup, as tape files one after the other, each ended by a file mark,
 * and a new backup replaces the old one:
 *
 *   file 0              the label: tape.label padded with zero bytes to 20 blocks of 512
 *   (OBDR) 1…           the rescue ISO and its file marks (tape-obdr.ts writes them first)
 *   filesBefore         the archive, in tape.blockSize blocks (0: variable, 64 KiB records)
 *   next                the listing (backup.list)
 *   next                backup.json, written last: a tape without it holds no backup (a copy
 *                       goes to output.dir)
 *
 * NETFS writes the archive, the listing and backup.json in that order, which is the order of the
 * tape. Without OBDR the archive's write starts the tape over from its label; with OBDR the head
 * is written already, and the archive goes after it. Every file's last block or record is padded
 * with zero bytes: the archive is read to the size backup.json records, the listing and
 * backup.json (text) lose their trailing zero bytes. The drive's commands are in tape-drive.ts.
 */
export interface TapeSpec {
  /** The non-rewinding device, /dev/nst0. */
  device: string;
  /** Bytes per block of the archive; 0 writes variable blocks. */
  blockSize: number;
  /** The 8 characters at the start of the tape (tape.label). */
  label: string;
  /**
   * Tape files before the archive: 1 (the label, which this destination writes), or with OBDR
   * the label, the ISO and its extra file marks, which tape-obdr.ts writes before the backup.
   */
  filesBefore: number;
  /**
   * Where a copy of backup.json goes when a backup is written (output.dir): what the cartridge
   * holds (id, archive sha256), known on the host without reading the tape.
   */
  manifestCopyDir?: string;
}

/** What a tape's backup.json says of the backup on it. */
interface TapeManifest {
  hostname: string;
  id: string;
  /** The archive's file name (backup.tar.zst...), as NETFS reads it. */
  archive: string;
  /** The archive's bytes: fixed blocks pad its last one. */
  bytes: number;
}

const MANIFEST = 'backup.json';
/** Names of the tape files after the archive, in tape order. */
const AFTER_ARCHIVE = ['backup.list', MANIFEST];

export class TapeDestination implements BackupDestination {
  private readonly drive: TapeDrive;
  /** The next file NETFS writes goes at this file number; undefined before the first write. */
  private nextFile: number | undefined;
  /** backup.json as read from the tape; forgotten when this run writes. */
  private known: Promise<TapeManifest | undefined> | undefined;

  constructor(
    readonly display: string,
    readonly spec: TapeSpec,
    log: Log,
    /** The configuration key the URL came from, as messages name it. */
    readonly key: string,
  ) {
    this.drive = new TapeDrive(spec.device, `${key} ${display}`, log);
  }

  /** Online, and to write not write-protected: one sentence and exit 1 before anything else. */
  async open(purpose: 'write' | 'read' = 'write'): Promise<void> {
    await this.drive.check(purpose);
  }

  async write(path: string, data: Readable): Promise<void> {
    const name = path.split('/').at(-1) ?? '';
    this.known = undefined;
    if (this.nextFile === undefined) {
      // The archive comes first.
      if (this.spec.filesBefore === 1) {
        await this.drive.writeLabel(this.spec.label);
      } else {
        // OBDR: the label and the ISO are on the tape (this run wrote them); the backup follows.
        await this.checkLabel();
        await this.drive.position(this.spec.filesBefore);
      }
      this.nextFile = this.spec.filesBefore;
    }
    const afterArchive = AFTER_ARCHIVE.indexOf(name);
    const expected =
      afterArchive < 0 ? this.spec.filesBefore : this.spec.filesBefore + 1 + afterArchive;
    if (expected !== this.nextFile) {
      throw new JobError(
        `${this.key} ${this.display}: ${name} out of order on the tape (internal)`,
      );
    }
    if (name === MANIFEST && this.spec.manifestCopyDir !== undefined) {
      const chunks = (await data.toArray()) as (Buffer | string)[];
      const bytes = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
      await this.drive.writeFile(Readable.from([bytes]), 0);
      await mkdir(this.spec.manifestCopyDir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.spec.manifestCopyDir, MANIFEST), bytes, { mode: 0o600 });
    } else {
      await this.drive.writeFile(data, afterArchive < 0 ? this.spec.blockSize : 0);
    }
    this.nextFile += 1;
  }

  async read(path: string): Promise<Readable> {
    const name = path.split('/').at(-1) ?? '';
    const afterArchive = AFTER_ARCHIVE.indexOf(name);
    if (afterArchive >= 0) {
      // Text, padded with zero bytes to its last record's end: the padding goes.
      const file = await this.drive.readFile(this.spec.filesBefore + 1 + afterArchive, 0);
      const bytes = Buffer.concat((await file.toArray()) as Buffer[]);
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end -= 1;
      return Readable.from([bytes.subarray(0, end)]);
    }
    // The archive's last block is padded: the read stops at the size backup.json records.
    const bytes = (await this.manifest())?.bytes;
    return this.drive.readFile(this.spec.filesBefore, this.spec.blockSize, bytes);
  }

  /**
   * The one backup on the tape, as directories: [hostname] at the top, [id] under it, its files
   * under that; [] on a blank tape, one with another label, or one whose backup never finished
   * (no backup.json).
   */
  async list(dir: string): Promise<string[]> {
    const manifest = await this.manifest();
    if (manifest === undefined) return [];
    const [host, id, ...rest] = dir.split('/').filter(Boolean);
    if (host === undefined) return [manifest.hostname];
    if (host !== manifest.hostname || rest.length > 0) return [];
    if (id === undefined) return [manifest.id];
    return id === manifest.id ? [manifest.archive, ...AFTER_ARCHIVE] : [];
  }

  async symlink(): Promise<void> {
    throw new JobError(`${this.key} ${this.display}: a tape holds no links`);
  }
  async symlinks(): Promise<Map<string, string>> {
    return new Map();
  }
  /** Nothing to remove: the next backup replaces the tape's content. */
  async remove(): Promise<void> {}
  async close(): Promise<void> {}

  /** The tape's label is tape.label: it is a lifeboat tape, written as configured. */
  private async checkLabel(): Promise<void> {
    const label = await this.drive.readLabel();
    if (label !== this.spec.label) {
      throw this.drive.refused(
        `holds ${label === '' ? 'no label' : `the label ${JSON.stringify(label)}`}, not ${this.spec.label}`,
        'check tape.label, or load the cartridge lifeboat wrote',
      );
    }
  }

  /**
   * What backup.json on the tape says (read once per run); undefined on a tape without one, or
   * with another label.
   */
  private manifest(): Promise<TapeManifest | undefined> {
    this.known ??= this.readManifest();
    return this.known;
  }

  private async readManifest(): Promise<TapeManifest | undefined> {
    if ((await this.drive.readLabel()) !== this.spec.label) return undefined;
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await this.read('backup.json')) chunks.push(chunk as Buffer);
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        hostname?: unknown;
        id?: unknown;
        archive?: { name?: unknown; bytes?: unknown };
      };
      const { hostname, id } = parsed;
      const { name, bytes } = parsed.archive ?? {};
      if (
        typeof hostname !== 'string' ||
        typeof id !== 'string' ||
        typeof name !== 'string' ||
        typeof bytes !== 'number'
      )
        return undefined;
      return { hostname, id, archive: name, bytes };
    } catch {
      // A blank tape (no such file mark), another kind of tape, or one whose backup never
      // finished.
      return undefined;
    }
  }
}
