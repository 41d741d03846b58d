import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { execa } from 'execa';
import { bootInQemu, type Firmware } from '../../src/boot/qemu.js';
import { ROOT } from './cli.js';
import { fixturePrerequisitesMissing } from './fixtures.js';
import { runInRescueGuest } from './rescue-guest.js';
import { readTarOutDisk, tarInDisk, tarOutDisk } from './tar-disks.js';

/**
 * The disaster-recovery drill's protected host: a real Debian disk (GPT with a BIOS boot
 * partition and an ESP, LVM with root and swap, ext4, GRUB for BIOS and UEFI) that boots in
 * QEMU to its own userland, and an agent in it that runs a test's script at boot.
 *
 *   drillHostDisk()     the golden disk image, made once and cached (test/drill/make-disk.sh,
 *                       run in the lifeboat rescue system: the host kernel has no LVM or vfat)
 *   copyDrillHostDisk() a sparse copy of it, for one test to boot, wipe and recover
 *   runInDrillHost()    boots a disk, lets the agent run a script, returns what it wrote
 *   fileChecksums       the shell lines a run.sh uses to fingerprint the host (files, layout ids)
 *
 * The agent (test/drill/image/usr/local/sbin/drill-agent) says `drill-host: up HOSTNAME` on the
 * serial console at every boot; with a `drillin` disk attached (a tar of run.sh and its files)
 * it runs `bash /run/drill/in/run.sh` in /run/drill/out, writes a tar of /run/drill/out to the
 * `drillout` disk, says `drill-host: script exited N` and powers off.
 */
const DRILL = join(ROOT, 'test', 'drill');
const IMAGE_FILES = join(DRILL, 'image');
const DISK_SIZE = '3G';

/**
 * Kernel module trees the drill's disk leaves out: hardware a QEMU guest never has (sound, GPUs,
 * cameras and tuners, radios, InfiniBand, sensors, staging drivers). They are 173 of the generic
 * kernel's 395 MB of modules, and every one of them would be archived, verified and restored in
 * both halves of the drill, minutes under TCG, while proving nothing the other modules do not.
 * make-disk.sh runs depmod afterwards, so the host's module index names only what is there.
 */
const MODULE_TREES = [
  'sound',
  'drivers/gpu',
  'drivers/media',
  'drivers/net/wireless',
  'drivers/infiniband',
  'drivers/iio',
  'drivers/staging',
  'drivers/comedi',
  'drivers/isdn',
  'drivers/bluetooth',
  'net/bluetooth',
  'net/wireless',
  'net/mac80211',
].map((tree) => `./usr/lib/modules/*/kernel/${tree}`);

/**
 * apt's downloads and package lists, as `apt-get clean` and an image builder leave a server
 * (debootstrap keeps every .deb it installed: about 150 MB in the drill root, a third of it).
 * Like the module trees above, they would be archived, verified and restored twice under TCG
 * for nothing the rest of the root does not prove.
 */
const APT_CACHES = [
  './var/cache/apt/archives/*.deb',
  './var/cache/apt/*.bin',
  './var/lib/apt/lists/*_*',
];

/** What the drill disk's root leaves out of the drill fixture's root (tar --exclude patterns). */
const LEFT_OUT = [...MODULE_TREES, ...APT_CACHES];

/**
 * The serial of the drill host's own disk whenever it boots (/dev/disk/by-id/virtio-drillhost):
 * a drill attaches the wiped disk to the rescue system under the same serial, as the same disk.
 */
export const DRILL_HOST_SERIAL = 'drillhost';

const UP = /drill-host: up (\S+)/;
const DONE = /drill-host: script exited (\d+)/;

/**
 * For run.sh: sha256 of every file on / and /boot/efi (minus what a boot rewrites, see
 * test/drill/checksums.sh) into checksums.txt, and the layout ids into blkid.txt, lsblk.json
 * and lvm.json.
 */
