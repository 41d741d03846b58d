import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  combineDigest,
  contextDigest,
  listContext,
  makeBuildContext,
  packContext,
} from './build-context.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-context-'));
  await writeFile(join(dir, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\n');
  await mkdir(join(dir, 'scripts'));
  await writeFile(join(dir, 'scripts', 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'scripts', 'run.sh'), 0o755);
  // Names whose byte order differs from locale order and from creation order.
  await writeFile(join(dir, 'b'), 'b');
  await writeFile(join(dir, 'B'), 'B');
  await writeFile(join(dir, 'a-b'), 'dash');
  await mkdir(join(dir, 'a'));
  await writeFile(join(dir, 'a', 'z'), 'z');
  await symlink('scripts/run.sh', join(dir, 'link'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function entries(tar: Readable): Promise<{ header: Header; body: string }[]> {
  const out: { header: Header; body: string }[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({ header: entry.header, body: Buffer.concat(chunks).toString() });
    }
  })();
  for await (const chunk of tar) ex.write(chunk as Buffer);
  ex.end(undefined);
  await done;
  return out;
}

describe('build contexts', () => {
  it('lists entries in byte order of their paths', async () => {
    const paths = (await listContext(dir)).map((e) => e.path);
    expect(paths).toEqual([
      'B',
      'Dockerfile',
      'a',
      'a-b',
      'a/z',
      'b',
      'link',
      'scripts',
      'scripts/run.sh',
    ]);
  });

  it('packs with mtime 0, owner 0:0, modes and symlinks kept', async () => {
    const got = await entries(packContext(dir));
    const byName = new Map(got.map((e) => [e.header.name.replace(/\/$/, ''), e]));
    for (const { header } of got) {
      expect(header.mtime.getTime()).toBe(0);
      expect(header.uid).toBe(0);
      expect(header.gid).toBe(0);
    }
    expect(byName.get('scripts/run.sh')?.header.mode).toBe(0o755);
    expect(byName.get('scripts/run.sh')?.body).toBe('#!/bin/sh\necho hi\n');
    expect(byName.get('link')?.header).toMatchObject({
      type: 'symlink',
      linkname: 'scripts/run.sh',
    });
    expect(byName.get('scripts')?.header.type).toBe('directory');
  });

  it('gives the same digest on two runs, whatever the file times', async () => {
    const first = await makeBuildContext(dir, { 'base-image-id': 'sha256:aaa' });
    await utimes(join(dir, 'Dockerfile'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = await makeBuildContext(dir, { 'base-image-id': 'sha256:aaa' });
    expect(second.digest).toBe(first.digest);
    expect(second.tar.equals(first.tar)).toBe(true);
    expect(await contextDigest(dir, { 'base-image-id': 'sha256:aaa' })).toBe(first.digest);
  });

  it('changes the digest when a file is edited, or its mode changes', async () => {
    const before = await contextDigest(dir);
    await writeFile(join(dir, 'scripts', 'run.sh'), '#!/bin/sh\necho bye\n');
    const edited = await contextDigest(dir);
    expect(edited).not.toBe(before);
    await chmod(join(dir, 'scripts', 'run.sh'), 0o700);
    expect(await contextDigest(dir)).not.toBe(edited);
  });

  it('changes the digest with a different base image ID or build argument', async () => {
    const a = await contextDigest(dir, { 'base-image-id': 'sha256:aaa' });
    const b = await contextDigest(dir, { 'base-image-id': 'sha256:bbb' });
    const c = await contextDigest(dir, { 'base-image-id': 'sha256:aaa', 'build-arg:X': '1' });
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('does not depend on the order inputs are given in', () => {
    expect(combineDigest('abc', { x: '1', y: '2' })).toBe(combineDigest('abc', { y: '2', x: '1' }));
  });
});
