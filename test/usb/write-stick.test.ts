import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { runHostTool } from '../../src/layout/run-tool.js';
import { MemoryLog } from '../../src/log/log.js';
import { TREE, writeStick } from '../../src/usb/write-stick.js';
import { toolsMissing } from '../support/backup.js';
import { sandbox } from '../support/cli.js';
import { configWith } from '../support/config-with.js';
import { formattedStick, withStickData } from '../support/stick.js';
import { describeTier } from '../support/tiers.js';

/**
 * The usb output's write half on image files that `lifeboat format` made: where a run goes,
 * retention, interrupted runs, usb:// backups beside the runs, the menu, the boot areas; and the
 * sticks it refuses, with nothing written. GRUB's images here are stand-ins (patterned bytes):
 * test/outputs/usb.test.ts writes the builder image's real ones and boots them in QEMU.
 */
const missing = toolsMissing(['sfdisk', 'losetup', 'mkfs.vfat', 'mkfs.ext4', 'blkid', 'mount']);
const MiB = 1024 * 1024;
const box = sandbox();
afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const stickFile = (name: string, label = 'LIFEBOAT-000') =>
  formattedStick(box, join(box.dir, name), '192M', [`usb.label=${label}`, 'usb.efiSizeMiB=32']);

/** The EFI file system make-usb would make, as a stand-in: a FAT with the label format gives. */
const ESP_IMAGE = await (async () => {
  const file = join(box.dir, 'esp.img');
  await execa('truncate', ['-s', '2M', file]);
  if (missing === undefined) await execa('mkfs.vfat', ['-n', 'LIFEBOATEFI', file]);
  return readFileSync(file);
})();

/** A usb output tree as make-usb and the usb output leave it, with stand-in GRUB images. */
function tree(host: string, name = host): string {
  const dir = join(box.dir, `tree-${name}`);
  mkdirSync(join(dir, 'boot'), { recursive: true });
  mkdirSync(join(dir, 'rescue'), { recursive: true });
  writeFileSync(join(dir, TREE.bootImg), Buffer.alloc(512, 0xb0));
  writeFileSync(join(dir, TREE.coreImg), Buffer.alloc(3000, 0xc0));
  writeFileSync(join(dir, TREE.espImg), ESP_IMAGE);
  writeFileSync(join(dir, 'rescue/vmlinuz'), `kernel of ${host}`);
  writeFileSync(join(dir, 'rescue/initrd.img'), `initrd of ${host}`);
  writeFileSync(
    join(dir, TREE.runJson),
    JSON.stringify({
      host,
      kernelArguments: ['console=ttyS0,115200n8'],
      defaultEntry: 'rescue',
      timeout: 5,
      serial: true,
    }),
  );
  return dir;
}

