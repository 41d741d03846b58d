import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { entriesToNewc } from './cpio.js';
import type { CpioEntry } from './cpio-entry.js';
import { indexed, type LayerIndex, overBase } from './cpio-layers.js';

const EPOCH = 1_700_000_000;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-layers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const dir = (path: string, mode = 0o755): CpioEntry => ({
  type: 'directory',
  path,
  mode,
  uid: 0,
  gid: 0,
  mtime: EPOCH,
});
const file = (path: string, content: string, mode = 0o644): CpioEntry => ({
  type: 'file',
  path,
  mode,
  uid: 0,
  gid: 0,
  mtime: EPOCH,
  body: Buffer.from(content),
});
const link = (path: string, target: string): CpioEntry => ({
  type: 'symlink',
  path,
  mode: 0o777,
  uid: 0,
  gid: 0,
  mtime: EPOCH,
  target,
});

async function* from(entries: CpioEntry[]): AsyncGenerator<CpioEntry> {
  yield* entries;
}

async function collect(entries: AsyncIterable<CpioEntry>): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

const base: CpioEntry[] = [
  dir('.'),
  dir('usr'),
  dir('usr/bin'),
  file('usr/bin/tool', 'the tool'),
  { type: 'hardlink', path: 'usr/bin/tool2', target: 'usr/bin/tool' },
  dir('etc'),
  file('etc/motd', 'welcome'),
  link('lib', 'usr/lib'),
  dir('usr/lib'),
];
// The finished tree: the base, one file changed, a module tree added, a hardlink to a base file.
const finished: CpioEntry[] = [
  ...base.filter((e) => e.path !== 'etc/motd'),
  file('etc/motd', 'welcome to host-a'),
  dir('usr/lib/modules'),
  dir('usr/lib/modules/6.1', 0o700),
  file('usr/lib/modules/6.1/m.ko', 'a module'),
  { type: 'hardlink', path: 'usr/bin/tool-host', target: 'usr/bin/tool' },
];

/** Unpacks newc archives one after the other into `into`, later over earlier, as the kernel does. */
async function unpack(into: string, ...archives: CpioEntry[][]): Promise<void> {
  mkdirSync(into, { recursive: true });
  for (const entries of archives) {
    await execa('cpio', ['--extract', '--make-directories', '--unconditional', '--quiet'], {
      cwd: into,
      input: entriesToNewc(from(entries), { sourceDateEpoch: EPOCH }),
    });
  }
}

describe('a layered initrd', () => {
  it('the host layer holds what the finished tree changes or adds, with the directories it needs', async () => {
    const index: LayerIndex = new Map();
    await collect(indexed(from(base), index));
    const host = await collect(overBase(from(finished), index));
    const paths = host.map((e) => `${e.type} ${String(e.path)}`).sort();
    expect(paths).toEqual(
      [
        'file etc/motd',
        'directory usr/lib/modules',
        'directory usr/lib/modules/6.1',
        'file usr/lib/modules/6.1/m.ko',
        // A hardlink to a file that stays in the base: a copy (inodes end with their archive).
        'file usr/bin/tool-host',
        // The parents of the new entries, as the finished tree has them.
        'directory etc',
        'directory usr',
        'directory usr/lib',
        'directory usr/bin',
      ].sort(),
    );
  });

  it('the base then the host layer unpack to the finished tree', async () => {
    const index: LayerIndex = new Map();
    const baseEntries = await collect(indexed(from(base), index));
    const host = await collect(overBase(from(finished), index));
    const layered = join(work, 'layered');
    const whole = join(work, 'whole');
    await unpack(layered, baseEntries, host);
    await unpack(whole, finished);
    for (const path of [
      'etc/motd',
      'usr/bin/tool',
      'usr/bin/tool-host',
      'usr/lib/modules/6.1/m.ko',
    ])
      expect(readFileSync(join(layered, path), 'utf8'), path).toBe(
        readFileSync(join(whole, path), 'utf8'),
      );
    expect(readlinkSync(join(layered, 'lib'))).toBe('usr/lib');
    expect(statSync(join(layered, 'usr/lib/modules/6.1')).mode & 0o777).toBe(0o700);
  });

  it('nothing changed: the host layer is empty', async () => {
    const index: LayerIndex = new Map();
    await collect(indexed(from(base), index));
    expect(await collect(overBase(from(base), index))).toEqual([]);
  });

  it('a finished tree that lacks an entry of the base is refused: unpacking cannot delete', async () => {
    const index: LayerIndex = new Map();
    await collect(indexed(from(base), index));
    const without = base.filter((e) => e.path !== 'etc/motd');
    await expect(collect(overBase(from(without), index))).rejects.toThrow(
      /would have to remove 1 entry of the base layer \("etc\/motd"\)/,
    );
  });
});
