import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type BootMedium, bootInQemu, type Firmware } from '../../src/boot/qemu.js';
import { lifeboat, sandbox } from './cli.js';
import { debianRoot } from './fixtures.js';
import { readTarOutDisk, tarInDisk, tarOutDisk } from './tar-disks.js';

/**
 * Runs a script inside the real lifeboat rescue system, booted in QEMU with blank virtual disks:
 * how the layout and recovery tiers test what needs a Debian kernel (LVM, RAID, LUKS, vfat and
 * btrfs mounts: the host kernel here has none of them).
 *
 * Files go in and results come out on two small raw disks holding tar archives, never through
 * the serial console (which can lose and mangle bytes under TCG), which only carries
 * the command that starts the script and the line that says it ended.
 *
 *   /dev/disk/by-id/virtio-lbin    a tar of `files`, extracted to /tmp/in
 *   /dev/disk/by-id/virtio-lbout   written by the guest: a tar of /tmp/out
 *   /dev/disk/by-id/virtio-SERIAL  each of `disks`, blank (sparse) unless given
 *
 * The script runs as `bash /tmp/in/run.sh` with /tmp/out as its working directory; its output
 * goes to /tmp/out/run.log.
 */
export interface GuestDisk {
  /** The disk's serial: /dev/disk/by-id/virtio-SERIAL in the guest (at most 20 characters). */
  serial: string;
  sizeMiB: number;
  /** An existing image to use instead of a blank one (it is used in place, and written to). */
  file?: string;
}

export interface GuestRun {
  script: string;
  /** More files for /tmp/in, by relative path. */
  files?: Record<string, string>;
  disks: GuestDisk[];
  timeoutMs?: number;
  /** Virtual CPUs (bootInQemu's default unless given): SIDE_BY_SIDE_CPUS for guests run two at once. */
  cpus?: number;
  /**
   * How the rescue system boots, and on which firmware: the RAMDISK output of the example host
   * (rescueMedia) on BIOS unless given (the PXE test boots its network tree).
   */
  boot?: { medium: BootMedium; firmware: Firmware };
  /** Tape drives to attach (bootInQemu's `tapes`: iscsi:// URLs of test/support/tape.ts). */
  tapes?: string[];
}

export interface GuestResult {
  exitCode: number | undefined;
  /** Where /tmp/out was extracted. */
  out: string;
  /** The disk images, by serial (they stay until `dispose`). */
  disks: Record<string, string>;
  /** The serial console transcript. */
  console: string;
  dispose(): void;
}

export interface RescueMedia {
  kernel: string;
  initrd: string;
  cmdline: string;
}

let media: Promise<RescueMedia> | undefined;

/**
 * The RAMDISK output built from the example host's capture with this checkout's lifeboat, in a
 * cache directory: a rebuild finds it current (same inputs) and builds nothing.
 */
export function rescueMedia(): Promise<RescueMedia> {
  media ??= (async () => {
    const fixtureRoot = await debianRoot();
    const cache = join(process.env.LIFEBOAT_CACHE ?? '/var/cache/lifeboat', 'media');
    mkdirSync(cache, { recursive: true });
    const box = sandbox();
    const capture = join(box.dir, 'capture');
    const captured = await lifeboat(
      ['capture', '--root', fixtureRoot, '--out', capture, ...box.sets, '--quiet'],
      { env: box.env },
    );
    if (captured.exitCode !== 0) throw new Error(`capture failed:\n${captured.all}`);
    const out = join(cache, 'ramdisk');
    const built = await lifeboat(
      [
        'build',
        '--capture',
        capture,
        '--out',
        out,
        '--set',
        'output.methods=[ramdisk]',
        '--set',
        `paths.workDir=${join(cache, 'work')}`,
        '--set',
        `paths.logDir=${join(box.dir, 'log')}`,
      ],
      { env: box.env },
    );
    rmSync(box.dir, { recursive: true, force: true });
    if (built.exitCode !== 0) throw new Error(`build failed:\n${built.all}`);
    return {
      kernel: join(out, 'vmlinuz'),
      initrd: join(out, 'initrd.img'),
      cmdline: readFileSync(join(out, 'cmdline.txt'), 'utf8').trim(),
    };
  })();
  return media;
}

async function ramdiskBoot(): Promise<{ medium: BootMedium; firmware: Firmware }> {
  const { kernel, initrd, cmdline } = await rescueMedia();
  return { medium: { kind: 'kernel', kernel, initrd, append: cmdline }, firmware: 'bios' };
}

const DONE = /^lifeboat-guest: script exited (\d+)/;

export async function runInRescueGuest(run: GuestRun): Promise<GuestResult> {
  const boot = run.boot ?? (await ramdiskBoot());
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-guest-'));
  const disks: Record<string, string> = {};
  for (const disk of run.disks) {
    const file = disk.file ?? join(scratch, `${disk.serial}.img`);
    if (disk.file === undefined) await execa('truncate', ['-s', `${disk.sizeMiB}M`, file]);
    disks[disk.serial] = file;
  }
  const inImage = await tarInDisk(scratch, { ...run.files, 'run.sh': run.script });
  const outImage = await tarOutDisk(scratch, 64);

  // One line typed on the serial console: everything else is in the files.
  const command = [
    'mkdir -p /tmp/in /tmp/out',
    'tar -xf /dev/disk/by-id/virtio-lbin -C /tmp/in',
    'cd /tmp/out',
    '{ bash /tmp/in/run.sh >/tmp/out/run.log 2>&1; rc=$?; }',
    'tar -cf /dev/disk/by-id/virtio-lbout -C /tmp/out .',
    'sync',
    'echo "lifeboat-guest: script exited $rc"',
  ].join('; ');
  const result = await bootInQemu({
    firmware: boot.firmware,
    medium: boot.medium,
    ready: /^lifeboat-rescue: network ready/,
    commands: [{ send: command, expect: DONE }],
    timeoutMs: run.timeoutMs ?? 300_000,
    cpus: run.cpus,
    tapes: run.tapes,
    disks: [
      ...run.disks.map((disk) => ({ file: disks[disk.serial] as string, serial: disk.serial })),
      { file: inImage, serial: 'lbin' },
      { file: outImage, serial: 'lbout' },
    ],
  });
  const answer = result.answers[0];
  const out = answer === undefined ? join(scratch, 'out') : await readTarOutDisk(scratch, outImage);
  return {
    exitCode: answer === undefined ? undefined : Number(DONE.exec(answer)?.[1]),
    out,
    disks,
    console: result.transcript,
    dispose: () => rmSync(scratch, { recursive: true, force: true }),
  };
}
