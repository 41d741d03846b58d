import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { copyOutOfContainer } from '../engine/container-files.js';
import { consoleArguments, type Output } from './output.js';

/**
 * RAMDISK (ReaR OUTPUT=RAMDISK): the kernel, the initrd and the kernel command line as three
 * files, for a boot loader, a hypervisor's direct kernel boot or a PXE server of one's own.
 */
export const KERNEL_FILE = 'vmlinuz';
export const INITRD_FILE = 'initrd.img';
export const CMDLINE_FILE = 'cmdline.txt';

export const ramdiskOutput: Output = {
  name: 'ramdisk',
  summary: 'the kernel, the initrd and the kernel command line as files',
  builderPrograms: [],

  check: () => [],

  async make(rescue) {
    // The staged kernel and initrd are these files already; they only leave the container.
    for (const [path, name] of [
      [rescue.kernel, KERNEL_FILE],
      [rescue.initrd, INITRD_FILE],
    ] as const) {
      if (basename(path) !== name) throw new Error(`ramdisk: staged ${path} is not ${name}`);
    }
    await copyOutOfContainer(rescue.container, dirname(rescue.kernel), rescue.dir, [
      KERNEL_FILE,
      INITRD_FILE,
    ]);
    const cmdline = `${consoleArguments(rescue.config)} ${rescue.cmdline}`.trim();
    await writeFile(join(rescue.dir, CMDLINE_FILE), `${cmdline}\n`, { mode: 0o600 });
    return [KERNEL_FILE, INITRD_FILE, CMDLINE_FILE];
  },

  bootMedium: (outDir) => ({
    kind: 'kernel',
    kernel: join(outDir, KERNEL_FILE),
    initrd: join(outDir, INITRD_FILE),
    // The boot test reads the serial console whatever boot.serialConsole says.
    append: 'console=ttyS0,115200n8',
  }),
};