export const fileChecksums =
  'source /run/drill/in/checksums.sh && drill_checksums && drill_layout_ids';

function fixtureCache(): string {
  return join(process.env.LIFEBOAT_CACHE ?? '/var/cache/lifeboat', 'fixtures');
}

/** Why the drill host can't be made or booted here, or undefined when it can. */
export function drillHostMissing(): string | undefined {
  return fixturePrerequisitesMissing();
}

/** The drill root (ci/fixtures/debian-root drill): the host packages plus init, Node.js, gpg. */
async function drillRoot(): Promise<string> {
  const result = await execa(join(ROOT, 'ci', 'fixtures', 'debian-root'), ['drill'], {
    reject: false,
    timeout: 20 * 60_000,
  });
  const root = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.exitCode !== 0 || root === '' || !existsSync(root)) {
    throw new Error(
      `ci/fixtures/debian-root drill failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-500) || 'no output'}`,
    );
  }
  return root;
}

/** test/drill/image as `files` for the guest: image/PATH → content. */
function imageFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[`image/${relative(IMAGE_FILES, path)}`] = readFileSync(path, 'utf8');
    }
  };
  walk(IMAGE_FILES);
  return files;
}

/**
 * Holds an exclusive flock(1) on `file` until the returned function is called. The lock's
 * holder reads this process's stdin pipe, so it lets go when this process dies too.
 */
async function lock(file: string): Promise<() => void> {
  const holder = execa('flock', [file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdin: 'pipe',
    buffer: false,
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('close', () => reject(new Error(`could not lock ${file}`)));
  });
  return () => holder.stdin?.end();
}

let golden: Promise<string> | undefined;

/**
 * The golden drill host disk (raw, 3 GiB sparse), made once and cached under
 * $LIFEBOAT_CACHE/fixtures, keyed by the digest of its inputs: the drill root (its path names
 * its own key), make-disk.sh and test/drill/image. Never boot it: boot a copy.
 */
export function drillHostDisk(): Promise<string> {
  golden ??= makeDrillHostDisk();
  return golden;
}

