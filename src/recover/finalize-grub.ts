import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { BootloaderSection } from '../capture/manifest.js';
import { JobError } from '../errors.js';
import type { Layout } from '../layout/model.js';
import type { Log } from '../log/log.js';
import { inChroot } from './chroot.js';

/**
 * Making the restored system bootable again: GRUB installed where the layout says it boots
 * from, then its configuration made anew (device names and UUIDs may differ from the backup's).
 *
 *   BIOS   a GPT disk with a BIOS boot partition, or an MBR disk holding /boot (or / when
 *          there is no /boot, or a partition flagged bootable): grub-install --target=i386-pc DISK
 *   UEFI   every EFI system partition the layout mounts: grub-install --target=x86_64-efi with
 *          its mount point, then again --removable (EFI/BOOT/BOOTX64.EFI: firmware whose NVRAM
 *          is lost, OVMF without a vars file, still finds it); a boot entry with efibootmgr only
 *          when this rescue system was booted by UEFI (otherwise there is no NVRAM to write)
 */
export const BIOS_BOOT_TYPE = '21686148-6449-6E6F-744E-656564454649';
export const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export type GrubTarget =
  | { kind: 'bios'; disk: string }
  | { kind: 'efi'; disk: string; partition: number; mountpoint: string };

/** Where GRUB goes, from the (migrated) layout: devices are this machine's names. */
export function grubTargets(layout: Layout, espMountPoint?: string): GrubTarget[] {
  const targets: GrubTarget[] = [];
  const mountOf = (device: string) => layout.mounts.find((m) => m.device === device)?.mountpoint;
  const bootDevice =
    layout.mounts.find((m) => m.mountpoint === '/boot')?.device ??
    layout.mounts.find((m) => m.mountpoint === '/')?.device;
  for (const disk of layout.disks) {
    const table = disk.table;
    if (!table) continue;
    const partitions = table.partitions;
    const bios =
      table.type === 'gpt'
        ? partitions.some((p) => p.type.toUpperCase() === BIOS_BOOT_TYPE)
        : partitions.some((p) => p.device === bootDevice || p.bootable === true);
    if (bios) targets.push({ kind: 'bios', disk: disk.device });
    for (const p of partitions) {
      const esp = table.type === 'gpt' ? p.type.toUpperCase() === ESP_TYPE : p.type === 'ef';
      if (!esp) continue;
      const mountpoint = mountOf(p.device) ?? espMountPoint;
      if (mountpoint === undefined) continue;
      targets.push({ kind: 'efi', disk: disk.device, partition: p.number, mountpoint });
    }
  }
  return targets;
}

/**
 * The directory name under EFI/ (and the boot entry's label): the one the host booted from
 * (its current boot entry's \EFI\<id>\... path), else the restored system's os-release ID.
 */
export function bootloaderId(
  efi: BootloaderSection['efi'] | undefined,
  osReleaseId: string | undefined,
): string {
  const current = efi?.entries.find((e) => e.id === efi.bootCurrent);
  const match = current?.path?.match(/\\EFI\\([^\\]+)\\/i);
  if (match?.[1] && match[1].toUpperCase() !== 'BOOT') return match[1];
  return osReleaseId && /^[A-Za-z0-9._-]+$/.test(osReleaseId) ? osReleaseId : 'lifeboat';
}

/** os-release's ID of the restored system. */
export function osReleaseId(root: string): string | undefined {
  for (const file of ['etc/os-release', 'usr/lib/os-release']) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const line = readFileSync(path, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ID='));
    if (line) return line.slice(3).replace(/^["']|["']$/g, '');
  }
  return undefined;
}

export interface ReinstallGrubOptions {
  root: string;
  targets: readonly GrubTarget[];
  id: string;
  /** This rescue system was booted by UEFI (efivarfs is there): efibootmgr may write NVRAM. */
  uefiBooted: boolean;
  log: Log;
}

/** grub-install for every target, then grub-mkconfig; returns one line per thing done. */
export async function reinstallGrub(options: ReinstallGrubOptions): Promise<string[]> {
  const { root, log } = options;
  const done: string[] = [];
  const install = existsSync(join(root, 'usr/sbin/grub-install'))
    ? 'grub-install'
    : existsSync(join(root, 'usr/sbin/grub2-install'))
      ? 'grub2-install'
      : undefined;
  if (install === undefined) {
    if (options.targets.length > 0)
      throw new JobError(
        'the restored system has no grub-install, so it cannot be made bootable here',
        { hint: 'Install its bootloader by hand from the rescue shell (chroot /mnt/local).' },
      );
    return ['no GRUB in the restored system and no boot target in the layout'];
  }
  for (const target of options.targets) {
    if (target.kind === 'bios') {
      await inChroot(
        root,
        'installing GRUB (BIOS)',
        [install, '--target=i386-pc', target.disk],
        log,
      );
      done.push(`GRUB for BIOS on ${target.disk}`);
      continue;
    }
    const efi = [
      install,
      '--target=x86_64-efi',
      `--efi-directory=${target.mountpoint}`,
      `--bootloader-id=${options.id}`,
      '--no-nvram',
    ];
    await inChroot(root, 'installing GRUB (UEFI)', efi, log);
    await inChroot(
      root,
      'installing GRUB (UEFI, removable path)',
      [
        install,
        '--target=x86_64-efi',
        `--efi-directory=${target.mountpoint}`,
        '--removable',
        '--no-nvram',
      ],
      log,
    );
    done.push(
      `GRUB for UEFI in ${target.mountpoint}/EFI/${options.id} and EFI/BOOT/BOOTX64.EFI on ${target.disk}`,
    );
    if (options.uefiBooted) done.push(await bootEntry(target, options.id, root, log));
  }
  const config =
    existsSync(join(root, 'boot/grub2')) && !existsSync(join(root, 'boot/grub'))
      ? '/boot/grub2/grub.cfg'
      : '/boot/grub/grub.cfg';
  const mkconfig = existsSync(join(root, 'usr/sbin/update-grub'))
    ? ['update-grub']
    : [
        existsSync(join(root, 'usr/sbin/grub2-mkconfig')) ? 'grub2-mkconfig' : 'grub-mkconfig',
        '-o',
        config,
      ];
  await inChroot(root, 'making the GRUB configuration', mkconfig, log);
  done.push(`GRUB configuration made with ${mkconfig.join(' ')}`);
  return done;
}

/** An NVRAM boot entry for the installed loader (efibootmgr of the rescue system). */
async function bootEntry(
  target: Extract<GrubTarget, { kind: 'efi' }>,
  id: string,
  root: string,
  log: Log,
): Promise<string> {
  const shim = existsSync(join(root, target.mountpoint, 'EFI', id, 'shimx64.efi'));
  const loader = `\\EFI\\${id}\\${shim ? 'shimx64.efi' : 'grubx64.efi'}`;
  const result = await execa(
    'efibootmgr',
    [
      '--create',
      '--disk',
      target.disk,
      '--part',
      String(target.partition),
      '--label',
      id,
      '--loader',
      loader,
    ],
    { reject: false, all: true, stdin: 'ignore' },
  );
  log.debug(`efibootmgr: ${String(result.all)}`);
  if (result.exitCode !== 0) {
    // The removable path boots without an entry: a warning, not a failed recovery.
    log.warn(
      `efibootmgr could not add a boot entry (exit ${result.exitCode}); EFI/BOOT/BOOTX64.EFI remains`,
    );
    return 'no EFI boot entry (efibootmgr failed; the removable path remains)';
  }
  return `EFI boot entry "${id}" → ${loader}`;
}
