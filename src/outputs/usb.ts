import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { copyTreeOutOfContainer } from '../engine/container-files.js';
import { errorMessage, JobError } from '../errors.js';
import { runHostTool } from '../layout/run-tool.js';
import { stickPath } from '../usb/stick.js';
import type { StickRun } from '../usb/stick-menu.js';
import { TREE, writeStick } from '../usb/write-stick.js';
import { runBuilderStep } from './builder-step.js';
import {
  consoleArguments,
  missingUsbDrivers,
  type Output,
  type StagedRescue,
  type WriteRequest,
} from './output.js';

/**
 * USB (ReaR OUTPUT=USB): rescue systems on a stick that `lifeboat format` made, several hosts and
 * several runs each, one boot menu for all (docs/usb.md).
 *
 * make: the builder image's make-usb step makes GRUB for BIOS and UEFI and the EFI System
 * partition's file system (images/debian-bookworm/steps/make-usb); with the kernel, the initrd
 * and run.json (this host's menu settings) they are the tree `usb/`, the same bytes from the
 * same inputs.
 * write: when output.url is usb://, that tree goes onto the stick it names
 * (src/usb/write-stick.ts): lifeboat/HOST/RUN/, retention, the menu, the boot areas.
 */
export const USB_DIR = 'usb';
const MAKE_USB_SCRIPT = '/usr/lib/lifeboat/make-usb';
/** The words GRUB reads single-quoted in the stick's menu. */
const CMDLINE_OK = /^[^"'\\$\p{Cc}]*$/u;

/**
 * The stick the usb output writes: output.url when the usb output is asked for and the URL is
 * usb://; undefined otherwise (only the tree is made, and output.url gets a copy as for any
 * output).
 */
export function stickUrl(config: Config): string | undefined {
  const url = config.output.url;
  return config.output.methods.includes('usb') && url?.startsWith('usb://') ? url : undefined;
}

/** The write half: the tree onto the stick `device` (a usb:// URL) names; returns what was written. */
async function writeToStick({ config, outDir, device, log }: WriteRequest): Promise<string> {
  const result = await writeStick({
    config,
    url: device,
    tree: join(outDir, USB_DIR),
    run: runHostTool,
    log,
  });
  return `${device} (${result.written})`;
}

export const usbOutput: Output = {
  name: 'usb',
  summary:
    'rescue systems on a stick made by lifeboat format: several hosts and runs, one menu (BIOS and UEFI)',
  builderPrograms: ['grub-mkimage', 'mkfs.vfat', 'mcopy'],

  check(config) {
    const problems: string[] = [];
    if (!CMDLINE_OK.test(config.kernel.cmdline))
      problems.push(
        'output usb: kernel.cmdline may not hold quotes, backslashes, $ or control characters (GRUB reads it)',
      );
    const url = stickUrl(config);
    if (url !== undefined) {
      try {
        stickPath(url);
      } catch (error) {
        problems.push(errorMessage(error));
      }
    }
    return problems;
  },

  async make(rescue: StagedRescue) {
    rescue.say('USB stick tree');
    const { config, host } = rescue;
    if (host.name === '')
      throw new JobError(
        'the capture names no host (its /etc/hostname is empty): the stick keeps each host under its name',
        { hint: 'Give the host a name (/etc/hostname) and capture again.' },
      );
    const missing = missingUsbDrivers(host);
    if (missing.length > 0)
      rescue.log.warn(
        `output usb: the host's kernel has no ${missing.join(', ')}: the stick boots, but the running rescue system does not see it (nor usb:// backups on it)`,
      );
    const out = join(rescue.work, USB_DIR);
    await runBuilderStep(
      rescue.container,
      MAKE_USB_SCRIPT,
      [
        '--kernel',
        rescue.kernel,
        '--initrd',
        rescue.initrd,
        '--out',
        out,
        '--label',
        config.usb.label,
        '--epoch',
        String(rescue.epoch),
      ],
      'Making the USB stick tree',
      10 * 60_000,
    );
    const tree = join(rescue.dir, USB_DIR);
    await copyTreeOutOfContainer(rescue.container, out, tree);
    const run: Omit<StickRun, 'run'> = {
      host: host.name.split('.')[0] ?? host.name,
      kernelArguments: [consoleArguments(config), config.kernel.cmdline]
        .join(' ')
        .split(' ')
        .filter(Boolean),
      defaultEntry: config.boot.default,
      timeout: config.boot.timeout,
      serial: config.boot.serialConsole,
    };
    await writeFile(join(tree, TREE.runJson), `${JSON.stringify(run, null, 2)}\n`, {
      mode: 0o600,
    });
    return [USB_DIR];
  },

  write: writeToStick,

  publish({ config, outDir, log }) {
    const url = stickUrl(config);
    return url === undefined
      ? Promise.resolve(undefined)
      : writeToStick({ config, outDir, device: url, log });
  },

  // A stick has to be formatted first: --boot-test cannot boot the tree alone.
  bootMedium: () => undefined,
};