async function makeDrillHostDisk(): Promise<string> {
  const root = await drillRoot();
  const script = readFileSync(join(DRILL, 'make-disk.sh'), 'utf8');
  const files = imageFiles();
  const digest = createHash('sha256');
  for (const part of [
    basename(root),
    script,
    ...LEFT_OUT,
    ...Object.entries(files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flat(),
  ]) {
    digest.update(`${part.length}:${part}`);
  }
  const cache = fixtureCache();
  mkdirSync(cache, { recursive: true });
  const image = join(cache, `drill-host-${digest.digest('hex').slice(0, 12)}.img`);
  if (existsSync(image)) return image;

  // Test files may ask at once (or two vitest runs): one makes the disk, the others wait.
  const unlock = await lock(join(cache, '.drill-host.lock'));
  try {
    if (existsSync(image)) return image;
    const partial = `${image}.tmp`;
    const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-drill-disk-'));
    try {
      rmSync(partial, { force: true });
      await execa('truncate', ['-s', DISK_SIZE, partial]);
      // The root goes in as a raw disk holding a tar: too big for the guest's in-tar, and the
      // guest reads it straight off the device.
      const rootTar = join(scratch, 'root.tar');
      await execa('tar', [
        '--create',
        '--file',
        rootTar,
        '--directory',
        root,
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        ...LEFT_OUT.map((pattern) => `--exclude=${pattern}`),
        '.',
      ]);
      const made = await runInRescueGuest({
        script,
        files,
        disks: [
          { serial: 'drilldisk', sizeMiB: 0, file: partial },
          { serial: 'drillroot', sizeMiB: 0, file: rootTar },
        ],
        timeoutMs: 30 * 60_000,
      });
      const log = existsSync(join(made.out, 'run.log'))
        ? readFileSync(join(made.out, 'run.log'), 'utf8')
        : '';
      made.dispose();
      if (made.exitCode !== 0) {
        throw new Error(
          `making the drill host disk failed (exit ${made.exitCode}); make-disk.sh said:\n${log.slice(-3000)}\nconsole:\n${made.console.slice(-1500)}`,
        );
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    chmodSync(partial, 0o600);
    renameSync(partial, image);
    // Disks made from earlier inputs are dead weight now.
    for (const old of readdirSync(cache)) {
      if (old.startsWith('drill-host-') && join(cache, old) !== image) {
        rmSync(join(cache, old), { force: true });
      }
    }
    return image;
  } finally {
    unlock();
  }
}

/** A sparse copy of the golden disk at `file`: the disk one test boots, wipes and recovers. */
export async function copyDrillHostDisk(file: string): Promise<string> {
  await execa('cp', ['--sparse=always', await drillHostDisk(), file]);
  return file;
}

export interface DrillRun {
  /** The disk image to boot; used in place (a copy of the golden disk, see copyDrillHostDisk). */
  disk: string;
  firmware: Firmware;
  /** run.sh: runs as root in /run/drill/out, its output in /run/drill/out/run.log. */
  script: string;
  /** More files for /run/drill/in, by relative path (checksums.sh is always there). */
  files?: Record<string, string | Buffer>;
  timeoutMs?: number;
  /** Virtual CPUs (bootInQemu's default unless given). */
  cpus?: number;
  /** More disks attached while it runs, after its own. */
  disks?: { file: string; serial: string }[];
  /** Every console line as it arrives (a drill's live log). */
  onLine?: (line: string) => void;
}

export interface DrillResult {
  /** run.sh's exit status; undefined when the host never got that far (see `console`). */
  exitCode: number | undefined;
  /** The host name the marker line gave, undefined when the host never came up. */
  hostname: string | undefined;
  /** Where /run/drill/out was extracted. */
  out: string;
  /** The serial console transcript: firmware, GRUB, kernel, systemd, the agent. */
  console: string;
  /** Seconds from QEMU's start to `drill-host: up`. */
  bootSeconds: number | undefined;
  /** Seconds from QEMU's start to the script's end. */
  totalSeconds: number;
  dispose(): void;
}

/** Boots `disk` in QEMU, waits for the drill host's marker, lets its agent run `script`. */
export async function runInDrillHost(run: DrillRun): Promise<DrillResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-drill-'));
  const files = {
    'checksums.sh': readFileSync(join(DRILL, 'checksums.sh'), 'utf8'),
    ...run.files,
    'run.sh': run.script,
  };
  const inImage = await tarInDisk(scratch, files);
  const outImage = await tarOutDisk(scratch, 256);

  const started = Date.now();
  const result = await bootInQemu({
    firmware: run.firmware,
    medium: { kind: 'disk', image: run.disk, inPlace: true, serial: DRILL_HOST_SERIAL },
    ready: UP,
    commands: [{ expect: DONE }],
    timeoutMs: run.timeoutMs ?? 600_000,
    cpus: run.cpus,
    onLine: run.onLine,
    disks: [
      { file: inImage, serial: 'drillin' },
      { file: outImage, serial: 'drillout' },
      ...(run.disks ?? []),
    ],
  });
  const totalSeconds = (Date.now() - started) / 1000;
  const done = result.answers[0];
  const out = done === undefined ? join(scratch, 'out') : await readTarOutDisk(scratch, outImage);
  return {
    exitCode: done === undefined ? undefined : Number(DONE.exec(done)?.[1]),
    hostname: UP.exec(result.transcript)?.[1],
    out,
    console: result.transcript,
    bootSeconds: result.readySeconds,
    totalSeconds,
    dispose: () => rmSync(scratch, { recursive: true, force: true }),
  };
}

/** checksums.txt (sha256sum's format) as path → sha256. */
export function readChecksums(file: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\\?([0-9a-f]{64}) {2}(.*)$/.exec(line);
    if (match) sums.set(match[2] as string, match[1] as string);
  }
  return sums;
}
