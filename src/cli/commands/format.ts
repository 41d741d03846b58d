import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runHostTool } from '../../layout/run-tool.js';
import { formatDevice } from '../../usb/format.js';
import type { FormatMode } from '../../usb/format-plan.js';
import { askYesNo } from '../prompt.js';
import { type GlobalOptions, openSession } from '../session.js';

export function registerFormat(program: Command): void {
  program
    .command('format')
    .description(
      'prepare a USB stick, a disk or an image file as a lifeboat rescue stick (erases it)',
    )
    .argument('<device>', 'the whole device (/dev/sdX, /dev/disk/by-id/usb-...) or an image file')
    .option(
      '--hybrid',
      'boot on BIOS and UEFI: BIOS boot, EFI System and data partitions (default)',
    )
    .option('--efi', 'UEFI only: EFI System and data partitions')
    .option('--bios', 'BIOS only: BIOS boot and data partitions')
    .option('-y, --yes', 'do not ask before erasing (needed without a terminal)')
    .option('--force', 'format a device the kernel does not call removable (a fixed disk)')
    .action(
      async (
        device: string,
        options: {
          hybrid?: boolean;
          efi?: boolean;
          bios?: boolean;
          yes?: boolean;
          force?: boolean;
        },
        command: Command,
      ) => {
        const modes = (['hybrid', 'efi', 'bios'] as const).filter((mode) => options[mode]);
        if (modes.length > 1)
          throw new UsageError(
            `format: --${modes.join(' and --')} exclude each other; give one of --hybrid, --efi, --bios`,
          );
        const mode: FormatMode = modes[0] ?? 'hybrid';
        const session = await openSession('format', command.optsWithGlobals<GlobalOptions>());
        const { usb } = session.effective.config;
        const { device: formatted, plan } = await formatDevice({
          device,
          mode,
          label: usb.label,
          filesystem: usb.filesystem,
          efiSizeMiB: usb.efiSizeMiB,
          force: options.force === true,
          yes: options.yes === true,
          interactive: Boolean(process.stdin.isTTY),
          confirm: askYesNo,
          run: runHostTool,
          log: session.log,
        });
        session.log.info(
          `format: ${formatted.path} is a lifeboat stick (${mode}): ${plan.partitions
            .map((p) => `${p.number} ${p.name}${p.filesystem ? ` ${p.filesystem.label}` : ''}`)
            .join(', ')}; backups go to usb:///dev/disk/by-label/${usb.label}/...`,
        );
      },
    );
}
