import type { BootMedium } from '../boot/qemu.js';
import type { Config, OutputMethod } from '../config/schema.js';
import type { RunningContainer } from '../engine/container.js';
import type { Log } from '../log/log.js';

/**
 * An output turns the staged rescue system into artifacts: one module per output
 * (src/outputs/<name>.ts), each listed once in src/outputs/registry.ts. The build
 * (src/media/build.ts) stops at the staged rescue system; everything after it that depends on
 * the medium lives in the output's module.
 *
 * To add an output: write src/outputs/<name>.ts exporting an `Output`, add it to the registry,
 * and give it a boot test. Nothing else in the build changes.
 */
export interface Output {
  /** The output.methods name (ReaR OUTPUT, lower case). */
  readonly name: OutputMethod;
  /** One line for `--simulate`, docs and errors. */
  readonly summary: string;
  /**
   * Programs make() runs in the builder container. The build checks that the builder image has
   * each before any output runs, and names the missing ones.
   */
  readonly builderPrograms: readonly string[];
  /**
   * What is wrong with the configuration for this output, one sentence each (the key first).
   * Called before the builder image, the capture or anything else runs.
   */
  check(config: Config): string[];
  /** Writes this output's artifacts into `rescue.dir`; returns their file names there. */
  make(rescue: StagedRescue): Promise<string[]>;
  /**
   * How `--boot-test` boots these artifacts in QEMU, or undefined when they cannot be booted
   * there (a tape, a network that needs a server).
   */
  bootMedium(outDir: string): BootMedium | undefined;
  /**
   * Outputs that end on a device (a USB stick, a tape) split making from writing: make() writes
   * files that tests can read, write() puts them on the device named by the user, after its own
   * checks, and returns what it wrote there. Outputs that only make files have none.
   */
  write?(request: WriteRequest): Promise<string>;
  /**
   * For outputs whose medium also carries the backup, after themselves (OBDR: the ISO at the
   * start of the tape, the backup after it): mkbackup and mkbackuponly call it after their prep
   * checks and before the backup's archive, with the artifacts in output.dir. Returns what it
   * wrote, for the log. check() is also mkbackuponly's check for such an output.
   */
  writeBeforeBackup?(request: WriteBeforeBackupRequest): Promise<string>;
  /**
   * After the build (and output.url's copy), the artifacts put where a server serves them, when
   * the configuration says where (pxe.url). Returns that place without credentials, or
   * undefined when the configuration names none.
   */
  publish?(request: PublishRequest): Promise<string | undefined>;
  /**
   * The artifacts are served as they are by a TFTP or HTTP server (PXE): they keep the modes
   * make() gave them (0644 files, 0755 directories) instead of 0600. Such an output holds nothing
   * secret unless the configuration put it into the rescue system.
   */
  readonly servedAsIs?: boolean;
}

/**
 * The rescue system as the build leaves it for the outputs: kernel and initrd inside the builder
 * container, the kernel command line and boot menu settings, and the directory (on this machine)
 * the artifacts go to. Everything in it is fixed by the build's inputs, so an output that uses
 * only this makes the same bytes from the same inputs.
 */
export interface StagedRescue {
  /** The builder container, with the builder image's tools. */
  container: RunningContainer;
  /** The kernel, a path inside the container. */
  kernel: string;
  /** The initrd (compressed newc archives), a path inside the container. */
  initrd: string;
  /** A directory inside the container an output may write to. */
  work: string;
  /** kernel.cmdline: the rescue system's extra kernel arguments (no console=). */
  cmdline: string;
  /** SOURCE_DATE_EPOCH: every date on the media, and the seed of every id a tool would invent. */
  epoch: number;
  /** The effective configuration (boot menu, firmware, volume id...). */
  config: Config;
  /** The protected host, for outputs that name files after it or its network cards (PXE). */
  host: StagedHost;
  /** Where the artifacts go on this machine: the build's private staging directory. */
  dir: string;
  log: Log;
  /** A short progress line. */
  say(line: string): void;
}

export interface StagedHost {
  /** Its name as captured ('' when a root's /etc/hostname has none). */
  name: string;
  /** The MAC addresses of its network cards (aa:bb:cc:dd:ee:ff), as captured. */
  macs: string[];
  /** Its IPv4 addresses (without prefix length), as captured. */
  ipv4: string[];
  /**
   * Modules the rescue system asked for that the host's kernel does not have (usb_storage on a
   * cloud kernel): an output that boots from a stick warns of what the running rescue system
   * will not see.
   */
  missingModules: string[];
}

export interface WriteRequest {
  config: Config;
  /** The output directory that holds the artifacts make() wrote. */
  outDir: string;
  /** The device to write to, as the user named it (usb:///dev/disk/by-label/LABEL). */
  device: string;
  log: Log;
}

export interface WriteBeforeBackupRequest {
  config: Config;
  log: Log;
}

export interface PublishRequest {
  config: Config;
  /** The output directory that holds the artifacts make() wrote. */
  outDir: string;
  log: Log;
}

/**
 * The USB drivers a rescue system booted from a stick needs to see the stick once it runs, that
 * the host's kernel lacks (none on most kernels; both on Debian's cloud kernels).
 */
export function missingUsbDrivers(host: StagedHost): string[] {
  return ['xhci_pci', 'usb_storage'].filter((name) => host.missingModules.includes(name));
}

/** The kernel arguments the serial console needs, before the rescue system's own. */
export function consoleArguments(config: Config): string {
  return config.boot.serialConsole ? 'console=tty0 console=ttyS0,115200n8' : '';
}
