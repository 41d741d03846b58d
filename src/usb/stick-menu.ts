/**
 * The boot menu of a rescue stick (lifeboat/grub.cfg on its data partition): every host's
 * rescue systems on the stick, newest first, each as "rescue system" and "automatic recovery",
 * then "boot from local disk". GRUB reads it on BIOS and on UEFI alike (the stick's GRUB images
 * load it: images/debian-bookworm/steps/make-usb). Written again whole at each write, from the
 * runs' own run.json files, so it never names a run that is not there.
 */

/** What a run directory's run.json says: written by the usb output, read back for the menu. */
export interface StickRun {
  /** The host's short name: the directory lifeboat/HOST/. */
  host: string;
  /** The run's directory name under the host's: YYYYMMDD.HHMMSS, UTC, when it was written. */
  run: string;
  /** The rescue kernel's arguments (console, kernel.cmdline), without lifeboat.medium. */
  kernelArguments: string[];
  /** The entry this run's menu would boot by default (boot.default). */
  defaultEntry: 'rescue' | 'recover' | 'local';
  /** boot.timeout, seconds. */
  timeout: number;
  /** boot.serialConsole: GRUB's menu on the serial port too. */
  serial: boolean;
}

/** A run directory's name: when it was written, UTC, to the second. */
export const RUN_NAME = /^\d{8}\.\d{6}$/;

export function runName(now: Date): string {
  const iso = now.toISOString(); // 2026-12-07T08:15:02.123Z
  return `${iso.slice(0, 10).replaceAll('-', '')}.${iso.slice(11, 19).replaceAll(':', '')}`;
}

/**
 * The name of a run written at `now`: a second after the newest of `existing` when the clock says
 * that second or an earlier one (a clock set back, two writes in one second).
 */
export function nextRunName(now: Date, existing: readonly string[]): string {
  const newest = existing
    .filter((name) => RUN_NAME.test(name))
    .sort()
    .at(-1);
  const name = runName(now);
  if (newest === undefined || name > newest) return name;
  return runName(new Date(Date.parse(`${when(newest).replace(' ', 'T')}Z`) + 1000));
}

/** Runs newest first; runs written in the same second by host name. */
export function newestFirst(runs: readonly StickRun[]): StickRun[] {
  return [...runs].sort((a, b) => b.run.localeCompare(a.run) || a.host.localeCompare(b.host));
}

/** 20261207.081502 → 2026-12-07 08:15:02 */
function when(run: string): string {
  return `${run.slice(0, 4)}-${run.slice(4, 6)}-${run.slice(6, 8)} ${run.slice(9, 11)}:${run.slice(11, 13)}:${run.slice(13, 15)}`;
}

/** GRUB words in single quotes: the arguments hold none (the usb output checks kernel.cmdline). */
function quoted(words: readonly string[]): string {
  return words.map((word) => `'${word}'`).join(' ');
}

/**
 * The menu for `runs` (any order) on the stick whose GPT disk GUID is `ptuuid`; `newest` is the
 * run just written, whose settings (default entry, timeout, serial console) the menu takes.
 */
export function stickMenu(runs: readonly StickRun[], newest: StickRun, ptuuid: string): string {
  const ordered = newestFirst(runs);
  const lines = [
    '# lifeboat rescue stick: the boot menu, written by lifeboat at every write (edits are lost).',
  ];
  if (newest.serial)
    lines.push(
      'serial --unit=0 --speed=115200',
      'terminal_input serial console',
      'terminal_output serial console',
    );
  const defaultId =
    newest.defaultEntry === 'local'
      ? 'local'
      : `${newest.host}/${newest.run}/${newest.defaultEntry}`;
  lines.push(
    `set default='${defaultId}'`,
    `set timeout=${newest.timeout}`,
    'set timeout_style=menu',
  );
  for (const run of ordered) {
    const dir = `/lifeboat/${run.host}/${run.run}`;
    // The stick is never a disk recovery recreates a layout on (lifeboat.medium=).
    const words = [...run.kernelArguments, `lifeboat.medium=${ptuuid}`];
    for (const [entry, title, extra] of [
      ['rescue', 'rescue system', []],
      ['recover', 'automatic recovery', ['lifeboat.recover=auto']],
    ] as const) {
      lines.push(
        `menuentry '${run.host} ${when(run.run)} UTC: ${title}' --id '${run.host}/${run.run}/${entry}' {`,
        `  linux ${dir}/vmlinuz ${quoted([...words, ...extra])}`,
        `  initrd ${dir}/initrd.img`,
        '}',
      );
    }
  }
  lines.push(
    "menuentry 'boot from local disk' --id local {",
    '  if [ "$grub_platform" = efi ]; then',
    '    exit',
    '  else',
    // The next BIOS disk: the stick is the first.
    '    set root=(hd1)',
    '    chainloader +1',
    '  fi',
    '}',
  );
  return `${lines.join('\n')}\n`;
}
