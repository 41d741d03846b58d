import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { runTempParent } from '../util/run-temp.js';

/**
 * Boots rescue media in QEMU and reads the serial console: the boot test tier, `npm run demo`
 * and `--boot-test` use it. TCG only (KVM is not available on these machines): multi-threaded
 * TCG with two CPUs is the fastest that works for one guest; two guests at once take one each.
 */
export type Firmware = 'bios' | 'uefi';

/** `cpus` for each of two guests that run at once: a core each on a two-core machine. */
export const SIDE_BY_SIDE_CPUS = 1;

export type BootMedium =
  | { kind: 'kernel'; kernel: string; initrd: string; append: string }
  | { kind: 'cdrom'; iso: string }
  /** A raw image on a USB stick (a hybrid ISO written to a stick, or a USB image). */
  | { kind: 'usb'; image: string }
  /**
   * A raw image as the first virtio disk, booted by the firmware from its own boot loader. A
   * copy unless `inPlace`: a test that boots a disk it made itself (and reads it afterwards, or
   * boots it again) owns the file and lets the guest write to it. `serial` names it in the
   * guest (/dev/disk/by-id/virtio-SERIAL), as for `disks`.
   */
  | { kind: 'disk'; image: string; inPlace?: boolean; serial?: string }
  /**
   * A network boot: QEMU's user network serves `tftp` (a directory) over TFTP and names
   * `bootfile` in its DHCP answers (a path in that directory, or an http:// URL for iPXE); the
   * firmware boots from the network card, whose MAC is `mac`.
   */
  | { kind: 'network'; tftp: string; bootfile: string; mac: string };

export interface BootOptions {
  firmware: Firmware;
  medium: BootMedium;
  /** A serial console line that means "booted". */
  ready: RegExp;
  /**
   * Lines to type on the serial console once ready, each with the answer to wait for. Without
   * `send`, only waits: for a guest that goes on by itself (a script started at boot).
   */
  commands?: { send?: string; expect: RegExp }[];
  timeoutMs: number;
  memoryMiB?: number;
  /**
   * Virtual CPUs, each a TCG thread (default 2, one per core of these machines). Guests that run
   * side by side take one each, so that neither waits for the other's.
   */
  cpus?: number;
  /** Pulls the plug when it aborts: QEMU is killed at once, as in a power cut. */
  powerCut?: AbortSignal;
  /**
   * Keys to type on the serial console before ready, in order, each once the console has shown
   * `when` since the previous one (a boot menu, drawn with escape sequences rather than lines:
   * matched against the raw text). Down arrow is "\x1b[B", Enter "\r".
   */
  keys?: { when: RegExp; send: string }[];
  /**
   * A video card, as every real BIOS machine has: GRUB's BIOS console draws through it, and
   * without one GRUB draws no menu entries on any terminal, the serial one included.
   */
  videoCard?: boolean;
  /**
   * A network card on QEMU's user network (default true). False leaves the guest without any:
   * what it does, it does with its disks alone.
   */
  network?: boolean;
  /** Every console line, as it arrives (for a demo, or a test's log). */
  onLine?: (line: string) => void;
  /**
   * More raw disks, as virtio disks after the medium, in this order. The serial names the disk
   * in the guest (/dev/disk/by-id/virtio-SERIAL), whatever node the kernel gives it. The files
   * are used as they are: the caller owns them (a test's blank disks, a marker disk).
   */
  disks?: { file: string; serial: string }[];
  /**
   * Tape drives served over iSCSI (iscsi://HOST:PORT/IQN/LUN), attached with QEMU's iSCSI client
   * as SCSI generic devices on a virtio-scsi controller: the guest's st driver makes /dev/nst0,
   * /dev/nst1... of them, in this order.
   */
  tapes?: string[];
}

export interface BootResult {
  ready: boolean;
  /** Seconds from QEMU's start to the ready line. */
  readySeconds: number | undefined;
  /** What the console said, \r removed. */
  transcript: string;
  /** For each command, the line that answered it, or undefined on timeout. */
  answers: (string | undefined)[];
}

const OVMF = '/usr/share/ovmf/OVMF.fd';

/**
 * A copy of an image for QEMU to write to: holes stay holes (a sparse 2 GiB stick costs what it
 * holds), and the copy does not block the event loop other guests' consoles are read on.
 */
async function scratchCopy(image: string, copy: string): Promise<string> {
  await execa('cp', ['--sparse=always', image, copy]);
  return copy;
}

