import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, expect, it } from 'vitest';
import { runHostTool } from '../../src/layout/run-tool.js';
import { inspectDevice, refusalOf } from '../../src/usb/target-device.js';
import { toolsMissing } from '../support/backup.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { describeTier } from '../support/tiers.js';

/**
 * `lifeboat format` on image files and loop devices (this machine's kernel parses no partition
 * tables: the result is read with sfdisk and `blkid -p` at the partitions' offsets). It
 * refuses, with nothing written: no terminal and no --yes, a device that is not removable
 * without --force, a mounted one, an image attached as a loop device, and the disk the running
 * system is on (inspected only: that disk is never handed to format).
 */
const missing = toolsMissing(['sfdisk', 'losetup', 'mkfs.vfat', 'mkfs.ext4', 'mkfs.xfs', 'blkid']);
const MiB = 1024 * 1024;
const box = sandbox();
/** Loop devices a test attached, detached after it whatever happened. */
const attached: string[] = [];
const mounted: string[] = [];
afterEach(async () => {
  for (const dir of mounted.splice(0)) await execa('umount', [dir], { reject: false });
  // format tells the kernel of the partitions it wrote (partx): forgotten before the detach, or
  // the next user of that loop device finds them.
  for (const loop of attached.splice(0)) {
    await execa('partx', ['-d', loop], { reject: false });
    await execa('losetup', ['-d', loop], { reject: false });
  }
});
afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

async function imageFile(name: string, mib: number): Promise<string> {
  const file = join(box.dir, name);
  await execa('truncate', ['-s', `${mib}M`, file]);
  return file;
}
async function attach(file: string): Promise<string> {
  const { stdout } = await execa('losetup', ['--find', '--show', file]);
  attached.push(stdout.trim());
  return stdout.trim();
}
const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const format = (args: string[]) => lifeboat(['format', ...args, ...box.sets], { env: box.env });

/** The partition table as sfdisk reads it, and what blkid finds at each partition's offset. */
async function readStick(file: string) {
  const { stdout } = await execa('sfdisk', ['--json', file]);
  const table = JSON.parse(stdout).partitiontable as {
    label: string;
    partitions: { start: number; size: number; type: string; name: string }[];
  };
  const partitions = [];
  for (const p of table.partitions) {
    const probed = await execa('blkid', ['-p', '-O', String(p.start * 512), '-o', 'export', file], {
      reject: false,
    });
    const field = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(probed.stdout)?.[1];
    partitions.push({
      name: p.name,
      type: p.type,
      startMiB: (p.start * 512) / MiB,
      fs: field('TYPE'),
      label: field('LABEL'),
    });
  }
  return { label: table.label, partitions };
}

describeTier('fixture', missing)('lifeboat format (image files and loop devices)', () => {
  it('makes a hybrid stick of an image file: BIOS boot, EFI System (FAT32) and data (ext4, usb.label), aligned to 8 MiB', async () => {
    const file = await imageFile('hybrid.img', 1024);
    const result = await format([file, '--yes']);
    expect(result.exitCode, result.all).toBe(0);
    expect(await readStick(file)).toEqual({
      label: 'gpt',
      partitions: [
        {
          name: 'BIOS boot',
          type: '21686148-6449-6E6F-744E-656564454649',
          startMiB: 1,
          fs: undefined,
          label: undefined,
        },
        {
          name: 'EFI System',
          type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
          startMiB: 8,
          fs: 'vfat',
          label: 'LIFEBOATEFI',
        },
        {
          name: 'lifeboat data',
          type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
          startMiB: 264,
          fs: 'ext4',
          label: 'LIFEBOAT-000',
        },
      ],
    });
    expect(result.all).toContain('usb:///dev/disk/by-label/LIFEBOAT-000/');
  });

  it('--efi with usb.filesystem xfs and another label: EFI System and data only', async () => {
    const file = await imageFile('efi.img', 1024);
    const result = await format([
      file,
      '--efi',
      '--yes',
      '--set',
      'usb.filesystem=xfs',
      '--set',
      'usb.label=SITE-STICK',
      '--set',
      'usb.efiSizeMiB=64',
    ]);
    expect(result.exitCode, result.all).toBe(0);
    const stick = await readStick(file);
    expect(stick.partitions.map((p) => [p.name, p.startMiB, p.fs, p.label])).toEqual([
      ['EFI System', 8, 'vfat', 'LIFEBOATEFI'],
      ['lifeboat data', 72, 'xfs', 'SITE-STICK'],
    ]);
  });

  it('refuses without a terminal and without --yes (exit 2), nothing written', async () => {
    const file = await imageFile('unattended.img', 512);
    const before = digest(file);
    const result = await format([file]);
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/format would erase everything on .*unattended\.img .* no terminal/);
    expect(result.all).toContain('give --yes');
    expect(digest(file)).toBe(before);
  });

  it('refuses a device that is not removable unless --force; with --force it formats it', async () => {
    const file = await imageFile('fixed.img', 512);
    const loop = await attach(file);
    const before = digest(file);
    const refused = await format([loop, '--yes']);
    expect(refused.exitCode).toBe(2);
    expect(refused.all).toContain(`${loop} (`);
    expect(refused.all).toContain('is not a removable device; give --force');
    expect(digest(file)).toBe(before);
    const forced = await format([loop, '--yes', '--force', '--bios']);
    expect(forced.exitCode, forced.all).toBe(0);
    expect((await readStick(file)).partitions.map((p) => [p.name, p.fs])).toEqual([
      ['BIOS boot', undefined],
      ['lifeboat data', 'ext4'],
    ]);
  });

  it('refuses a mounted device, and an image file attached as a loop device, even with --force', async () => {
    const file = await imageFile('mounted.img', 256);
    await execa('mkfs.ext4', ['-q', '-F', file]);
    const loop = await attach(file);
    const dir = join(box.dir, 'mnt');
    mkdirSync(dir);
    await execa('mount', [loop, dir]);
    mounted.push(dir);
    const before = digest(file);
    const busy = await format([loop, '--yes', '--force']);
    expect(busy.exitCode).toBe(2);
    expect(busy.all).toContain(`${loop} is mounted (${dir}): unmount it first`);
    const attachedFile = await format([file, '--yes', '--force']);
    expect(attachedFile.exitCode).toBe(2);
    expect(attachedFile.all).toContain(`is attached as ${loop}: detach it first`);
    expect(digest(file)).toBe(before);
  });

  it("refuses the disk the running system is on, --force or not (this machine's root disk, inspected only)", async () => {
    const { stdout: source } = await execa('findmnt', ['--noheadings', '--output', 'SOURCE', '/']);
    // The whole disk that / is on: the source itself, or the disk its partition is on.
    const { stdout: parent } = await execa('lsblk', [
      '--noheadings',
      '--paths',
      '--output',
      'PKNAME',
      source.trim(),
    ]);
    const disk = parent.trim().split('\n')[0] || source.trim();
    const device = await inspectDevice(disk, runHostTool);
    expect(refusalOf(device, true)).toMatch(/ holds the running system \(\/.* on it\)$/);
  });
});
