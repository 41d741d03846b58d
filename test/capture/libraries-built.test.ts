import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EM } from '../../src/capture/elf.js';
import { RootView } from '../../src/capture/fs-root.js';
import { type LibraryClosure, libraryClosure } from '../../src/capture/libraries.js';
import { buildElf } from '../support/elf-builder.js';
import { describeTier } from '../support/tiers.js';

/**
 * Tiny C programs and libraries built with this machine's gcc and laid out as a small
 * merged-/usr root, one per loader rule: $ORIGIN RUNPATH, symlinked sonames, a missing library,
 * scripts, RPATH inheritance and RPATH-vs-RUNPATH precedence, ld.so.conf, class mismatch,
 * DF_1_NODEFLIB, glibc-hwcaps, $LIB. Where chroot is allowed, the real loader of this machine
 * (`ld.so --list` inside the root, which is what ldd runs) is the oracle for every program.
 */

const HOST_LIBS = '/usr/lib/x86_64-linux-gnu';

function toolchainMissing(): string | undefined {
  if (process.arch !== 'x64') return 'the hand-built root is x86-64';
  if (!existsSync('/usr/bin/gcc')) return 'gcc is not installed';
  if (!existsSync(`${HOST_LIBS}/libc.so.6`))
    return `no ${HOST_LIBS}/libc.so.6 to copy into the root`;
  return undefined;
}

function oracleMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'the ld.so oracle needs root (chroot)';
  if (!existsSync('/usr/sbin/chroot') || !existsSync('/usr/sbin/ldconfig'))
    return 'chroot/ldconfig missing';
  return undefined;
}

let root = '';
let build = '';

async function put(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

async function install(built: string, path: string, mode = 0o755): Promise<void> {
  await put(path, await readFile(join(build, built)), mode);
}

async function link(path: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await symlink(target, join(root, path));
}

/** A shared library `lib<name>.so` in the build dir exporting `<name>()`, calling `calls`. */
async function library(
  name: string,
  soname: string,
  calls: string[] = [],
  flags: string[] = [],
): Promise<void> {
  const source = `${calls.map((c) => `extern int ${c}(void);`).join('\n')}
int ${name}(void) { return 1${calls.map((c) => ` + ${c}()`).join('')}; }\n`;
  await writeFile(join(build, `${name}.c`), source);
  await execa('gcc', [
    '-shared',
    '-fPIC',
    '-o',
    join(build, `lib${name}.so`),
    join(build, `${name}.c`),
    `-Wl,-soname,${soname}`,
    '-Wl,--no-as-needed',
    `-L${build}`,
    `-Wl,-rpath-link,${build}`,
    ...calls.map((c) => `-l${c}`),
    ...flags,
  ]);
}

/** A program in the build dir calling `calls` (each from lib<call>.so). */
async function program(out: string, calls: string[] = [], flags: string[] = []): Promise<void> {
  const source = `${calls.map((c) => `extern int ${c}(void);`).join('\n')}
int main(void) { return 0${calls.map((c) => ` + ${c}()`).join('')}; }\n`;
  await writeFile(join(build, `${out}.c`), source);
  await execa('gcc', [
    '-o',
    join(build, out),
    join(build, `${out}.c`),
    '-Wl,--no-as-needed',
    `-L${build}`,
    `-Wl,-rpath-link,${build}`,
    ...calls.map((c) => `-l${c}`),
    ...flags,
  ]);
}

/**
 * Give an executable a DT_RUNPATH on top of its DT_RPATH, which current binutils will not emit
 * together: DT_DEBUG becomes DT_RUNPATH pointing at the tail of the RPATH string after `skip`.
 */
async function addRunpathFromRpathTail(file: string, skip: number): Promise<void> {
  const buf = await readFile(file);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * 56;
    if (buf.readUInt32LE(ph) !== 2) continue; // PT_DYNAMIC
    const start = Number(buf.readBigUInt64LE(ph + 8));
    const entries = (at: number) => ({
      tag: Number(buf.readBigUInt64LE(at)),
      value: buf.readBigUInt64LE(at + 8),
    });
    let rpath: bigint | undefined;
    let debugAt: number | undefined;
    for (let at = start; entries(at).tag !== 0; at += 16) {
      if (entries(at).tag === 15) rpath = entries(at).value;
      if (entries(at).tag === 21) debugAt = at;
    }
    if (rpath === undefined || debugAt === undefined)
      throw new Error(`${file}: no DT_RPATH/DT_DEBUG`);
    buf.writeBigUInt64LE(29n, debugAt);
    buf.writeBigUInt64LE(rpath + BigInt(skip), debugAt + 8);
    await writeFile(file, buf);
    return;
  }
  throw new Error(`${file}: no PT_DYNAMIC`);
}