async function mediumArgs(medium: BootMedium, scratch: string): Promise<string[]> {
  switch (medium.kind) {
    case 'kernel':
      return ['-kernel', medium.kernel, '-initrd', medium.initrd, '-append', medium.append];
    case 'cdrom':
      // bootindex: the firmware boots the CD even when a disk after it has a boot signature (a
      // recovery cut short leaves a partition table and no boot loader: SeaBIOS would run it).
      return [
        '-drive',
        `if=none,id=cd,file=${medium.iso},media=cdrom,readonly=on,format=raw`,
        '-device',
        'ide-cd,drive=cd,bootindex=0',
      ];
    case 'usb': {
      // QEMU opens disks read-write; the image under test must stay as it was built.
      const copy = await scratchCopy(medium.image, join(scratch, 'usb.img'));
      return [
        '-device',
        'qemu-xhci,id=xhci',
        '-drive',
        `if=none,id=stick,file=${copy},format=raw`,
        '-device',
        'usb-storage,bus=xhci.0,drive=stick,bootindex=0',
      ];
    }
    case 'network':
      // The network card itself comes with the netdev (networkArgs).
      return [];
    case 'disk': {
      let file = medium.image;
      if (!medium.inPlace) file = await scratchCopy(medium.image, join(scratch, 'disk.img'));
      // bootindex: the firmware boots this disk, not one of `disks` after it.
      return [
        '-drive',
        `if=none,id=boot-disk,file=${file},format=raw,cache=unsafe`,
        '-device',
        `virtio-blk-pci,drive=boot-disk,bootindex=0${medium.serial ? `,serial=${medium.serial}` : ''}`,
      ];
    }
  }
}

/**
 * The guest's network card on QEMU's user network (the host is 10.0.2.2 from the guest); for a
 * network boot, with QEMU's TFTP server and DHCP boot file, and first in the boot order; none
 * when `network` is false (a network boot keeps its card).
 */
function networkArgs(medium: BootMedium, network: boolean): string[] {
  if (!network && medium.kind !== 'network') return ['-nic', 'none'];
  if (medium.kind !== 'network')
    return ['-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0'];
  return [
    '-netdev',
    `user,id=net0,tftp=${medium.tftp},bootfile=${medium.bootfile}`,
    '-device',
    `virtio-net-pci,netdev=net0,mac=${medium.mac},bootindex=0`,
  ];
}

/**
 * scsi-generic passes every SCSI command through to the target, so the guest talks to the
 * (emulated) drive itself: space over file marks, set the block size, read the write-protect bit.
 */
function tapeArgs(tapes: readonly string[]): string[] {
  if (tapes.length === 0) return [];
  return [
    '-device',
    'virtio-scsi-pci,id=tapes',
    ...tapes.flatMap((url, i) => [
      '-drive',
      `file=${url},if=none,id=tape${i},format=raw`,
      '-device',
      `scsi-generic,drive=tape${i},bus=tapes.0`,
    ]),
  ];
}

export async function bootInQemu(options: BootOptions): Promise<BootResult> {
  const scratch = mkdtempSync(join(runTempParent(), 'lifeboat-qemu-'));
  const medium = await mediumArgs(options.medium, scratch).catch((error: unknown) => {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  });
  const args = [
    '-accel',
    'tcg,thread=multi',
    '-smp',
    String(options.cpus ?? 2),
    '-m',
    String(options.memoryMiB ?? 2048),
    ...(options.firmware === 'uefi' ? ['-bios', OVMF] : []),
    '-display',
    'none',
    '-vga',
    options.videoCard ? 'std' : 'none',
    // The serial console is the test's eyes and hands; no monitor on it.
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
    ...networkArgs(options.medium, options.network ?? true),
    ...medium,
    ...tapeArgs(options.tapes ?? []),
    ...(options.disks ?? []).flatMap((disk) => [
      '-drive',
      `file=${disk.file},if=none,id=disk-${disk.serial},format=raw,cache=unsafe`,
      '-device',
      `virtio-blk-pci,drive=disk-${disk.serial},serial=${disk.serial}`,
    ]),
  ];
  const started = Date.now();
  const child = execa('qemu-system-x86_64', args, { stdin: 'pipe', reject: false, buffer: false });
  let transcript = '';
  let readySeconds: number | undefined;
  const answers: (string | undefined)[] = [];
  let partial = '';
  let waiting: { pattern: RegExp; resolve: (line: string | undefined) => void } | undefined;

  const onLine = (line: string) => {
    options.onLine?.(line);
    if (waiting?.pattern.test(line)) {
      const { resolve } = waiting;
      waiting = undefined;
      resolve(line);
    }
  };
  const keys = [...(options.keys ?? [])];
  let sinceKey = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8').replace(/\r/g, '');
    transcript += text;
    sinceKey += text;
    const key = keys[0];
    if (key?.when.test(sinceKey)) {
      keys.shift();
      sinceKey = '';
      child.stdin?.write(key.send);
    }
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  // A guest that powers off (or a QEMU that fails to start) ends the wait at once, not at the
  // timeout. 'close', not 'exit': the console's last lines have been read by then.
  let closed = false;
  options.powerCut?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
  child.on('close', () => {
    closed = true;
    const pending = waiting;
    waiting = undefined;
    pending?.resolve(undefined);
  });
  const waitFor = (pattern: RegExp, ms: number) =>
    new Promise<string | undefined>((resolve) => {
      if (closed) {
        resolve(undefined);
        return;
      }
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve(undefined);
      }, ms);
      waiting = {
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
    });

  try {
    const deadline = started + options.timeoutMs;
    const readyLine = await waitFor(options.ready, options.timeoutMs);
    if (readyLine !== undefined) {
      readySeconds = (Date.now() - started) / 1000;
      for (const command of options.commands ?? []) {
        const answer = waitFor(command.expect, Math.max(1000, deadline - Date.now()));
        if (command.send !== undefined) child.stdin?.write(`${command.send}\n`);
        answers.push(await answer);
      }
    }
    return { ready: readyLine !== undefined, readySeconds, transcript, answers };
  } finally {
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
