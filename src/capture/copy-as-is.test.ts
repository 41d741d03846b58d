import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCopyAsIs, exclusionTest } from './copy-as-is.js';
import { recordFiles } from './file-records.js';
import { RootView } from './fs-root.js';

/** ReaR's COPY_AS_IS / COPY_AS_IS_EXCLUDE over a root (src/capture/copy-as-is.ts). */

let root = '';

async function file(path: string, content = path): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

async function link(path: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await symlink(target, join(root, path));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-copy-as-is-'));
  await file('/etc/passwd');
  await file('/etc/app/a.conf');
  await file('/etc/app/.hidden');
  await file('/etc/app/debug.log');
  await file('/etc/app/cache/big');
  await file('/etc/app/cache/deeper/bigger');
  await file('/etc/app/sub/c.conf');
  await link('/etc/app/sub/passwd', '/etc/passwd'); // leads out of the tree: not followed
  await link('/etc/app/root', '/'); // would pull in the whole root if followed
  await link('/etc/app-current', 'app'); // an include that is a symlink to a directory
  await file('/etc/ssh/ssh_host_rsa_key');
  await file('/etc/ssh/ssh_host_rsa_key.pub');
  await file('/etc/ssh/ssh_host_ed25519_key.pub');
  await link('/etc/dangling', '/nowhere');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('collectCopyAsIs', () => {
  it('takes trees, globs and files, minus excludes, without following links inside trees', async () => {
    const result = await collectCopyAsIs(
      new RootView(root),
      ['/etc/app', '/etc/ssh/ssh_host_*_key.pub', '/opt/backup/bin', '/etc/nothing-*'],
      ['/etc/app/*.log', '/etc/app/cache'],
    );
    expect(result.paths).toEqual([
      { path: '/etc/app', follow: true },
      { path: '/etc/app/.hidden', follow: false },
      { path: '/etc/app/a.conf', follow: false },
      { path: '/etc/app/root', follow: false },
      { path: '/etc/app/sub', follow: false },
      { path: '/etc/app/sub/c.conf', follow: false },
      { path: '/etc/app/sub/passwd', follow: false },
      { path: '/etc/ssh/ssh_host_ed25519_key.pub', follow: true },
      { path: '/etc/ssh/ssh_host_rsa_key.pub', follow: true },
    ]);
    expect(result.missing).toEqual(['/opt/backup/bin', '/etc/nothing-*']);
    expect(result.warnings).toEqual([]);

    // Recorded, the links in the tree stay links: neither /etc/passwd nor the root come along.
    const recorded = await recordFiles(new RootView(root), result.paths);
    expect(recorded.records.map((r) => `${r.type} ${r.path}`)).toEqual([
      'dir /etc/app',
      'file /etc/app/.hidden',
      'file /etc/app/a.conf',
      'symlink /etc/app/root',
      'dir /etc/app/sub',
      'file /etc/app/sub/c.conf',
      'symlink /etc/app/sub/passwd',
      'file /etc/ssh/ssh_host_ed25519_key.pub',
      'file /etc/ssh/ssh_host_rsa_key.pub',
    ]);
  });

  it('follows an include that is a symlink, and excludes by either name', async () => {
    const result = await collectCopyAsIs(
      new RootView(root),
      ['/etc/app-current'],
      ['/etc/app-current/cache', '/etc/app/sub', '/etc/app/*.log', '/etc/app/.*'],
    );
    expect(result.paths).toEqual([
      { path: '/etc/app-current', follow: true },
      { path: '/etc/app/a.conf', follow: false },
      { path: '/etc/app/root', follow: false },
    ]);
    const recorded = await recordFiles(new RootView(root), result.paths);
    // Byte order: '-' sorts before '/'.
    expect(recorded.records.map((r) => `${r.type} ${r.path}`)).toEqual([
      'dir /etc/app',
      'symlink /etc/app-current',
      'file /etc/app/a.conf',
      'symlink /etc/app/root',
    ]);
  });

  it('keeps a dangling symlink as a link, with a warning; an excluded include gives nothing', async () => {
    const result = await collectCopyAsIs(
      new RootView(root),
      ['/etc/dangling', '/etc/passwd', '/etc/ssh'],
      ['/etc/ssh'],
    );
    expect(result.paths).toEqual([
      { path: '/etc/dangling', follow: false },
      { path: '/etc/passwd', follow: true },
    ]);
    expect(result.missing).toEqual([]);
    expect(result.warnings).toEqual([
      'copy-as-is: /etc/dangling is a dangling symlink (to /nowhere); copied as the link only',
    ]);
  });

  it('gives the same answer for the same input', async () => {
    const args = [['/etc/ssh', '/etc/app'], ['/etc/app/cache']] as const;
    const one = await collectCopyAsIs(new RootView(root), ...args);
    const two = await collectCopyAsIs(new RootView(root), ...args);
    expect(two).toEqual(one);
  });
});

describe('exclusionTest', () => {
  it('excludes what a pattern matches and everything under it', () => {
    const excluded = exclusionTest(['/var/lib/app/*', 'tmp', '/etc/*.d/secret']);
    expect(excluded('/var/lib/app')).toBe(false);
    expect(excluded('/var/lib/app/x')).toBe(true);
    expect(excluded('/var/lib/app/.x/y')).toBe(true);
    expect(excluded('/tmp/a/b')).toBe(true);
    expect(excluded('/var/tmp')).toBe(false);
    expect(excluded('/etc/ssh.d/secret/key')).toBe(true);
    expect(excluded('/etc/ssh/x.d/secret')).toBe(false);
  });
});
