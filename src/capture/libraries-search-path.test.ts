import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EM } from './elf.js';
import { RootView } from './fs-root.js';
import { globToRegExp, hasGlobMagic } from './fs-root-glob.js';
import {
  expandDynamicStringTokens,
  loaderPlatform,
  readLdSoConf,
  searchDirsOf,
} from './libraries-search-path.js';

const debian = { lib: 'lib/x86_64-linux-gnu', platform: 'x86_64' };

describe('dynamic string tokens', () => {
  it('expands $ORIGIN, $LIB and $PLATFORM in both spellings', () => {
    expect(expandDynamicStringTokens('$ORIGIN/../lib', '/opt/app/bin', debian)).toBe(
      '/opt/app/bin/../lib',
    );
    expect(expandDynamicStringTokens('${ORIGIN}/x', '/o', debian)).toBe('/o/x');
    expect(expandDynamicStringTokens('/usr/$LIB/p/${PLATFORM}', '/o', debian)).toBe(
      '/usr/lib/x86_64-linux-gnu/p/x86_64',
    );
  });

  it('leaves unknown tokens and longer identifiers literally, as glibc does', () => {
    expect(expandDynamicStringTokens('/a/$ORIGINAL', '/o', debian)).toBe('/a/$ORIGINAL');
    expect(expandDynamicStringTokens('/a/$HOME/${LIBX}', '/o', debian)).toBe('/a/$HOME/${LIBX}');
    expect(expandDynamicStringTokens('$ORIGIN_x', '/o', debian)).toBe('$ORIGIN_x');
  });

  it('drops an element whose $ORIGIN is unknown', () => {
    expect(expandDynamicStringTokens('$ORIGIN/lib', undefined, debian)).toBeUndefined();
  });

  it('splits search paths, skipping empty and relative elements', () => {
    expect(
      searchDirsOf('$ORIGIN/../lib::lib:/usr/lib/foo/:/usr/lib/foo', '/opt/b', debian),
    ).toEqual(['/opt/b/../lib', '/usr/lib/foo']);
  });
});

describe('glob components', () => {
  it('knows glob syntax', () => {
    expect(hasGlobMagic('libnss_*.so.2')).toBe(true);
    expect(hasGlobMagic('libc.so.6')).toBe(false);
    expect(globToRegExp('libnss_*.so.2').test('libnss_files.so.2')).toBe(true);
    expect(globToRegExp('libnss_*.so.2').test('libnss_files.so.2.x')).toBe(false);
    expect(globToRegExp('lib?.so').test('libc.so')).toBe(true);
    expect(globToRegExp('[!x]*').test('x1')).toBe(false);
    expect(globToRegExp('[]a]').test(']')).toBe(true);
    expect(globToRegExp('a[').test('a[')).toBe(true);
    expect(globToRegExp('\\*').test('*')).toBe(true);
    expect(globToRegExp('\\*').test('x')).toBe(false);
  });
});

describe('the root layout', () => {
  let root = '';
  const write = async (path: string, content: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-ldconf-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads ld.so.conf with relative and absolute include globs, in order', async () => {
    await write(
      '/etc/ld.so.conf',
      '# comment\n/opt/first/\ninclude ld.so.conf.d/*.conf\n  /opt/last  # trailing comment\nhwcap 0 nosegneg\ninclude /etc/extra/*.conf /etc/missing/*.conf\n',
    );
    await write('/etc/ld.so.conf.d/b.conf', '/opt/b\n');
    await write('/etc/ld.so.conf.d/a.conf', '/opt/a\n/opt/first\n');
    await write('/etc/ld.so.conf.d/x86_64-linux-gnu.conf', '/lib/x86_64-linux-gnu\n');
    await write('/etc/extra/e.conf', 'include ../ld.so.conf.d/b.conf\n/opt/e//\n/opt/e2=libc6\n');
    // A file that includes itself must not hang the reader.
    await write('/etc/extra/self.conf', 'include self.conf\n/opt/self\n');
    expect(await readLdSoConf(new RootView(root))).toEqual([
      '/opt/first',
      '/opt/a',
      '/opt/b',
      '/lib/x86_64-linux-gnu',
      '/opt/last',
      '/opt/e',
      '/opt/e2',
      '/opt/self',
    ]);
  });

  it('is empty without ld.so.conf', async () => {
    expect(await readLdSoConf(new RootView(root))).toEqual([]);
  });

  it('expands $LIB the Debian way when the root is multiarch, else as upstream', async () => {
    const x86_64 = { elfClass: 64 as const, endian: 'little' as const, machine: EM.X86_64 };
    expect(await loaderPlatform(new RootView(root), x86_64)).toEqual({
      lib: 'lib64',
      platform: 'x86_64',
      hwcapsSubdirs: ['glibc-hwcaps/x86-64-v4', 'glibc-hwcaps/x86-64-v3', 'glibc-hwcaps/x86-64-v2'],
      defaultDirs: [
        '/lib/x86_64-linux-gnu',
        '/usr/lib/x86_64-linux-gnu',
        '/lib64',
        '/usr/lib64',
        '/lib',
        '/usr/lib',
      ],
    });
    await mkdir(join(root, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
    await symlink('usr/lib', join(root, 'lib'));
    expect((await loaderPlatform(new RootView(root), x86_64)).lib).toBe('lib/x86_64-linux-gnu');
    const i386 = await loaderPlatform(new RootView(root), {
      elfClass: 32,
      endian: 'little',
      machine: EM.I386,
    });
    expect(i386).toMatchObject({ lib: 'lib', platform: 'i686', hwcapsSubdirs: [] });
    expect(i386.defaultDirs).toEqual([
      '/lib/i386-linux-gnu',
      '/usr/lib/i386-linux-gnu',
      '/lib',
      '/usr/lib',
    ]);
  });
});
