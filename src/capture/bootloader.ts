import { readEfiBoot } from './bootloader-efi.js';
import { readEsp } from './bootloader-esp.js';
import { readGrub } from './bootloader-grub.js';
import type { RootView } from './fs-root.js';
import type { BootloaderSection } from './manifest.js';

/**
 * The `bootloader` section: what a restore must put back so the machine boots again: which GRUB
 * (and for which platforms), where the EFI system partition is, and, on a live UEFI host, the
 * firmware's boot entries. Files are read only; no bootloader tool is run.
 */

export interface BootloaderOptions {
  /** true: the running host, whose mount table and firmware variables can be read. */
  live: boolean;
}

export interface BootloaderResult {
  section: BootloaderSection;
  warnings: string[];
}

/** Reads the bootloader of the root behind `view` (the running host when `live`). */
export async function readBootloader(
  view: RootView,
  options: BootloaderOptions,
): Promise<BootloaderResult> {
  const warnings: string[] = [];
  const grub = await readGrub(view, warnings);
  const esp = await readEsp(view, options.live);
  // Firmware variables exist only on a UEFI host, and only the running one shows them.
  const uefi =
    options.live && ((await view.lookup('/sys/firmware/efi'))?.stats.isDirectory() ?? false);
  const efi = uefi ? await readEfiBoot(view, warnings) : null;
  return { section: { grub, esp, efi }, warnings: warnings.sort() };
}