describeTier('fixture', missing)('output usb: writing a stick (image files)', () => {
  it('keeps usb.retain runs per host, newest first in one menu; backups beside them and other hosts stay', async () => {
    const stick = await stickFile('stick.img');
    const tableBefore = (await execa('sfdisk', ['--dump', stick])).stdout;
    const config = await configWith(['usb.retain=2']);
    const log = new MemoryLog();
    const write = (host: string, when: string) =>
      writeStick({
        config,
        url: `usb://${stick}`,
        tree: tree(host),
        run: runHostTool,
        log,
        now: new Date(when),
      });

    await write('alpha', '2026-12-01T10:00:00Z');
    // A backup to usb:// beside the runs, and a run a power cut interrupted (no run.json).
    await withStickData(stick, box.dir, async (lifeboatDir) => {
      mkdirSync(join(lifeboatDir, 'alpha/20261201T110000Z'), { recursive: true });
      writeFileSync(join(lifeboatDir, 'alpha/20261201T110000Z/backup.json'), '{}');
      mkdirSync(join(lifeboatDir, 'alpha/20261201.113000'));
    });
    // The interrupted run goes at the next write of its host.
    expect((await write('alpha', '2026-12-02T10:00:00Z')).removed).toEqual([
      'alpha/20261201.113000',
    ]);
    await write('beta', '2026-12-02T11:00:00Z');
    const last = await write('alpha', '2026-12-03T10:00:00Z');
    expect(last.written).toBe('lifeboat/alpha/20261203.100000');
    expect(last.removed).toEqual(['alpha/20261201.100000']);
    expect(last.menu.map((r) => `${r.host}/${r.run}`)).toEqual([
      'alpha/20261203.100000',
      'beta/20261202.110000',
      'alpha/20261202.100000',
    ]);

    await withStickData(stick, box.dir, async (lifeboatDir) => {
      const { stdout: listing } = await execa('find', ['.', '-mindepth', '2', '-maxdepth', '2'], {
        cwd: lifeboatDir,
      });
      expect(listing.split('\n').sort()).toEqual([
        './alpha/20261201T110000Z',
        './alpha/20261202.100000',
        './alpha/20261203.100000',
        './beta/20261202.110000',
      ]);
      expect(readFileSync(join(lifeboatDir, 'beta/20261202.110000/vmlinuz'), 'utf8')).toBe(
        'kernel of beta',
      );
      const menu = readFileSync(join(lifeboatDir, 'grub.cfg'), 'utf8');
      const titles = [...menu.matchAll(/^menuentry '([^']*): rescue system'/gm)].map((m) => m[1]);
      expect(titles).toEqual([
        'alpha 2026-12-03 10:00:00 UTC',
        'beta 2026-12-02 11:00:00 UTC',
        'alpha 2026-12-02 10:00:00 UTC',
      ]);
      const ptuuid = JSON.parse((await execa('sfdisk', ['--json', stick])).stdout).partitiontable
        .id as string;
      expect(menu).toContain(`'lifeboat.medium=${ptuuid.toLowerCase()}'`);
    });

    // The boot areas: boot code in sector 0 (the partition table kept), GRUB's core image in
    // the BIOS boot partition, the EFI file system at the start of the EFI System partition.
    expect((await execa('sfdisk', ['--dump', stick])).stdout).toBe(tableBefore);
    const bytes = readFileSync(stick);
    expect(bytes.subarray(0x68, 440).every((b) => b === 0xb0)).toBe(true);
    expect(bytes.subarray(MiB + 512, MiB + 3000).every((b) => b === 0xc0)).toBe(true);
    expect(bytes.subarray(8 * MiB, 10 * MiB).equals(ESP_IMAGE)).toBe(true);
  }, 120_000);

  it('refuses, with nothing written: an unformatted image, another label, an attached image', async () => {
    const config = await configWith([]);
    const attempt = (stick: string) =>
      writeStick({
        config,
        url: `usb://${stick}`,
        tree: tree('alpha', 'refused'),
        run: runHostTool,
        log: new MemoryLog(),
      });

    const blank = join(box.dir, 'blank.img');
    await execa('truncate', ['-s', '64M', blank]);
    const blankBefore = digest(blank);
    await expect(attempt(blank)).rejects.toThrow(/has no partition table.*|has no GPT/);
    await expect(attempt(blank)).rejects.toBeInstanceOf(UsageError);
    expect(digest(blank)).toBe(blankBefore);

    const other = await stickFile('other.img', 'SOMEONE-ELSE');
    const otherBefore = digest(other);
    await expect(attempt(other)).rejects.toThrow(
      `has no ext4 or xfs partition labelled LIFEBOAT-000 (usb.label)`,
    );
    expect(digest(other)).toBe(otherBefore);

    const attached = await stickFile('attached.img');
    const before = digest(attached);
    const loop = (await execa('losetup', ['--find', '--show', attached])).stdout.trim();
    try {
      await expect(attempt(attached)).rejects.toThrow(`is attached as ${loop}`);
    } finally {
      await execa('losetup', ['-d', loop]);
    }
    expect(digest(attached)).toBe(before);

    await expect(attempt(join(box.dir, 'nowhere.img'))).rejects.toThrow(/does not exist/);
  }, 120_000);
});
