import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { copyOutOfContainer } from '../engine/container-files.js';
import { errorMessage, UsageError } from '../errors.js';
import { type IsoOptions, makeIso, makeIsoArguments } from './make-iso.js';
import type { Output, StagedRescue } from './output.js';

/**
 * ISO (ReaR OUTPUT=ISO): one hybrid image that boots on BIOS (isolinux) and UEFI (GRUB), from a
 * CD or written raw to a USB stick. The builder image's make-iso step does the work
 * (src/outputs/make-iso.ts drives it).
 */
export const ISO_FILE = 'lifeboat.iso';

function isoOptions(
  config: Config,
  paths: { kernel: string; initrd: string; out: string },
  epoch: number,
): IsoOptions {
  return {
    ...paths,
    volumeId: config.boot.volumeId,
    epoch,
    defaultEntry: config.boot.default,
    timeoutSeconds: config.boot.timeout,
    cmdline: config.kernel.cmdline,
    serial: config.boot.serialConsole,
    firmware: config.boot.firmware,
  };
}

export const isoOutput: Output = {
  name: 'iso',
  summary: 'a hybrid BIOS/UEFI ISO, bootable from a CD or written raw to a USB stick',
  builderPrograms: ['xorriso', 'grub-mkimage', 'mkfs.vfat', 'mcopy'],

  check(config) {
    // The menu's settings are checked as make-iso would check them, with stand-in paths and the
    // earliest date the ISO can carry (the real SOURCE_DATE_EPOCH is known only later).
    const epoch = config.sourceDateEpoch ?? 315_532_800;
    try {
      makeIsoArguments(isoOptions(config, { kernel: '/k', initrd: '/i', out: '/o' }, epoch));
      return [];
    } catch (error) {
      if (error instanceof UsageError) return [`output iso: ${errorMessage(error)}`];
      throw error;
    }
  },

  async make(rescue: StagedRescue) {
    rescue.say('ISO');
    const dir = join(rescue.work, 'iso');
    await makeIso(
      rescue.container,
      isoOptions(
        rescue.config,
        { kernel: rescue.kernel, initrd: rescue.initrd, out: join(dir, ISO_FILE) },
        rescue.epoch,
      ),
    );
    await copyOutOfContainer(rescue.container, dir, rescue.dir, [ISO_FILE]);
    return [ISO_FILE];
  },

  bootMedium: (outDir) => ({ kind: 'cdrom', iso: join(outDir, ISO_FILE) }),
};
