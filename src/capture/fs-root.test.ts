import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lstatIn,
  normalizeRootPath,
  RootPathError,
  RootView,
  readlinkIn,
  realpathIn,
  symlinkChainIn,
  which,
} from './fs-root.js';

/** The root view (src/capture/fs-root.ts) the library resolver stands on. */

let root = '';

async function file(path: string, content = '', mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

async function link(path: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await symlink(target, join(root, path));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-fs-root-'));
  // Debian bookworm's merged /usr, including the loader's absolute link.
  await link('/bin', 'usr/bin');
  await link('/sbin', 'usr/sbin');
  await link('/lib', 'usr/lib');
  await link('/lib64', 'usr/lib64');
  await file('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'loader', 0o755);
  await link('/usr/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  await file('/usr/bin/dash', '#!', 0o755);
  await link('/usr/bin/sh', 'dash');
  await file('/usr/sbin/mke2fs', '', 0o755);
  await link('/usr/sbin/mkfs.ext4', 'mke2fs');
  await file('/usr/local/bin/notexec', '', 0o644);
  await mkdir(join(root, '/usr/local/sbin/adir'), { recursive: true });
  await file('/usr/bin/adir', '', 0o755);
  // Links that try to leave the root.
  await file('/etc/passwd', 'root-of-the-capture');
  await link('/etc/up', '../../../../../../etc/passwd');
  await link('/etc/abs', '/etc/passwd');
  await link('/etc/shadow-link', '/etc/shadow'); // host has /etc/shadow; the root does not
  // Physical `..`: /a/.. is the parent of a's target, not /.
  await mkdir(join(root, '/x/y'), { recursive: true });
  await link('/a', 'x/y');
  await link('/loop1', 'loop2');
  await link('/loop2', 'loop1');
  await file('/etc/ld.so.conf.d/b.conf');
  await file('/etc/ld.so.conf.d/a.conf');
  await file('/etc/ld.so.conf.d/.hidden.conf');
  await file('/etc/ld.so.conf.d/c.txt');
  await link('/etc/ld.so.conf.d/dangling.conf', 'nowhere');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolving paths inside a root', () => {
  it('follows merged-/usr directory links and absolute links inside the root', async () => {
    expect(await realpathIn(root, '/lib64/ld-linux-x86-64.so.2')).toBe(
      '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
    );
    expect(await symlinkChainIn(root, '/lib64/ld-linux-x86-64.so.2')).toEqual([
      { path: '/lib64', target: 'usr/lib64' },
      {
        path: '/usr/lib64/ld-linux-x86-64.so.2',
        target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      },
      { path: '/lib', target: 'usr/lib' },
    ]);
    expect(await realpathIn(root, 'bin/sh')).toBe('/usr/bin/dash');
    expect(await realpathIn(root, '/')).toBe('/');
  });

  it('never leaves the root: `..` stops at it, absolute targets start at it', async () => {
    expect(await realpathIn(root, '/etc/up')).toBe('/etc/passwd');
    expect(await realpathIn(root, '/../../etc/passwd')).toBe('/etc/passwd');
    expect(await realpathIn(root, '/etc/abs')).toBe('/etc/passwd');
    await expect(realpathIn(root, '/etc/shadow-link')).rejects.toMatchObject({ code: 'ENOENT' });
    const view = new RootView(root);
    expect((await view.readFile('/etc/up'))?.toString()).toBe('root-of-the-capture');
  });

  it('takes `..` after the symlink before it, as the kernel does', async () => {
    expect(await realpathIn(root, '/a/..')).toBe('/x');
    expect(await realpathIn(root, '/bin/../sbin/mkfs.ext4')).toBe('/usr/sbin/mke2fs');
  });

  it('fails with a typed error on loops, missing paths and files used as directories', async () => {
    await expect(realpathIn(root, '/loop1')).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(realpathIn(root, '/nope/x')).rejects.toBeInstanceOf(RootPathError);
    await expect(realpathIn(root, '/usr/bin/dash/x')).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await new RootView(root).lookup('/loop1')).toBeUndefined();
  });

  it('lstat and readlink leave the final link alone but resolve the directories', async () => {
    expect((await lstatIn(root, '/sbin/mkfs.ext4')).isSymbolicLink()).toBe(true);
    expect((await lstatIn(root, '/sbin')).isSymbolicLink()).toBe(true);
    expect(await readlinkIn(root, '/sbin/mkfs.ext4')).toBe('mke2fs');
    expect(await readlinkIn(root, '/lib64/ld-linux-x86-64.so.2')).toBe(
      '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
    );
    await expect(readlinkIn(root, '/usr/bin/dash')).rejects.toMatchObject({ code: 'EINVAL' });
    expect((await new RootView(root).stat('/sbin/mkfs.ext4')).isFile()).toBe(true);
  });

  it('normalizes paths lexically for display', () => {
    expect(normalizeRootPath('usr//bin/./ls')).toBe('/usr/bin/ls');
    expect(normalizeRootPath('')).toBe('/');
  });
});

describe('which', () => {
  it('finds executable regular files along the default PATH', async () => {
    const mkfs = await which(root, 'mkfs.ext4');
    expect(mkfs).toMatchObject({ path: '/usr/sbin/mkfs.ext4', realPath: '/usr/sbin/mke2fs' });
    expect(mkfs?.links).toEqual([{ path: '/usr/sbin/mkfs.ext4', target: 'mke2fs' }]);
    expect((await which(root, 'sh'))?.realPath).toBe('/usr/bin/dash');
  });

  it('skips what is not executable or is a directory', async () => {
    expect(await which(root, 'notexec')).toBeUndefined();
    // /usr/local/sbin/adir is a directory and comes first; /usr/bin/adir is the program.
    expect((await which(root, 'adir'))?.path).toBe('/usr/bin/adir');
    expect(await which(root, 'nothing-like-this')).toBeUndefined();
  });

  it('uses the PATH given, and takes names with a slash as paths', async () => {
    expect(await which(root, 'sh', '/sbin')).toBeUndefined();
    expect((await which(root, 'sh', ':relative:/bin'))?.path).toBe('/bin/sh');
    expect((await which(root, '/sbin/mkfs.ext4'))?.realPath).toBe('/usr/sbin/mke2fs');
  });
});

describe('glob', () => {
  it('matches like glob(3): sorted, dotfiles only when asked, dangling links included', async () => {
    const view = new RootView(root);
    expect(await view.glob('/etc/ld.so.conf.d/*.conf')).toEqual([
      '/etc/ld.so.conf.d/a.conf',
      '/etc/ld.so.conf.d/b.conf',
      '/etc/ld.so.conf.d/dangling.conf',
    ]);
    expect(await view.glob('/etc/ld.so.conf.d/[!a]?conf')).toEqual(['/etc/ld.so.conf.d/b.conf']);
    expect(await view.glob('/etc/ld.so.conf.d/[ab].conf')).toEqual([
      '/etc/ld.so.conf.d/a.conf',
      '/etc/ld.so.conf.d/b.conf',
    ]);
    expect(await view.glob('/etc/ld.so.conf.d/.*.conf')).toEqual([
      '/etc/ld.so.conf.d/.hidden.conf',
    ]);
    expect(await view.glob('/lib/*/ld-linux-*')).toEqual([
      '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
    ]);
    expect(await view.glob('/etc/passwd')).toEqual(['/etc/passwd']);
    expect(await view.glob('/etc/nothing')).toEqual([]);
  });
});
