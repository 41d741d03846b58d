import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { netfsMethod } from '../../src/backup/netfs.js';
import { loadConfig } from '../../src/config/load.js';
import { MemoryLog } from '../../src/log/log.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * Fixture tier: `lifeboat restoreonly` of a real Debian root (the test fixture, with its kernel,
 * initramfs-tools and GRUB) onto a mounted target: the backup is restored, the initramfs is
 * made again in a chroot with the system's own update-initramfs, the log lands in the restored
 * system, and nothing stays bound under the target. GRUB needs a layout (a disk), which a host
 * test does not have: that part is the QEMU drill's.
 */
const fixture = await debianFixture();
const box = sandbox();
const target = join(box.dir, 'mnt-local');
const url = `file://${join(box.dir, 'backups')}`;

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

describeTier('fixture', 'missing' in fixture ? fixture.missing : undefined)(
  'restoreonly onto a mounted target',
  () => {
    let result: Awaited<ReturnType<typeof lifeboat>>;
    let initrdBefore = 0;

    beforeAll(async () => {
      const root = (fixture as { root: string }).root;
      const effective = await loadConfig({
        configDir: join(box.dir, 'no-etc'),
        sets: ['backup.method=netfs', `backup.url=${url}`],
      });
      await netfsMethod.backup({
        config: effective.config,
        log: new MemoryLog(),
        hostRoot: root,
        filesystems: ['/'],
        hostname: hostname(),
        alwaysExclude: [],
      });
      const initrd = readdirSync(join(root, 'boot')).find((n) => n.startsWith('initrd.img-'));
      initrdBefore = statSync(join(root, 'boot', initrd as string)).mtimeMs;
      // A mount point, as restoreonly expects (the recreated root file system, in real life).
      mkdirSync(target, { recursive: true });
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=3g', 'lifeboat-test', target]);
      result = await lifeboat(
        [
          'restoreonly',
          '--target',
          target,
          '--unattended',
          ...box.sets,
          '--set',
          'backup.method=netfs',
          '--set',
          `backup.url=${url}`,
        ],
        { env: box.env },
      );
    }, 900_000);

    afterAll(async () => {
      for (const point of mountsUnder(target).sort((a, b) => b.length - a.length))
        await execa('umount', ['--lazy', point], { reject: false });
    });

    it('succeeds, and says the target is still mounted', () => {
      expect(result.exitCode, result.all).toBe(0);
      expect(result.all).toContain(`${target} is still mounted`);
      expect(mountsUnder(target)).toEqual([target]);
    });

    it('restores the system and regenerates its initramfs with its own update-initramfs', () => {
      expect(readFileSync(join(target, 'etc', 'os-release'), 'utf8')).toMatch(/bookworm/);
      expect(result.all).toContain('initramfs regenerated with update-initramfs -u -k all');
      const initrd = readdirSync(join(target, 'boot')).find((n) => n.startsWith('initrd.img-'));
      expect(statSync(join(target, 'boot', initrd as string)).mtimeMs).toBeGreaterThan(
        initrdBefore,
      );
    });

    it('copies the recovery log into the restored system, 0600', () => {
      const dir = join(target, 'var', 'log', 'lifeboat');
      const logs = existsSync(dir) ? readdirSync(dir) : [];
      expect(logs.length).toBe(1);
      expect(statSync(join(dir, logs[0] as string)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, logs[0] as string), 'utf8')).toContain(
        'step restore/100_backup',
      );
    });
  },
);
