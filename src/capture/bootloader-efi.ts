import { errorMessage } from '../errors.js';
import {
  EFI_GLOBAL_GUID,
  efivarValue,
  parseBootCurrent,
  parseBootOrder,
  parseLoadOption,
} from './efivars.js';
import type { RootView } from './fs-root.js';
import type { BootloaderSection } from './manifest.js';

/**
 * The firmware's boot entries of the live host, from efivarfs. Read-only: only the variable
 * files are read (efibootmgr is not run), and a variable that cannot be decoded costs a
 * warning, not the capture.
 */

const EFIVARS_DIR = '/sys/firmware/efi/efivars';
const BOOT_ENTRY = new RegExp(`^Boot([0-9A-Fa-f]{4})-${EFI_GLOBAL_GUID}$`, 'i');

type EfiSection = NonNullable<BootloaderSection['efi']>;

async function readVariable(view: RootView, name: string): Promise<Buffer | undefined> {
  const file = await view.readFile(`${EFIVARS_DIR}/${name}-${EFI_GLOBAL_GUID}`);
  return file === undefined ? undefined : efivarValue(file);
}

/** Runs `decode`, turning a failure into a warning about `what`. */
async function tryDecode<T>(
  what: string,
  warnings: string[],
  decode: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await decode();
  } catch (error) {
    warnings.push(`EFI variable ${what} cannot be decoded, skipped: ${errorMessage(error)}`);
    return undefined;
  }
}

/** BootCurrent, BootOrder and the Boot#### entries; null when efivarfs is not mounted. */
export async function readEfiBoot(view: RootView, warnings: string[]): Promise<EfiSection | null> {
  const names = await view.readdir(EFIVARS_DIR);
  if (names.length === 0) {
    warnings.push(
      `UEFI host, but ${EFIVARS_DIR} is empty (efivarfs not mounted): boot entries not recorded`,
    );
    return null;
  }
  const bootCurrent = await tryDecode('BootCurrent', warnings, async () => {
    const value = await readVariable(view, 'BootCurrent');
    return value === undefined ? null : parseBootCurrent(value);
  });
  const bootOrder = await tryDecode('BootOrder', warnings, async () => {
    const value = await readVariable(view, 'BootOrder');
    return value === undefined ? [] : parseBootOrder(value);
  });
  const entries: EfiSection['entries'] = [];
  for (const name of names) {
    const hex = BOOT_ENTRY.exec(name)?.[1];
    if (hex === undefined) continue;
    const id = hex.toUpperCase();
    const option = await tryDecode(`Boot${id}`, warnings, async () => {
      const file = await view.readFile(`${EFIVARS_DIR}/${name}`);
      return file === undefined ? undefined : parseLoadOption(efivarValue(file));
    });
    if (option === undefined) continue;
    entries.push({ id, description: option.description, path: option.path, active: option.active });
  }
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { bootCurrent: bootCurrent ?? null, bootOrder: bootOrder ?? [], entries };
}
