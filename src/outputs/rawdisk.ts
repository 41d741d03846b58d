import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { copyOutOfContainer } from '../engine/container-files.js';
import { menuArguments, runBuilderStep } from './builder-step.js';
import { missingUsbDrivers, type Output, type StagedRescue } from './output.js';

/**
 * RAWDISK (ReaR OUTPUT=RAWDISK): a disk image that boots on BIOS (syslinux) and UEFI (GRUB),
 * written raw to a USB stick or a disk, or attached to a virtual machine. The builder image's
 * make-rawdisk step makes it (images/debian-bookworm/steps/make-rawdisk says what is where); its
 * GUIDs and FAT volume id derive from the inputs, so two builds give the same bytes. Its kernel
 * command line names the disk's PTUUID (lifeboat.medium=), which recovery never recreates.
 */
export const RAWDISK_FILE = 'lifeboat.raw';
/** The artifact's name for each rawdisk.compression: the compressed image replaces the raw one. */
const SUFFIX = { none: '', gzip: '.gz', xz: '.xz', zstd: '.zst' } as const;

export function rawdiskArtifact(config: Config): string {
  return `${RAWDISK_FILE}${SUFFIX[config.rawdisk.compression]}`;
}
const MAKE_RAWDISK_SCRIPT = '/usr/lib/lifeboat/make-rawdisk';
/** The words make-rawdisk's --cmdline takes: none that syslinux or GRUB treat specially. */
const CMDLINE_OK = /^[^"'\\\p{Cc}]*$/u;

/** make-rawdisk's arguments: paths in the container, then the menu. */
export function makeRawdiskArguments(
  config: Config,
  paths: { kernel: string; initrd: string; out: string },
  epoch: number,
): string[] {
  return [
    '--kernel',
    paths.kernel,
    '--initrd',
    paths.initrd,
    '--out',
    paths.out,
    '--epoch',
    String(epoch),
    '--compress',
    config.rawdisk.compression,
    ...menuArguments(config),
  ];
}

export const rawdiskOutput: Output = {
  name: 'rawdisk',
  summary: 'a disk image (GPT, one FAT partition) that boots on BIOS and UEFI, for dd or a VM',
  builderPrograms: ['sgdisk', 'syslinux', 'mkfs.vfat', 'mcopy', 'grub-mkimage'],

  check(config) {
    return CMDLINE_OK.test(config.kernel.cmdline)
      ? []
      : [
          'output rawdisk: kernel.cmdline may not hold quotes, backslashes or control characters (syslinux and GRUB read it)',
        ];
  },

  async make(rescue: StagedRescue) {
    rescue.say('raw disk image');
    const noUsb = missingUsbDrivers(rescue.host);
    if (noUsb.length > 0)
      rescue.log.warn(
        `output rawdisk: the host's kernel has no ${noUsb.join(', ')}: written to a USB stick, the image boots, but the running rescue system does not see the stick (nor usb:// backups on it)`,
      );
    const dir = join(rescue.work, 'rawdisk');
    const args = makeRawdiskArguments(
      rescue.config,
      { kernel: rescue.kernel, initrd: rescue.initrd, out: join(dir, RAWDISK_FILE) },
      rescue.epoch,
    );
    await runBuilderStep(
      rescue.container,
      MAKE_RAWDISK_SCRIPT,
      args,
      'Making the raw disk image',
      10 * 60_000,
    );
    const artifact = rawdiskArtifact(rescue.config);
    await copyOutOfContainer(rescue.container, dir, rescue.dir, [artifact]);
    return [artifact];
  },

  // A compressed image is for storing and sending: --boot-test boots only the raw one.
  bootMedium: (outDir) =>
    existsSync(join(outDir, RAWDISK_FILE))
      ? { kind: 'disk', image: join(outDir, RAWDISK_FILE) }
      : undefined,
};
