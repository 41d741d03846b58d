import type { RunningContainer } from '../engine/container.js';
import { UsageError } from '../errors.js';
import { runBuilderStep } from './builder-step.js';

/**
 * The ISO output: a hybrid image (MBR + GPT) that boots on BIOS through isolinux and on UEFI
 * through a GRUB EFI image, from a CD or written raw to a USB stick. The builder image's
 * `make-iso` step (images/debian-bookworm/steps/make-iso) does the work inside the container;
 * this module checks the options, passes them as an argument array (never a shell string) and
 * turns a failure into a JobError that shows the step's last lines.
 *
 * The same options, kernel and initrd give the same ISO bytes: every date is `epoch`, and every id
 * a tool would otherwise make up (volume UUID, GPT GUIDs, FAT volume id) is derived from `epoch`
 * and `volumeId`.
 */

/** Where the builder image keeps the step (the Dockerfile copies steps/ to /usr/lib/lifeboat/). */
export const MAKE_ISO_SCRIPT = '/usr/lib/lifeboat/make-iso';

/** The boot menu's entries, by id. Both loaders show the same three. */
export type IsoMenuEntry =
  /** "lifeboat rescue system": the kernel with the command line. */
  | 'rescue'
  /** "lifeboat automatic recovery": the same, plus `lifeboat.recover=auto`. */
  | 'recover'
  /**
   * "boot from local disk": BIOS chains to the first hard disk (chain.c32 hd0; when the medium is
   * a USB stick, that is the stick itself). UEFI exits GRUB back to the firmware, which on
   * EDK2-style firmware (OVMF) shows its boot manager.
   */
  | 'local';

export type IsoFirmware = 'bios' | 'uefi';

export interface IsoOptions {
  /** The kernel, a path inside the container. It becomes /boot/vmlinuz on the ISO. */
  kernel: string;
  /** The initrd, a path inside the container. It becomes /boot/initrd.img on the ISO. */
  initrd: string;
  /** The ISO to write, a path inside the container (its directory is made when missing). */
  out: string;
  /** The ISO 9660 volume id: 1 to 32 of A-Z a-z 0-9 _ . - (for example `LIFEBOAT`). */
  volumeId: string;
  /**
   * SOURCE_DATE_EPOCH: every date on the medium, and the seed of its ids. Seconds since 1970,
   * from 1980 (FAT and ISO 9660 dates start there) to 2^32 - 1.
   */
  epoch: number;
  /** The entry booted when the timeout runs out. Default `rescue`. */
  defaultEntry?: IsoMenuEntry;
  /** Seconds the menu waits, 0 to 3599; 0 boots the default entry at once. Default 5. */
  timeoutSeconds?: number;
  /**
   * Extra kernel arguments, separated by spaces, for the rescue and recovery entries. Quotes,
   * backslashes and control characters are refused: isolinux and GRUB treat them differently.
   */
  cmdline?: string;
  /**
   * Serial console on COM1 at 115200 baud for both loaders, and `console=tty0
   * console=ttyS0,115200n8` on the kernel command line (before `cmdline`). Default false.
   */
  serial?: boolean;
  /** Which firmware the medium boots on. Default both: `['bios', 'uefi']`. */
  firmware?: readonly IsoFirmware[];
  /** Fail after this long. Default 10 minutes. */
  timeoutMs?: number;
}

const VOLUME_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const MIN_EPOCH = 315_532_800; // 1980-01-01T00:00:00Z
const MAX_EPOCH = 2 ** 32 - 1;
const MAX_MENU_TIMEOUT = 3599;
const ENTRIES: readonly IsoMenuEntry[] = ['rescue', 'recover', 'local'];
const FIRMWARES: readonly IsoFirmware[] = ['bios', 'uefi'];

/**
 * The step's argument list for `options` (without the script itself). Throws a UsageError for an
 * option the step would refuse, so nothing runs.
 */
export function makeIsoArguments(options: IsoOptions): string[] {
  const defaultEntry = options.defaultEntry ?? 'rescue';
  const timeout = options.timeoutSeconds ?? 5;
  const cmdline = options.cmdline ?? '';
  const firmware = options.firmware ?? FIRMWARES;

  for (const [name, path] of [
    ['kernel', options.kernel],
    ['initrd', options.initrd],
    ['out', options.out],
  ] as const) {
    if (!path.startsWith('/')) {
      throw new UsageError(`ISO ${name} ${JSON.stringify(path)}: must be an absolute path`);
    }
  }
  if (!VOLUME_ID.test(options.volumeId)) {
    throw new UsageError(
      `ISO volume id ${JSON.stringify(options.volumeId)}: use 1 to 32 of A-Z a-z 0-9 _ . -`,
    );
  }
  if (
    !Number.isSafeInteger(options.epoch) ||
    options.epoch < MIN_EPOCH ||
    options.epoch > MAX_EPOCH
  ) {
    throw new UsageError(
      `SOURCE_DATE_EPOCH ${options.epoch}: the ISO needs whole seconds from ${MIN_EPOCH} (1980) to ${MAX_EPOCH}`,
    );
  }
  if (!ENTRIES.includes(defaultEntry)) {
    throw new UsageError(`ISO default entry ${defaultEntry}: use one of ${ENTRIES.join(', ')}`);
  }
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_MENU_TIMEOUT) {
    throw new UsageError(
      `ISO menu timeout ${timeout}: whole seconds from 0 (boot at once) to ${MAX_MENU_TIMEOUT}`,
    );
  }
  // Printable ASCII only (and no quotes or backslashes): the step writes the words verbatim into
  // isolinux.cfg and single-quoted into grub.cfg.
  if (!/^[\x20-\x7e]*$/.test(cmdline) || /["'\\]/.test(cmdline)) {
    throw new UsageError(
      `kernel command line ${JSON.stringify(cmdline)}: quotes, backslashes and non-printable characters are not supported`,
    );
  }
  if (firmware.length === 0 || firmware.some((f) => !FIRMWARES.includes(f))) {
    throw new UsageError(`ISO firmware ${JSON.stringify(firmware)}: name bios, uefi or both`);
  }
  // The step's order (bios before uefi), whatever order the caller gave, and each once: the same
  // options always give the same argument list.
  const firmwareList = FIRMWARES.filter((f) => firmware.includes(f)).join(',');

  return [
    '--kernel',
    options.kernel,
    '--initrd',
    options.initrd,
    '--out',
    options.out,
    '--volume-id',
    options.volumeId,
    '--epoch',
    String(options.epoch),
    '--default',
    defaultEntry,
    '--timeout',
    String(timeout),
    '--cmdline',
    cmdline,
    ...(options.serial === true ? ['--serial'] : []),
    '--firmware',
    firmwareList,
  ];
}

/** Builds the ISO in `container` (a builder image container). Rejects with a JobError on failure. */
export async function makeIso(container: RunningContainer, options: IsoOptions): Promise<void> {
  await runBuilderStep(
    container,
    MAKE_ISO_SCRIPT,
    makeIsoArguments(options),
    `Making the ISO ${options.out}`,
    options.timeoutMs ?? 10 * 60_000,
  );
}
