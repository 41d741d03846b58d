import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { type BootMedium, bootInQemu, SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { sandbox } from '../support/cli.js';
import { bootTierHost, mediaBuilds } from '../support/media-builds.js';
import { describeTier } from '../support/tiers.js';

/**
 * The RAWDISK output: the example host's rescue system as a disk image, booted in QEMU as a
 * virtio disk and as a USB stick, on BIOS (syslinux) and UEFI (GRUB). (The image as built is
 * test/outputs/rawdisk.test.ts's.) The rescue system knows which disk it came from: the kernel command line names the
 * image's PTUUID, and recovery never recreates a layout on that disk. (The example host's kernel
 * is Debian's cloud kernel, which has no USB drivers: booted from a stick, its rescue system does
 * not see the stick once running, so only the virtio boots can find the disk by that PTUUID.)
 */
const READY = /^lifeboat-rescue: ready/;
/**
 * The disk whose PTUUID the kernel command line names, as the rescue system finds it (a USB
 * stick shows up a few seconds after the rescue system is ready: it is waited for).
 */
const WHICH_DISK = [
  'id=$(sed -n "s/.*lifeboat.medium=\\([^ ]*\\).*/\\1/p" /proc/cmdline)',
  'for i in $(seq 30); do d=$(lsblk -dnro PTUUID,PATH | awk -v id="$id" \'$1==id{print $2}\'); [ -n "$d" ] && break; sleep 1; done',
  'echo "medium $id is $d."',
].join('; ');
const ANSWER = /^medium \S* is \S*\.\r?$/;

const { hostRoot, why } = await bootTierHost(() =>
  existsSync('/usr/sbin/sfdisk') ? undefined : 'sfdisk is not installed (package fdisk)',
);

const box = sandbox();
const timings: string[] = [];
afterAll(() => {
  if (timings.length > 0) process.stdout.write(`rawdisk timings:\n${timings.join('\n')}\n`);
});

/** Capture, then `build` with the rawdisk output, once. */
const builds = mediaBuilds(box, hostRoot, ['output.methods=[rawdisk]', 'boot.timeout=0']);
async function builtImage() {
  const { out } = await builds();
  return { image: join(out, 'lifeboat.raw') };
}

/** The image's GPT disk GUID, as sfdisk reads it on this machine, in lower case. */
async function imagePtuuid(): Promise<string> {
  const { image } = await builtImage();
  const { stdout } = await execa('sfdisk', ['--json', image]);
  return (JSON.parse(stdout).partitiontable.id as string).toLowerCase();
}

async function boot(firmware: 'bios' | 'uefi', kind: 'disk' | 'usb') {
  const { image } = await builtImage();
  const medium: BootMedium = kind === 'disk' ? { kind: 'disk', image } : { kind: 'usb', image };
  const booted = await bootInQemu({
    firmware,
    cpus: SIDE_BY_SIDE_CPUS,
    medium,
    ready: READY,
    commands: [{ send: WHICH_DISK, expect: ANSWER }],
    timeoutMs: 10 * 60_000,
  });
  timings.push(`  ${firmware} ${kind}: ${booted.readySeconds?.toFixed(1) ?? 'not'} s to ready`);
  expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
  return booted.answers[0] ?? '';
}

describeTier('boot', why)('RAWDISK output: a bootable disk image (QEMU)', () => {
  for (const firmware of ['bios', 'uefi'] as const) {
    it.concurrent(
      `${firmware}: boots as a virtio disk; the kernel command line names that disk's PTUUID`,
      async () => {
        const ptuuid = await imagePtuuid();
        expect(await boot(firmware, 'disk')).toMatch(
          new RegExp(`^medium ${ptuuid} is /dev/vda\\.`),
        );
      },
      20 * 60_000,
    );
    it.concurrent(
      `${firmware}: boots as a USB stick; the kernel command line names the image's PTUUID`,
      async () => {
        const ptuuid = await imagePtuuid();
        expect(await boot(firmware, 'usb')).toMatch(new RegExp(`^medium ${ptuuid} is `));
      },
      20 * 60_000,
    );
  }
});
