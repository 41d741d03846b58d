import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { CaptureManifest } from '../../src/capture/manifest.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * `lifeboat capture` end to end, on a real Debian root made by debootstrap (see
 * ci/fixtures/debian-root): the oracle for libraries is `chroot ROOT ldd`, run by the test.
 */
const fixture = await debianFixture();
const root = 'root' in fixture ? fixture.root : '';
const missing = 'missing' in fixture ? fixture.missing : undefined;

const PROGRAMS = [
  'bash',
  'lvm',
  'mdadm',
  'cryptsetup',
  'mkfs.ext4',
  'sfdisk',
  'ip',
  'ssh',
  'sshd',
  'curl',
  'tar',
  'zstd',
];

function manifestOf(dir: string): CaptureManifest {
  return JSON.parse(readFileSync(join(dir, 'capture.json'), 'utf8')) as CaptureManifest;
}

describeTier('fixture', missing)('lifeboat capture of a Debian root', () => {
  const box = sandbox();
  const settings = [
    ...box.sets,
    '--root',
    root,
    '--set',
    `rescue.requiredPrograms=[${PROGRAMS.join(', ')}]`,
    '--set',
    'rescue.programs=[jq, rsync]',
    '--set',
    'rescue.copyAsIs=[/etc/ssh]',
    '--set',
    'rescue.copyAsIsExclude=[/etc/ssh/ssh_host_*_key]',
  ];
  const first = join(box.dir, 'first');
  let manifest: CaptureManifest;

  beforeAll(async () => {
    const result = await lifeboat(['capture', '--out', first, ...settings], { env: box.env });
    expect(result.exitCode, result.all).toBe(0);
    manifest = manifestOf(first);
  });

  it('writes a versioned manifest with identity, programs, kernel and bootloader', () => {
    expect(manifest.schema).toBe('lifeboat.capture/v1');
    expect(manifest.source).toEqual({ live: false, modulePolicy: 'needed' });
    expect(manifest.identity).toMatchObject({
      hostname: 'fixture-host',
      arch: 'x86_64',
      bootMode: null,
      os: { id: 'debian', versionId: '12' },
    });
    expect(manifest.identity.kernelVersion).toMatch(/^6\.1\.0-\d+-cloud-amd64$/);
    expect(manifest.kernel?.image).toBe(`/boot/vmlinuz-${manifest.identity.kernelVersion}`);
    // Built into the cloud kernel or a module: either way the rescue system has it.
    const present = [
      ...(manifest.kernel?.modules.map((m) => m.name) ?? []),
      ...(manifest.kernel?.builtin ?? []),
    ];
    expect(present).toEqual(
      expect.arrayContaining(['ext4', 'xfs', 'dm_crypt', 'virtio_blk', 'nvme']),
    );
    expect(manifest.kernel?.builtin).toEqual(expect.arrayContaining(['ext4', 'nvme']));
    expect(manifest.programs.found.map((p) => p.name)).toEqual([...PROGRAMS, 'rsync'].sort());
    expect(manifest.programs.missing).toEqual([{ name: 'jq', required: false }]);
    expect(manifest.warnings).toContain("optional program jq is not on the root's PATH; left out");
    expect(manifest.bootloader.grub?.availableTargets).toEqual(
      expect.arrayContaining(['i386-pc', 'x86_64-efi']),
    );
    expect(manifest.layout).toBeNull();
  });

  it('holds every library that chroot ldd lists for each program', async () => {
    const captured = new Set(manifest.libraries.resolved.map((l) => l.realPath));
    for (const program of manifest.programs.found) {
      const ldd = await execa('chroot', [root, 'ldd', program.path]);
      const listed = [...ldd.stdout.matchAll(/=> (\/\S+)|^\s+(\/\S+) \(/gm)].map(
        (m) => m[1] ?? m[2] ?? '',
      );
      for (const path of listed) {
        const real = (await execa('chroot', [root, 'readlink', '-f', path])).stdout.trim();
        expect(captured.has(real), `${program.name} needs ${path} (${real})`).toBe(true);
      }
    }
  });

  it('stores every regular file under its sha256, and records symlinks, modes and copyAsIs', async () => {
    const paths = new Set(manifest.files.map((f) => f.path));
    for (const library of manifest.libraries.resolved)
      expect(paths.has(library.realPath)).toBe(true);
    expect(manifest.files.find((f) => f.path === '/bin')).toEqual({
      path: '/bin',
      type: 'symlink',
      target: 'usr/bin',
      uid: 0,
      gid: 0,
    });
    expect(paths.has('/etc/ssh/sshd_config')).toBe(true);
    expect([...paths].filter((p) => /^\/etc\/ssh\/ssh_host_.*_key$/.test(p))).toEqual([]);
    const files = manifest.files.filter((f) => f.type === 'file');
    const stored = readdirSync(join(first, 'files')).sort();
    expect(stored).toEqual(
      [...new Set(files.map((f) => (f.type === 'file' ? f.sha256 : '')))].sort(),
    );
    for (const file of files.slice(0, 50)) {
      if (file.type !== 'file') continue;
      const sum = (await execa('sha256sum', [join(first, 'files', file.sha256)])).stdout.split(
        ' ',
      )[0];
      expect(sum).toBe(file.sha256);
    }
  });

  it('gives byte-identical bundles for two captures of an unchanged root', async () => {
    const second = join(box.dir, 'second');
    const result = await lifeboat(['capture', '--out', second, ...settings], { env: box.env });
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(second, 'capture.json'))).toEqual(
      readFileSync(join(first, 'capture.json')),
    );
    expect(readdirSync(join(second, 'files'))).toEqual(readdirSync(join(first, 'files')));
    const diff = await lifeboat(['capture', 'diff', first, second], { env: box.env });
    expect(diff.exitCode).toBe(0);
  });

  it('shows a readable summary naming what is missing', async () => {
    const show = await lifeboat(['capture', 'show', first], { env: box.env });
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toContain('fixture-host');
    expect(show.stdout).toContain(manifest.identity.kernelVersion ?? 'no kernel');
    expect(show.stdout).toMatch(/jq/);
    // Base-set drivers the cloud kernel lacks are listed, but are not problems.
    expect(show.stdout).toMatch(/^ {2}base absent +.*\bahci\b/m);
    expect(show.stdout).toMatch(/^Problems \(lines marked !\): 1 optional program missing$/m);
  });

  it('aborts naming every missing required program, and leaves --out as it was', async () => {
    const out = join(box.dir, 'kept');
    mkdirSync(out);
    const result = await lifeboat(
      [
        'capture',
        '--out',
        out,
        ...settings,
        '--set',
        'rescue.requiredPrograms+=[no-such-tool, nor-this-one]',
      ],
      { env: box.env },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'the root lacks 2 required program(s): no-such-tool, nor-this-one; nothing was written',
    );
    expect(readdirSync(out)).toEqual([]);
    const fresh = join(box.dir, 'never');
    await lifeboat(
      ['capture', '--out', fresh, ...settings, '--set', 'rescue.requiredPrograms+=no-such-tool'],
      { env: box.env },
    );
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(box.dir).filter((n) => n.includes('.partial-'))).toEqual([]);
  });

  it("takes backup.method external's restore and check programs from the host, and refuses one the root lacks", async () => {
    const out = join(box.dir, 'external');
    const external = [
      '--set',
      'backup.method=external',
      '--set',
      'external.restore=[/usr/bin/rsync, -a, "server::backup/", "{target}/"]',
      '--set',
      'external.check=[curl, -sf, "http://backup.example/"]',
    ];
    const result = await lifeboat(['capture', '--out', out, ...settings, ...external], {
      env: box.env,
    });
    expect(result.exitCode, result.all).toBe(0);
    const found = manifestOf(out).programs.found.map((p) => [p.name, p.path]);
    expect(found).toContainEqual(['/usr/bin/rsync', '/usr/bin/rsync']);
    expect(found).toContainEqual(['curl', '/usr/bin/curl']);

    const lacking = await lifeboat(
      [
        'capture',
        '--out',
        join(box.dir, 'external-lacking'),
        ...settings,
        '--set',
        'backup.method=external',
        '--set',
        'external.restore=[/usr/local/sbin/site-restore]',
      ],
      { env: box.env },
    );
    expect(lacking.exitCode).toBe(1);
    expect(lacking.stderr).toContain(
      'the root lacks 1 required program(s): /usr/local/sbin/site-restore; nothing was written',
    );
  });

  it("takes backup.method tsm's dsmc and its tsm.files from the host (those there), as a method declares them", async () => {
    const out = join(box.dir, 'tsm');
    const result = await lifeboat(
      [
        'capture',
        '--out',
        out,
        ...settings,
        '--set',
        'backup.method=tsm',
        // A program the fixture has, standing for dsmc; files it has and one it lacks.
        '--set',
        'tsm.dsmc=/usr/bin/curl',
        '--set',
        'tsm.files=[/etc/hostname, /opt/tivoli/tsm/client/ba/bin/dsm.sys]',
      ],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    const manifest = manifestOf(out);
    expect(manifest.programs.found.map((p) => p.name)).toContain('/usr/bin/curl');
    expect(manifest.copyAsIs.include).toEqual(
      expect.arrayContaining(['/etc/hostname', '/opt/tivoli/tsm/client/ba/bin/dsm.sys']),
    );
    expect(manifest.copyAsIs.missing).toContain('/opt/tivoli/tsm/client/ba/bin/dsm.sys');
    expect(manifest.files.map((f) => f.path)).toContain('/etc/hostname');
  });

  describe('after a package is added', () => {
    let copy: string;
    beforeAll(async () => {
      copy = join(box.dir, 'root-with-jq');
      // A hard-linked copy is quick; the packages' files are all new, so the fixture is untouched.
      await execa('cp', ['-al', root, copy]);
      const debs = join(box.dir, 'debs');
      mkdirSync(debs);
      await execa('apt-get', ['download', 'jq', 'libjq1', 'libonig5'], { cwd: debs });
      for (const deb of readdirSync(debs)) await execa('dpkg-deb', ['-x', join(debs, deb), copy]);
    }, 120_000);
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it('capture diff shows the new program, its libraries and files, and exits 1', async () => {
      const after = join(box.dir, 'after');
      const settingsAfter = settings.map((s) => (s === root ? copy : s));
      expect(
        (await lifeboat(['capture', '--out', after, ...settingsAfter], { env: box.env })).exitCode,
      ).toBe(0);
      const diff = await lifeboat(['capture', 'diff', first, after], { env: box.env });
      expect(diff.exitCode).toBe(1);
      expect(diff.stdout).toMatch(/^ {2}~ jq: missing → found at \/usr\/bin\/jq$/m);
      expect(diff.stdout).toMatch(/libjq\.so\.1/);
      expect(diff.stdout).toMatch(/libonig\.so\.5/);
      expect(diff.stdout).toMatch(/\/usr\/bin\/jq/);
    });
  });

  describe('a root whose kernel modules are xz-compressed, captured on a host without xz or zstd', () => {
    let copy: string;
    let bin: string;
    beforeAll(async () => {
      copy = join(box.dir, 'root-with-xz-modules');
      await execa('cp', ['-al', root, copy]);
      // As trixie ships them: the modules the first capture chose become .ko.xz (a new file
      // each; the fixture's hard-linked original is only unlinked), and modules.dep says so.
      const moduleDir = join(copy, 'usr/lib/modules', manifest.identity.kernelVersion ?? '');
      for (const { path } of manifest.kernel?.modules ?? []) {
        const file = join(copy, path);
        await execa('sh', [
          '-c',
          'xz -1 --check=crc32 --stdout "$1" >"$1.xz" && rm "$1"',
          'sh',
          file,
        ]);
      }
      const dep = join(moduleDir, 'modules.dep');
      const compressed = new Set(
        (manifest.kernel?.modules ?? []).map((m) =>
          m.path.replace(/^\/?usr\/lib\/modules\/[^/]+\//, ''),
        ),
      );
      const lines = readFileSync(dep, 'utf8').replace(/[^\s:]+\.ko\b/g, (p) =>
        compressed.has(p) ? `${p}.xz` : p,
      );
      rmSync(dep);
      writeFileSync(dep, lines);
      // PATH: node, kmod's modinfo and getfattr, nothing of xz-utils or zstd.
      bin = join(box.dir, 'bin');
      mkdirSync(bin);
      for (const program of ['node', 'modinfo', 'getfattr'])
        symlinkSync(
          (await execa('sh', ['-c', `command -v ${program}`])).stdout,
          join(bin, program),
        );
    }, 120_000);
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it('reads them with kmod and chooses the same modules and firmware', async () => {
      const out = join(box.dir, 'xz-modules');
      const result = await lifeboat(
        ['capture', '--out', out, ...settings.map((s) => (s === root ? copy : s))],
        { env: { ...box.env, PATH: bin } },
      );
      expect(result.exitCode, result.all).toBe(0);
      const xzManifest = manifestOf(out);
      const plain = manifest.kernel?.modules ?? [];
      expect(plain.length).toBeGreaterThan(20);
      expect(xzManifest.kernel?.modules.map((m) => m.name)).toEqual(plain.map((m) => m.name));
      expect(xzManifest.kernel?.modules.map((m) => m.path)).toEqual(
        plain.map((m) => `${m.path}.xz`),
      );
      expect(xzManifest.kernel?.firmware).toEqual(manifest.kernel?.firmware);
    });
  });
});

