import { execa } from 'execa';
import { expect, it } from 'vitest';
import { RootView } from '../../src/capture/fs-root.js';
import {
  DEFAULT_DLOPEN_LIBS,
  type LibraryClosure,
  libraryClosure,
} from '../../src/capture/libraries.js';
import { mapLimit } from '../../src/util/map-limit.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * The closure against the real thing: a debootstrapped Debian bookworm root (ci/fixtures/
 * debian-root host), with `chroot ROOT ldd PROGRAM` as the oracle. Running ldd inside the
 * fixture is fine for a test; lifeboat itself never runs anything from a root.
 */

/** Programs a rescue system needs; every one must exist in the fixture. */
const RESCUE_PROGRAMS = [
  'bash',
  'ls',
  'ssh',
  'sshd',
  'scp',
  'ssh-keygen',
  'curl',
  'openssl',
  'lvm',
  'dmsetup',
  'mdadm',
  'cryptsetup',
  'mkfs.ext4',
  'e2fsck',
  'mkfs.xfs',
  'xfs_repair',
  'btrfs',
  'mkfs.vfat',
  'ip',
  'dhclient',
  'tar',
  'zstd',
  'gzip',
  'xz',
  'rsync',
  'sfdisk',
  'fdisk',
  'parted',
  'partprobe',
  'wipefs',
  'blkid',
  'lsblk',
  'losetup',
  'mount',
  'findmnt',
  'udevadm',
  'kmod',
  'modprobe',
  'systemctl',
  'login',
  'agetty',
  'grub-install',
];

interface LddResult {
  /** Real paths (in the root) of the files ldd says are loaded. */
  loaded: string[];
  /** Names ldd reports as "not found". */
  missing: string[];
}

/** Run ldd inside the fixture; undefined for programs ldd does not handle (static, scripts). */
async function lddInRoot(root: string, program: string): Promise<LddResult | undefined> {
  const result = await execa('chroot', [root, 'ldd', program], { reject: false, timeout: 60_000 });
  if (result.exitCode !== 0) return undefined;
  const view = new RootView(root);
  const loaded: string[] = [];
  const missing: string[] = [];
  for (const line of result.stdout.split('\n').map((l) => l.trim())) {
    const notFound = /^(\S+) => not found$/.exec(line);
    const arrow = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (notFound?.[1]) missing.push(notFound[1]);
    else if (arrow?.[2]) loaded.push(await view.realpath(arrow[2]));
    else if (bare?.[1]) loaded.push(await view.realpath(bare[1]));
    // Anything else is linux-vdso.so.1 (no file) or "statically linked".
  }
  return { loaded: [...new Set(loaded)].sort(), missing: missing.sort() };
}

/** Compare the closure of every program in it with ldd; returns the mismatches, one per line. */
async function compareWithLdd(
  root: string,
  closure: LibraryClosure,
): Promise<{ compared: number; mismatches: string[] }> {
  const elfPrograms = closure.programs.filter((p) => p.kind === 'elf');
  // The real path: see libraries-built.test.ts on how ldd takes $ORIGIN from the path it is given.
  const ldds = await mapLimit(elfPrograms, 4, (p) => lddInRoot(root, p.realPath));
  const mismatches: string[] = [];
  let compared = 0;
  elfPrograms.forEach((program, i) => {
    const ldd = ldds[i];
    if (ldd === undefined) return; // static: nothing to compare
    compared++;
    const ours = new Set(program.libraries);
    const alternatives = new Set(
      closure.libraries.filter((l) => l.alternativeOf !== undefined).map((l) => l.realPath),
    );
    for (const lib of ldd.loaded) {
      if (!ours.has(lib))
        mismatches.push(`${program.path}: ldd loads ${lib}, the closure lacks it`);
    }
    for (const lib of ours) {
      if (!ldd.loaded.includes(lib) && !alternatives.has(lib)) {
        mismatches.push(`${program.path}: the closure has ${lib}, ldd does not load it`);
      }
    }
    for (const name of ldd.missing) {
      const reported = closure.unresolved.find((u) => u.name === name);
      if (!reported?.neededBy.length)
        mismatches.push(`${program.path}: ldd misses ${name}, we do not`);
    }
  });
  return { compared, mismatches };
}

const fixture = await debianFixture();