const MINI_ENV = `#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && strchr(argv[i], '='); i++) putenv(argv[i]);
  if (i >= argc) return 0;
  execv(argv[i], argv + i);
  return 127;
}
`;

const PROGRAMS = [
  '/usr/bin/app', // -> /opt/app/bin/app, RUNPATH $ORIGIN/../lib
  '/usr/bin/needs-gone',
  '/usr/local/bin/hello', // #!/bin/sh -e
  '/usr/local/bin/envy', // #!/usr/bin/env tool
  '/opt/r/bin/rprog',
  '/opt/r/bin/uprog',
  '/opt/p/bin/rponly',
  '/opt/p/bin/both',
  '/opt/q/bin/qprog',
  '/usr/bin/classy',
  '/usr/bin/confprog',
  '/usr/bin/nodef',
  '/opt/hw/bin/hw',
  '/usr/bin/libprog',
];

const missing = toolchainMissing();
let closure: LibraryClosure;

function lib(realPath: string) {
  return closure.libraries.find((l) => l.realPath === realPath);
}

function programAt(path: string) {
  const found = closure.programs.find((p) => p.path === path);
  if (found === undefined) throw new Error(`${path} was not captured`);
  return found;
}

describeTier('fixture', missing)('library closure of hand-built programs', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-libroot-'));
    build = await mkdtemp(join(tmpdir(), 'lifeboat-libbuild-'));
    for (const [path, target] of [
      ['/bin', 'usr/bin'],
      ['/lib', 'usr/lib'],
      ['/lib64', 'usr/lib64'],
      ['/sbin', 'usr/sbin'],
    ]) {
      await link(path as string, target as string);
    }
    for (const name of ['libc.so.6', 'ld-linux-x86-64.so.2']) {
      await mkdir(join(root, HOST_LIBS), { recursive: true });
      await copyFile(join(HOST_LIBS, name), join(root, HOST_LIBS, name));
    }
    await link('/usr/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    await put('/etc/ld.so.conf', 'include ld.so.conf.d/*.conf\n');
    await put('/etc/ld.so.conf.d/libc.conf', '/opt/conflib\n');
    await put(
      '/etc/ld.so.conf.d/x86_64-linux-gnu.conf',
      '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n',
    );

    // $ORIGIN: the program is reached through a symlink; its origin is where the file really is.
    await library('x', 'libx.so.1');
    await program('app', ['x'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/../lib']);
    await install('app', '/opt/app/bin/app');
    await install('libx.so', '/opt/app/lib/libx.so.1.0.0');
    await link('/opt/app/lib/libx.so.1', 'libx.so.1.0.0');
    await link('/usr/bin/app', '/opt/app/bin/app');

    await library('gone', 'libgone.so.1');
    await program('needs-gone', ['gone']);
    await install('needs-gone', '/usr/bin/needs-gone');

    // Scripts: the interpreters are programs of their own.
    await program('tiny');
    await install('tiny', '/usr/bin/dash');
    await link('/usr/bin/sh', 'dash');
    // A minimal env(1), also used below to run the loader with LD_TRACE_LOADED_OBJECTS in the root.
    await writeFile(join(build, 'env.c'), MINI_ENV);
    await execa('gcc', ['-o', join(build, 'env'), join(build, 'env.c')]);
    await install('env', '/usr/bin/env');
    await program('tool', ['x'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/app/lib']);
    await install('tool', '/usr/bin/tool');
    await put('/usr/local/bin/hello', '#!/bin/sh -e\necho hello\n', 0o755);
    await put('/usr/local/bin/envy', '#!/usr/bin/env tool\n', 0o755);

    // RPATH is inherited down the chain of loaders; RUNPATH is not.
    await library('y', 'liby.so');
    await library('mid', 'libmid.so', ['y']);
    await program('rprog', ['mid'], ['-Wl,--disable-new-dtags', '-Wl,-rpath,/opt/r/lib']);
    await program('uprog', ['mid'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/r/lib']);
    await install('rprog', '/opt/r/bin/rprog');
    await install('uprog', '/opt/r/bin/uprog');
    await install('liby.so', '/opt/r/lib/liby.so');
    await install('libmid.so', '/opt/r/lib/libmid.so');

    // An object with both: RUNPATH wins and its RPATH is ignored.
    await program('rponly', ['y'], ['-Wl,--disable-new-dtags', '-Wl,-rpath,/opt/p/a:/opt/p/b']);
    await install('rponly', '/opt/p/bin/rponly');
    await copyFile(join(build, 'rponly'), join(build, 'both'));
    await addRunpathFromRpathTail(join(build, 'both'), '/opt/p/a:'.length);
    await install('both', '/opt/p/bin/both');
    await install('liby.so', '/opt/p/a/liby.so');
    await install('liby.so', '/opt/p/b/liby.so');

    // A requester with RUNPATH does not look at the RPATH it would otherwise inherit.
    await library('midr', 'libmidr.so', ['y'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/q/b']);
    await program('qprog', ['midr'], ['-Wl,--disable-new-dtags', '-Wl,-rpath,/opt/q/a']);
    await install('qprog', '/opt/q/bin/qprog');
    await install('libmidr.so', '/opt/q/a/libmidr.so');
    await install('liby.so', '/opt/q/a/liby.so');
    await install('liby.so', '/opt/q/b/liby.so');

    // ld.so.conf directories; an i386 library first in the search order must be skipped.
    await library('cls', 'libcls.so.1');
    await program('classy', ['cls']);
    await install('classy', '/usr/bin/classy');
    await put(
      '/opt/conflib/libcls.so.1',
      buildElf({ elfClass: 32, machine: EM.I386, soname: 'libcls.so.1' }),
      0o755,
    );
    await install('libcls.so', `${HOST_LIBS}/libcls.so.1`);
    await library('conf', 'libconf.so');
    await program('confprog', ['conf']);
    await install('confprog', '/usr/bin/confprog');
    await install('libconf.so', '/opt/conflib/libconf.so');

    // DF_1_NODEFLIB: no default directories (nor ld.so.conf entries below them) for its needs.
    await program('nodef', ['conf'], ['-Wl,-z,nodefaultlib']);
    await install('nodef', '/usr/bin/nodef');

    // glibc-hwcaps: the x86-64-v2 copy first, the baseline copy kept as an alternative.
    await library('h', 'libh.so.1');
    await program('hw', ['h'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/hw/lib']);
    await install('hw', '/opt/hw/bin/hw');
    await install('libh.so', '/opt/hw/lib/libh.so.1');
    await install('libh.so', '/opt/hw/lib/glibc-hwcaps/x86-64-v2/libh.so.1');

    // $LIB is lib/x86_64-linux-gnu in a Debian (multiarch) root.
    await library('l', 'libl.so');
    await program('libprog', ['l'], ['-Wl,--enable-new-dtags', '-Wl,-rpath,/opt/l/$LIB']);
    await install('libprog', '/usr/bin/libprog');
    await install('libl.so', '/opt/l/lib/x86_64-linux-gnu/libl.so');

    closure = await libraryClosure(root, PROGRAMS);
  }, 120_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(build, { recursive: true, force: true });
  });

  it('captures every input without problems', () => {
    expect(closure.problems).toEqual([]);
    expect(closure.programs.map((p) => p.path)).toEqual([
      '/usr/bin/app',
      '/usr/bin/needs-gone',
      '/usr/local/bin/hello',
      '/bin/sh',
      '/usr/local/bin/envy',
      '/usr/bin/env',
      '/usr/bin/tool',
      ...PROGRAMS.slice(4),
    ]);
  });

  it('resolves RUNPATH $ORIGIN/../lib from the real program and keeps the soname link', () => {
    const app = programAt('/usr/bin/app');
    expect(app.realPath).toBe('/opt/app/bin/app');
    expect(app.links).toEqual([{ path: '/usr/bin/app', target: '/opt/app/bin/app' }]);
    expect(app.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(app.libraries).toEqual([
      '/opt/app/lib/libx.so.1.0.0',
      '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      '/usr/lib/x86_64-linux-gnu/libc.so.6',
    ]);
    expect(lib('/opt/app/lib/libx.so.1.0.0')).toMatchObject({
      path: '/opt/app/bin/../lib/libx.so.1',
      links: [{ path: '/opt/app/lib/libx.so.1', target: 'libx.so.1.0.0' }],
      names: ['libx.so.1'],
      soname: 'libx.so.1',
      neededBy: ['/opt/app/bin/app', '/usr/bin/tool'],
    });
    expect(lib('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')?.links).toEqual([
      { path: '/lib64', target: 'usr/lib64' },
      {
        path: '/usr/lib64/ld-linux-x86-64.so.2',
        target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      },
      { path: '/lib', target: 'usr/lib' },
    ]);
  });

  it("is right to take a program's $ORIGIN from its real path (checked on this machine)", async () => {
    // real/bin/app with RUNPATH $ORIGIN/../lib, started through link/app -> ../real/bin/app: the
    // kernel-started program finds real/lib/libx.so.1 (its origin comes from /proc/self/exe),
    // while ld.so run explicitly with the link's path looks in link/../lib and fails.
    const dir = join(build, 'origin');
    await mkdir(join(dir, 'real/bin'), { recursive: true });
    await mkdir(join(dir, 'real/lib'), { recursive: true });
    await mkdir(join(dir, 'link'), { recursive: true });
    await copyFile(join(build, 'app'), join(dir, 'real/bin/app'));
    await chmod(join(dir, 'real/bin/app'), 0o755);
    await copyFile(join(build, 'libx.so'), join(dir, 'real/lib/libx.so.1'));
    await symlink('../real/bin/app', join(dir, 'link/app'));
    const started = await execa(join(dir, 'link/app'), { reject: false });
    expect(started.stderr).toBe('');
    expect(started.exitCode).toBe(1); // main returns x() == 1: the library loaded
    const explicit = await execa('/lib64/ld-linux-x86-64.so.2', [join(dir, 'link/app')], {
      reject: false,
    });
    expect(explicit.stderr).toContain('libx.so.1');
  });

  it('reports a missing library with the objects that need it', () => {
    expect(closure.unresolved).toContainEqual({
      name: 'libgone.so.1',
      neededBy: ['/usr/bin/needs-gone'],
    });
  });

  it('captures the #! interpreter of scripts, through env too', () => {
    expect(programAt('/usr/local/bin/hello')).toMatchObject({
      kind: 'script',
      interpreter: '/bin/sh',
      interpreterArgument: '-e',
      libraries: [],
    });
    expect(programAt('/bin/sh')).toMatchObject({
      realPath: '/usr/bin/dash',
      kind: 'elf',
      interprets: ['/usr/local/bin/hello'],
    });
    expect(programAt('/usr/bin/env').interprets).toEqual(['/usr/local/bin/envy']);
    expect(programAt('/usr/bin/tool')).toMatchObject({ interprets: ['/usr/local/bin/envy'] });
    expect(programAt('/usr/bin/tool').libraries).toContain('/opt/app/lib/libx.so.1.0.0');
  });

  it('inherits DT_RPATH down the loader chain, but not DT_RUNPATH', () => {
    expect(programAt('/opt/r/bin/rprog').libraries).toContain('/opt/r/lib/liby.so');
    expect(programAt('/opt/r/bin/uprog').libraries).toContain('/opt/r/lib/libmid.so');
    expect(programAt('/opt/r/bin/uprog').libraries).not.toContain('/opt/r/lib/liby.so');
    expect(closure.unresolved).toContainEqual({
      name: 'liby.so',
      neededBy: ['/opt/r/lib/libmid.so'],
    });
  });

  it('ignores DT_RPATH when there is DT_RUNPATH, in the object and up its loaders', () => {
    expect(programAt('/opt/p/bin/rponly').libraries).toContain('/opt/p/a/liby.so');
    expect(programAt('/opt/p/bin/both').libraries).toContain('/opt/p/b/liby.so');
    expect(programAt('/opt/p/bin/both').libraries).not.toContain('/opt/p/a/liby.so');
    expect(programAt('/opt/q/bin/qprog').libraries).toContain('/opt/q/b/liby.so');
    expect(programAt('/opt/q/bin/qprog').libraries).not.toContain('/opt/q/a/liby.so');
  });

  it('searches ld.so.conf directories and skips libraries of another ELF class', () => {
    expect(programAt('/usr/bin/confprog').libraries).toContain('/opt/conflib/libconf.so');
    expect(programAt('/usr/bin/classy').libraries).toContain(`${HOST_LIBS}/libcls.so.1`);
    expect(lib('/opt/conflib/libcls.so.1')).toBeUndefined();
  });

  it('honours DF_1_NODEFLIB for the flagged object only', () => {
    expect(programAt('/usr/bin/nodef').libraries).toContain('/opt/conflib/libconf.so');
    expect(closure.unresolved).toContainEqual({ name: 'libc.so.6', neededBy: ['/usr/bin/nodef'] });
    // libconf.so has no such flag: its own libc.so.6 is found.
    expect(programAt('/usr/bin/nodef').libraries).toContain(`${HOST_LIBS}/libc.so.6`);
  });

  it('prefers glibc-hwcaps copies and keeps the baseline one as an alternative', () => {
    expect(programAt('/opt/hw/bin/hw').libraries).toEqual(
      expect.arrayContaining([
        '/opt/hw/lib/glibc-hwcaps/x86-64-v2/libh.so.1',
        '/opt/hw/lib/libh.so.1',
      ]),
    );
    expect(lib('/opt/hw/lib/libh.so.1')?.alternativeOf).toBe(
      '/opt/hw/lib/glibc-hwcaps/x86-64-v2/libh.so.1',
    );
    expect(lib('/opt/hw/lib/glibc-hwcaps/x86-64-v2/libh.so.1')?.alternativeOf).toBeUndefined();
  });

  it('expands $LIB the Debian way', () => {
    expect(programAt('/usr/bin/libprog').libraries).toContain(
      '/opt/l/lib/x86_64-linux-gnu/libl.so',
    );
  });

  it('reports nothing else as unresolved', () => {
    expect(closure.unresolved.map((u) => u.name)).toEqual(['libc.so.6', 'libgone.so.1', 'liby.so']);
  });

  describeTier('fixture', oracleMissing())(
    'against the real loader (ld.so --list in the root)',
    () => {
      it('loads exactly what the closure says, and misses what it misses', async () => {
        // The loader reads ld.so.cache, not ld.so.conf: make one for the root (no links changed).
        await execa('ldconfig', ['-X', '-r', root]);
        const view = new RootView(root);
        const alternatives = new Set(
          closure.libraries.filter((l) => l.alternativeOf).map((l) => l.realPath),
        );
        const elfPrograms = closure.programs.filter((p) => p.kind === 'elf');
        expect(elfPrograms).toHaveLength(PROGRAMS.length - 2 + 3); // scripts out; sh, env, tool in
        for (const program of elfPrograms) {
          // What ldd does: the loader in trace mode (`ld.so --list` would stop at the first missing
          // library). Given the real path: run explicitly, ld.so takes $ORIGIN from the path it is
          // given, while a program the kernel starts gets it from /proc/self/exe (symlinks resolved).
          const listed = await execa(
            'chroot',
            [
              root,
              '/usr/bin/env',
              'LD_TRACE_LOADED_OBJECTS=1',
              '/lib64/ld-linux-x86-64.so.2',
              program.realPath,
            ],
            { reject: false },
          );
          const loaded = new Set<string>();
          const notFound: string[] = [];
          for (const line of listed.stdout.split('\n').map((l) => l.trim())) {
            const gone = /^(\S+) => not found$/.exec(line);
            const path = /^(?:\S+ => )?(\/\S+) \(0x/.exec(line)?.[1];
            if (gone?.[1]) notFound.push(gone[1]);
            else if (path) loaded.add(await view.realpath(path));
          }
          expect(loaded.size, `${program.path}: ${listed.stderr}`).toBeGreaterThan(1);
          const ours = program.libraries.filter((l) => !alternatives.has(l) || loaded.has(l));
          expect(
            [...loaded].sort(),
            `${program.path}:\n${listed.stdout}\n${listed.stderr}`,
          ).toEqual(ours);
          for (const name of notFound) {
            const entry = closure.unresolved.find((u) => u.name === name);
            expect(entry?.neededBy.length, `${program.path} misses ${name}`).toBeGreaterThan(0);
          }
        }
      });
    },
  );
});