describeTier('fixture', undefined)('capture never runs a program of the root', () => {
  it('captures a statically linked tripwire program and a script run by it without running either', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-tripwire-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'tripped');
    const rootDir = join(dir, 'root');
    mkdirSync(join(rootDir, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(rootDir, 'etc'), { recursive: true });
    writeFileSync(join(rootDir, 'etc', 'os-release'), 'ID=tripwire\nVERSION_ID=1\n');
    writeFileSync(
      join(dir, 'tripwire.c'),
      `#include <stdio.h>\nint main(void){FILE*f=fopen("${marker}","w");if(f)fclose(f);return 0;}\n`,
    );
    await execa('gcc', [
      '-static',
      '-o',
      join(rootDir, 'usr', 'bin', 'tripwire'),
      join(dir, 'tripwire.c'),
    ]);
    cpSync(join(rootDir, 'usr', 'bin', 'tripwire'), join(rootDir, 'usr', 'bin', 'sh'));
    writeFileSync(join(rootDir, 'usr', 'bin', 'wrapped'), '#!/usr/bin/tripwire\necho hello\n');
    chmodSync(join(rootDir, 'usr', 'bin', 'wrapped'), 0o755);
    const box = sandbox();
    const out = join(dir, 'bundle');
    const result = await lifeboat(
      [
        'capture',
        '--out',
        out,
        ...box.sets,
        '--root',
        rootDir,
        '--set',
        'rescue.requiredPrograms=[tripwire, wrapped]',
      ],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const manifest = manifestOf(out);
    expect(manifest.programs.found.map((p) => [p.name, p.kind, p.interpreter])).toEqual([
      ['tripwire', 'elf', null],
      ['wrapped', 'script', '/usr/bin/tripwire'],
    ]);
    expect(manifest.kernel).toBeNull();
  });
});