describeTier('fixture', 'missing' in fixture ? fixture.missing : undefined)(
  'library closure of a Debian bookworm root vs ldd',
  () => {
    const root = 'root' in fixture ? fixture.root : '';

    it('finds every rescue program along the root PATH and every library ldd loads', async () => {
      const started = performance.now();
      const closure = await libraryClosure(root, RESCUE_PROGRAMS);
      const took = performance.now() - started;
      expect(closure.problems).toEqual([]);
      expect(closure.programs.map((p) => p.path)).toHaveLength(RESCUE_PROGRAMS.length);
      expect(closure.unresolved).toEqual([]);

      const { compared, mismatches } = await compareWithLdd(root, closure);
      expect(mismatches).toEqual([]);
      expect(compared).toBe(RESCUE_PROGRAMS.length);
      process.stdout.write(
        `closure of ${RESCUE_PROGRAMS.length} rescue programs: ${closure.libraries.length} libraries in ${took.toFixed(0)} ms; ${compared} compared with ldd\n`,
      );

      // merged-/usr: found at /lib/..., stored at /usr/lib/..., the /lib symlink in the chain.
      const libc = closure.libraries.find((l) => l.names.includes('libc.so.6'));
      expect(libc?.path).toBe('/lib/x86_64-linux-gnu/libc.so.6');
      expect(libc?.realPath).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
      expect(libc?.links).toContainEqual({ path: '/lib', target: 'usr/lib' });
      const loader = closure.libraries.find((l) => l.names.includes('/lib64/ld-linux-x86-64.so.2'));
      expect(loader?.realPath).toBe('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
      expect(loader?.names).toContain('ld-linux-x86-64.so.2'); // libc's DT_NEEDED, matched by soname
      const mkfs = closure.programs.find((p) => p.path === '/usr/sbin/mkfs.ext4');
      expect(mkfs?.realPath).toBe('/usr/sbin/mke2fs');
    }, 300_000);

    it('agrees with ldd for every dynamically linked ELF program in /usr/bin and /usr/sbin', async () => {
      const view = new RootView(root);
      const programs = [
        ...(await view.readdir('/usr/bin')).map((n) => `/usr/bin/${n}`),
        ...(await view.readdir('/usr/sbin')).map((n) => `/usr/sbin/${n}`),
      ];
      const started = performance.now();
      const closure = await libraryClosure(view, programs);
      const took = performance.now() - started;
      const { compared, mismatches } = await compareWithLdd(root, closure);
      expect(mismatches).toEqual([]);
      expect(compared).toBeGreaterThan(200);
      process.stdout.write(
        `closure of all ${programs.length} entries of /usr/bin and /usr/sbin: ${closure.programs.length} programs, ${closure.libraries.length} libraries in ${took.toFixed(0)} ms; ${compared} compared with ldd\n`,
      );
    }, 600_000);

    it('takes the dlopen defaults (NSS, libgcc_s, PAM) with their own closure', async () => {
      const closure = await libraryClosure(root, ['sshd'], { extraLibraries: DEFAULT_DLOPEN_LIBS });
      const extras = closure.libraries.filter((l) => l.extra).map((l) => l.realPath);
      expect(extras).toEqual(
        expect.arrayContaining([
          '/usr/lib/x86_64-linux-gnu/libnss_files.so.2',
          '/usr/lib/x86_64-linux-gnu/libnss_dns.so.2',
          '/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2',
          '/usr/lib/x86_64-linux-gnu/libgcc_s.so.1',
          '/usr/lib/x86_64-linux-gnu/libresolv.so.2',
          '/usr/lib/x86_64-linux-gnu/security/pam_unix.so',
        ]),
      );
      expect(closure.unresolved).toEqual([]);
      // Each extra's own needs are in too: compare with ldd run on the module.
      for (const module of [
        '/usr/lib/x86_64-linux-gnu/security/pam_unix.so',
        '/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2',
      ]) {
        const ldd = await lddInRoot(root, module);
        const have = new Set(closure.libraries.map((l) => l.realPath));
        for (const lib of ldd?.loaded ?? []) expect(have, `${module} needs ${lib}`).toContain(lib);
      }
    }, 120_000);

    it('captures the interpreter of a script (update-initramfs is /bin/sh)', async () => {
      const closure = await libraryClosure(root, ['update-initramfs']);
      const [script, shell] = closure.programs;
      expect(script).toMatchObject({ kind: 'script', interpreter: '/bin/sh', libraries: [] });
      expect(shell).toMatchObject({ path: '/bin/sh', realPath: '/usr/bin/dash', kind: 'elf' });
      expect(shell?.interprets).toEqual([script?.realPath]);
      expect(shell?.links).toEqual([
        { path: '/bin', target: 'usr/bin' },
        { path: '/usr/bin/sh', target: 'dash' },
      ]);
    });
  },
);
