import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { type IsoFile, isIso, isoFiles } from './iso9660.js';
import { newcMembers } from './newc-members.js';

/**
 * Where secrets ended up: every file under a directory searched for each of a set of distinct
 * strings (canaries), and inside what those files hold: the files of an ISO image, the contents
 * of zstd, gzip and xz streams, the members of a newc cpio archive (an initrd), a gpg archive
 * decrypted with the key the test gave it. A plain search of compressed bytes would find nothing
 * and prove nothing.
 */
export interface Finding {
  /** The file, and inside it: media/lifeboat.iso:/boot/initrd.img|zstd|cpio:/etc/shadow. */
  where: string;
  /** The canary's name (the configuration key it was the value of). */
  canary: string;
}

export interface SearchResult {
  findings: Finding[];
  /** Every place searched, in the same notation: to see that the search went inside. */
  searched: string[];
}

export interface SearchOptions {
  /** The passphrase gpg archives (*.gpg) are decrypted with. */
  gpgKey?: string;
}

const DECOMPRESSORS: { magic: Buffer; name: string; program: string }[] = [
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), name: 'zstd', program: 'zstd' },
  { magic: Buffer.from([0x1f, 0x8b]), name: 'gzip', program: 'gzip' },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), name: 'xz', program: 'xz' },
];

/** Searches every regular file under `root` (symlinks and devices are not content). */
export async function searchTree(
  root: string,
  canaries: Record<string, string>,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-secret-search-'));
  const result: SearchResult = { findings: [], searched: [] };
  try {
    const search = new Search(canaries, options, scratch, result);
    for (const file of regularFiles(root)) await search.file(file, relative(root, file));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

/** The canaries' names found in a text (console output). */
export function canariesIn(text: string, canaries: Record<string, string>): string[] {
  return Object.entries(canaries)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

function regularFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) files.push(path);
    }
  };
  walk(root);
  return files;
}

class Search {
  private readonly needles: [string, Buffer][];
  private readonly longest: number;
  private serial = 0;

  constructor(
    canaries: Record<string, string>,
    private readonly options: SearchOptions,
    private readonly scratch: string,
    private readonly result: SearchResult,
  ) {
    this.needles = Object.entries(canaries).map(([name, value]) => [name, Buffer.from(value)]);
    this.longest = Math.max(...this.needles.map(([, b]) => b.length));
  }

  /**
   * Searches the file and what it holds; returns the canaries found in either. A container's own
   * bytes count only for a canary none of its members has (the ISO's system area, say): a secret
   * is reported once, in the innermost place that holds it.
   */
  async file(path: string, where: string, range?: IsoFile): Promise<Set<string>> {
    const head = readHead(path, 0x8006, range?.offset ?? 0, range?.size);
    const inner = isContainer(head) || this.decrypts(where);
    if (range && inner) {
      // A container inside another: a file of its own for the programs that open it.
      const copy = this.temp();
      await pipeline(rangeStream(path, range), createWriteStream(copy));
      const found = await this.file(copy, where);
      rmSync(copy);
      return found;
    }
    this.result.searched.push(where);
    const own = await this.stream(range ? rangeStream(path, range) : createReadStream(path));
    const inside = inner ? await this.inside(path, where, head) : new Set<string>();
    for (const canary of own) if (!inside.has(canary)) this.result.findings.push({ where, canary });
    return new Set([...own, ...inside]);
  }

  private async inside(path: string, where: string, head: Buffer): Promise<Set<string>> {
    const found = new Set<string>();
    const add = (canaries: Set<string>) => {
      for (const canary of canaries) found.add(canary);
    };
    if (isIso(head)) {
      for (const member of isoFiles(path))
        add(await this.file(path, `${where}:${member.path}`, member));
      return found;
    }
    if (isNewc(head)) {
      for (const member of newcMembers(path))
        add(await this.file(path, `${where}|cpio:${member.path}`, member));
      return found;
    }
    const compressed = compression(head);
    if (compressed) {
      const plain = this.temp();
      await runInto(compressed.program, ['-dc', path], plain);
      add(await this.file(plain, `${where}|${compressed.name}`));
      rmSync(plain);
      return found;
    }
    if (this.decrypts(where)) {
      const plain = this.temp();
      const home = this.temp();
      mkdirSync(home, { mode: 0o700 });
      await execa(
        'gpg',
        [
          '--homedir',
          home,
          '--batch',
          '--quiet',
          '--pinentry-mode',
          'loopback',
          '--passphrase-fd',
          '0',
          '--decrypt',
          '--output',
          plain,
          path,
        ],
        { input: this.options.gpgKey },
      );
      await execa('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { reject: false });
      add(await this.file(plain, `${where}|gpg`));
      rmSync(plain);
    }
    return found;
  }

  /** Only an artifact itself (a backup archive): the rescue system's keyrings are *.gpg too. */
  private decrypts(where: string): boolean {
    return this.options.gpgKey !== undefined && where.endsWith('.gpg') && !/[|:]/.test(where);
  }

  /** The canaries in a stream, matches across chunk boundaries included. */
  private async stream(stream: Readable): Promise<Set<string>> {
    const found = new Set<string>();
    let tail = Buffer.alloc(0);
    for await (const chunk of stream) {
      const window = Buffer.concat([tail, chunk as Buffer]);
      for (const [name, needle] of this.needles)
        if (!found.has(name) && window.includes(needle)) found.add(name);
      tail = window.subarray(Math.max(0, window.length - this.longest + 1));
    }
    return found;
  }

  private temp(): string {
    this.serial += 1;
    return join(this.scratch, String(this.serial));
  }
}

/** A program's standard output straight into a file: no buffer in this process holds it. */
async function runInto(program: string, args: string[], into: string): Promise<void> {
  const out = openSync(into, 'w');
  try {
    const child = spawn(program, args, { stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`${program} ${args.join(' ')} exited ${code}: ${stderr}`);
  } finally {
    closeSync(out);
  }
}

const isNewc = (head: Buffer) => ['070701', '070702'].includes(head.toString('latin1', 0, 6));

function compression(head: Buffer) {
  return DECOMPRESSORS.find((d) => head.subarray(0, d.magic.length).equals(d.magic));
}

/** Whether the search goes inside: an ISO, a compressed stream, a cpio archive. */
function isContainer(head: Buffer): boolean {
  return isIso(head) || isNewc(head) || compression(head) !== undefined;
}

function rangeStream(path: string, range: IsoFile): Readable {
  return range.size === 0
    ? Readable.from([])
    : createReadStream(path, { start: range.offset, end: range.offset + range.size - 1 });
}

function readHead(path: string, length: number, offset = 0, size = length): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(length, size));
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