describeTier('fixture', undefined)('lifeboat capture of this running host', () => {
  it('captures / live: hostname, boot mode, network from the kernel, programs with libraries', async () => {
    const box = sandbox();
    const out = join(box.dir, 'live');
    const result = await lifeboat(
      ['capture', '--out', out, ...box.sets, '--set', 'rescue.programs=[bash, tar]'],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    const manifest = manifestOf(out);
    expect(manifest.source.live).toBe(true);
    expect(manifest.identity.hostname).toBe(hostname());
    expect(manifest.identity.bootMode).toBe(existsSync('/sys/firmware/efi') ? 'uefi' : 'bios');
    expect(manifest.network.source).toBe('live');
    expect(manifest.network.interfaces.some((i) => i.addresses.length > 0 || i.dhcp)).toBe(true);
    expect(manifest.programs.found.map((p) => p.name)).toEqual(['bash', 'tar']);
    expect(manifest.libraries.resolved.some((l) => l.soname === 'libc.so.6')).toBe(true);
  });
});

describeTier('fixture', undefined)('capture of a root missing libraries', () => {
  it('refuses when a required program cannot load, naming the library and who needs it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-nolibs-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const rootDir = join(dir, 'root');
    mkdirSync(join(rootDir, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(rootDir, 'etc'));
    writeFileSync(join(rootDir, 'etc', 'os-release'), 'ID=broken\n');
    // A dynamically linked program without its C library or loader beside it.
    cpSync('/usr/bin/true', join(rootDir, 'usr', 'bin', 'true'));
    const box = sandbox();
    const out = join(dir, 'bundle');
    const base = ['capture', '--out', out, ...box.sets, '--root', rootDir];
    const required = await lifeboat([...base, '--set', "rescue.requiredPrograms=['true']"], {
      env: box.env,
    });
    expect(required.exitCode).toBe(1);
    expect(required.stderr).toMatch(
      /required programs would not run in the rescue system: missing .*libc\.so\.6 \(needed by \/usr\/bin\/true\)/,
    );
    expect(existsSync(out)).toBe(false);

    const optional = await lifeboat([...base, '--set', "rescue.programs=['true']"], {
      env: box.env,
    });
    expect(optional.exitCode).toBe(0);
    expect(manifestOf(out).libraries.unresolved.map((u) => u.name)).toContain('libc.so.6');
  });
});
