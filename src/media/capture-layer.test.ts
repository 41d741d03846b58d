import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { extract, type Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureFixture, KERNEL_VERSION } from '../../test/support/capture-fixture.js';
import { bundleFilePath, writeBundle } from '../capture/bundle.js';
import type { CaptureManifest, FileRecord } from '../capture/manifest.js';
import { captureLayer } from './capture-layer.js';
import { directoryLayer } from './capture-layer-dir.js';
import { modulesFile, networkFile } from './capture-layer-facts.js';

let scratch = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lifeboat-capture-layer-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Entry {
  header: Header;
  content: Buffer;
}

async function entries(tar: Buffer): Promise<Entry[]> {
  const out: Entry[] = [];
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  reader.end(tar);
  await done;
  return out;
}

// A file capability (cap_net_raw+ep), as getfattr shows it in base64: binary, bytes over 0x7f.
const CAPABILITY = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
CAPABILITY[8] = 0x80;
const LONG_NAME = `/opt/vendor/${'deep/'.repeat(30)}ünïcode-file`;

/** A bundle with a few files of each kind, written the way `lifeboat capture` writes one. */
async function makeBundle(name: string): Promise<{ dir: string; manifest: CaptureManifest }> {
  const sources = join(scratch, `${name}-sources`);
  await mkdir(sources, { recursive: true });
  const contents = new Map<string, string>();
  const regular = async (
    path: string,
    text: string,
    extra: Partial<FileRecord> = {},
  ): Promise<FileRecord> => {
    const sha256 = createHash('sha256').update(text).digest('hex');
    const source = join(sources, sha256);
    await writeFile(source, text);
    contents.set(sha256, source);
    return {
      path,
      type: 'file',
      mode: '0644',
      uid: 0,
      gid: 0,
      size: Buffer.byteLength(text),
      sha256,
      ...extra,
    } as FileRecord;
  };
  const manifest = captureFixture();
  const kernel = manifest.kernel;
  if (kernel === null) throw new Error('the fixture has a kernel');
  manifest.files = [
    await regular(`/boot/vmlinuz-${KERNEL_VERSION}`, 'a kernel'),
    await regular('/usr/bin/ping', 'ping', {
      mode: '4755',
      xattrs: { 'security.capability': CAPABILITY.toString('base64') },
    }),
    await regular('/usr/lib/modules/x/virtio_net.ko', 'module'),
    await regular(LONG_NAME, 'long', { uid: 1000, gid: 3000000 }),
    { path: '/etc/ssh', type: 'dir', mode: '0700', uid: 0, gid: 0 },
    { path: '/lib64', type: 'symlink', target: 'usr/lib64', uid: 0, gid: 0 },
  ];
  manifest.files.sort((a, b) => (a.path < b.path ? -1 : 1));
  kernel.image = `/boot/vmlinuz-${KERNEL_VERSION}`;
  const dir = join(scratch, name);
  await writeBundle(dir, manifest, contents);
  return { dir, manifest };
}

describe('captureLayer', () => {
  it('is the tree the manifest describes, in byte order, dated 0, facts included', async () => {
    const { dir } = await makeBundle('tree');
    const tar = await collect(await captureLayer(dir));
    const list = await entries(tar);
    expect(list.map((e) => e.header.name)).toEqual([
      'etc/lifeboat/capture.json',
      'etc/lifeboat/modules',
      'etc/lifeboat/network.capture',
      'etc/ssh',
      'lib64',
      LONG_NAME.slice(1),
      'usr/bin/ping',
      'usr/lib/modules/x/virtio_net.ko',
    ]);
    for (const { header } of list) expect(header.mtime?.getTime()).toBe(0);
    const byName = new Map(list.map((e) => [e.header.name, e]));
    expect(byName.get('usr/bin/ping')?.header).toMatchObject({ mode: 0o4755, uid: 0, gid: 0 });
    expect(byName.get('usr/bin/ping')?.content.toString()).toBe('ping');
    expect(byName.get('etc/ssh')?.header).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(byName.get('lib64')?.header).toMatchObject({ type: 'symlink', linkname: 'usr/lib64' });
    // tar-stream leaves pax ids in header.pax (GNU tar applies them: see the next test).
    expect(byName.get(LONG_NAME.slice(1))?.header).toMatchObject({ uid: 1000 });
    expect(byName.get(LONG_NAME.slice(1))?.header.pax).toMatchObject({ gid: '3000000' });
    expect(byName.get('etc/lifeboat/modules')?.content.toString()).toContain('\nvirtio_net\n');
  });

  it('carries binary xattrs byte for byte as SCHILY.xattr pax records', async () => {
    const { dir } = await makeBundle('xattrs');
    const tar = await collect(await captureLayer(dir));
    const record = Buffer.concat([
      Buffer.from(' SCHILY.xattr.security.capability='),
      CAPABILITY,
      Buffer.from('\n'),
    ]);
    const at = tar.indexOf(record);
    expect(at).toBeGreaterThan(0);
    // The record's length prefix counts its own digits.
    const length = record.length + 2;
    expect(tar.subarray(at - 2, at).toString()).toBe(String(length));
  });

  it('reads as GNU tar reads it: long non-ASCII names, owners beyond ustar', async () => {
    const { dir } = await makeBundle('gnu');
    const tar = await collect(await captureLayer(dir));
    const listed = await execa('tar', ['--list', '--verbose', '--numeric-owner', '--file=-'], {
      input: tar,
      env: { LC_ALL: 'C.UTF-8' },
    });
    expect(listed.stdout).toContain(LONG_NAME.slice(1));
    expect(listed.stdout).toMatch(/1000\/3000000 .*ünïcode-file/);
    expect(listed.stdout).toMatch(/^-rwsr-xr-x 0\/0 .* usr\/bin\/ping$/m);
  });

  it('leaves the kernel image out unless asked', async () => {
    const { dir } = await makeBundle('kernel');
    const without = await entries(await collect(await captureLayer(dir)));
    expect(without.some((e) => e.header.name.startsWith('boot/'))).toBe(false);
    const withKernel = await entries(
      await collect(await captureLayer(dir, { includeKernelImage: true, facts: false })),
    );
    expect(withKernel.map((e) => e.header.name)).toContain(`boot/vmlinuz-${KERNEL_VERSION}`);
    expect(withKernel.some((e) => e.header.name.startsWith('etc/lifeboat/'))).toBe(false);
  });

  it('gives the same bytes twice', async () => {
    const { dir } = await makeBundle('twice');
    const a = await collect(await captureLayer(dir));
    const b = await collect(await captureLayer(dir));
    expect(a.equals(b)).toBe(true);
  });

  it('fails, naming the file, when the store does not match the manifest', async () => {
    const { dir, manifest } = await makeBundle('damaged');
    const ping = manifest.files.find((f) => f.path === '/usr/bin/ping');
    if (ping?.type !== 'file') throw new Error('ping is a file');
    await writeFile(bundleFilePath(dir, ping.sha256), 'pong');
    await expect(collect(await captureLayer(dir))).rejects.toThrow(/\/usr\/bin\/ping/);
  });
});

describe('capture facts', () => {
  it('writes the network settings one word a field, without loopback resolvers', () => {
    const manifest = captureFixture();
    manifest.network.dns.servers.push('127.0.0.53');
    manifest.network.interfaces.push({
      name: 'eth1',
      mac: null,
      addresses: [],
      dhcp: true,
      mtu: null,
      driver: null,
    });
    const text = networkFile(manifest);
    const settings = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const iface = manifest.network.interfaces[0];
    if (iface === undefined) throw new Error('the fixture has an interface');
    expect(settings).toContain(
      `iface ${iface.name} ${iface.mac ?? '-'} static ${iface.mtu ?? '-'}`,
    );
    for (const address of iface.addresses)
      expect(settings).toContain(`addr ${iface.name} ${address}`);
    expect(settings).toContain('iface eth1 - dhcp -');
    expect(settings).toContain('dns 192.0.2.53');
    expect(settings).toContain('search example.com');
    expect(settings.some((l) => l.includes('127.0.0.53'))).toBe(false);
    for (const line of settings) expect(line).toMatch(/^\S+( \S+)+$/);
  });

  it('lists the captured modules by name', () => {
    const manifest = captureFixture();
    const names = (manifest.kernel?.modules ?? []).map((m) => m.name).sort();
    const listed = modulesFile(manifest)
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(listed).toEqual(names);
  });
});

describe('directoryLayer', () => {
  it('is the directory, owned by root, sorted, dated 0, modes kept', async () => {
    const dir = join(scratch, 'skel');
    await mkdir(join(dir, 'etc', 'ssh'), { recursive: true });
    await writeFile(join(dir, 'init'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(dir, 'etc', 'hostname'), 'rescue\n');
    await symlink('../proc/self/mounts', join(dir, 'etc', 'mtab'));
    const list = await entries(await collect(await directoryLayer(dir)));
    expect(list.map((e) => [e.header.name, e.header.type])).toEqual([
      ['etc', 'directory'],
      ['etc/hostname', 'file'],
      ['etc/mtab', 'symlink'],
      ['etc/ssh', 'directory'],
      ['init', 'file'],
    ]);
    for (const { header } of list) {
      expect(header).toMatchObject({ uid: 0, gid: 0 });
      expect(header.mtime?.getTime()).toBe(0);
    }
    expect(list.find((e) => e.header.name === 'init')?.header.mode).toBe(0o755);
    expect(list.find((e) => e.header.name === 'etc/mtab')?.header.linkname).toBe(
      '../proc/self/mounts',
    );
  });
});
