import { existsSync, rmdirSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa, execaSync } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import { DirectoryDestination } from './destination-file.js';
import type { BackupDestination, FileAccess } from './destination-types.js';
import { lastLine } from './pipeline.js';

/**
 * nfs://, cifs:// and usb:// destinations: the share or partition is mounted under a private
 * temporary mount point and used as a directory; close() (or Ctrl-C) unmounts it. This host's
 * kernel has neither NFS nor CIFS: those are exercised in a QEMU guest, not here.
 */
export interface MountSpec {
  /** What mount gets as its source: server:/export, //server/share, /dev/disk/by-label/X. */
  source: string;
  /** -t; undefined lets mount probe (a USB partition). */
  type?: string;
  options: string;
  /** The directory under the mount point that backups go under. */
  path: string;
  /** cifs:// only: the user and password in the URL. */
  user?: string;
  password?: string;
  /**
   * usb:// only: how long to wait for the partition's node to appear. A stick shows up some
   * seconds after it is plugged in, or after the rescue system it booted is up: an unattended
   * recovery from it starts before udev has named it.
   */
  appearsWithinMs?: number;
}

export class MountDestination implements BackupDestination {
  private mountPoint: string | undefined;
  private inner: DirectoryDestination | undefined;
  private forget: (() => void) | undefined;

  /** A partition of this machine (usb://), not a share. */
  get localDevice(): string | undefined {
    return this.spec.source.startsWith('/dev/') ? this.spec.source : undefined;
  }

  constructor(
    readonly display: string,
    readonly spec: MountSpec,
    private readonly log: Log,
    /** The configuration key the URL came from, as messages name it (backup.url, output.url). */
    readonly key: string,
  ) {}

  async open(purpose: 'write' | 'read' = 'write'): Promise<void> {
    if (this.inner) return;
    await this.deviceAppeared();
    // In /tmp, not in the run's temporary directory: that one is removed recursively on exit,
    // and a recursive removal must never reach into a mounted backup server.
    const mountPoint = await mkdtemp(join(tmpdir(), 'lifeboat-backup-mnt-'));
    // The URL's user first, so that a username= or credentials= in backup.mountOptions wins.
    const options = [this.spec.user && `username=${this.spec.user}`, this.spec.options]
      .filter(Boolean)
      .join(',');
    const args = [
      ...(this.spec.type ? ['-t', this.spec.type] : []),
      ...(options ? ['-o', options] : []),
      this.spec.source,
      mountPoint,
    ];
    this.log.debug(`mount ${args.join(' ')}`);
    const result = await execa('mount', args, {
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
      // mount.cifs reads the password from PASSWD: never on argv, where ps shows it to anyone.
      ...(this.spec.password === undefined ? {} : { env: { PASSWD: this.spec.password } }),
    });
    if (result.exitCode !== 0) {
      await rmdir(mountPoint).catch(() => undefined);
      const said = mountSaid(String(result.stderr)) || `mount exited ${result.exitCode}`;
      throw new JobError(
        `${this.key} ${this.display}: ${this.spec.source} does not mount (${said})`,
        {
          hint: this.spec.source.startsWith('/')
            ? 'check its file system (fsck) and that nothing else has it open'
            : 'check that the server exports it to this machine, and backup.mountOptions',
        },
      );
    }
    this.mountPoint = mountPoint;
    // Ctrl-C exits without close(): the share must not stay mounted under /tmp.
    this.forget = onInterruptCleanup(() => {
      execaSync('umount', ['--lazy', mountPoint], { reject: false });
      rmdirSync(mountPoint);
    });
    this.inner = new DirectoryDestination(this.display, join(mountPoint, this.spec.path), this.key);
    await this.inner.open(purpose);
  }

  /** A usb:// partition's node exists, waiting for udev to name a stick just plugged in. */
  private async deviceAppeared(): Promise<void> {
    const device = this.localDevice;
    if (device === undefined || existsSync(device)) return;
    const within = this.spec.appearsWithinMs ?? 0;
    this.log.info(`waiting up to ${Math.round(within / 1000)} s for ${device} to appear`);
    for (const until = Date.now() + within; Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (existsSync(device)) return;
    }
    throw new JobError(`${this.key} ${this.display}: ${device} is not there`, {
      hint: 'plug in the stick (or attach the disk) that holds it, or correct the URL',
    });
  }

  write(path: string, data: Readable, access?: FileAccess): Promise<void> {
    return this.opened().write(path, data, access);
  }
  read(path: string): Promise<Readable> {
    return this.opened().read(path);
  }
  list(dir: string): Promise<string[]> {
    return this.opened().list(dir);
  }
  symlink(path: string, target: string): Promise<void> {
    return this.opened().symlink(path, target);
  }
  symlinks(dir: string): Promise<Map<string, string>> {
    return this.opened().symlinks(dir);
  }
  remove(path: string): Promise<void> {
    return this.opened().remove(path);
  }

  async close(): Promise<void> {
    const mountPoint = this.mountPoint;
    if (!mountPoint) return;
    this.mountPoint = undefined;
    this.inner = undefined;
    this.forget?.();
    const result = await execa('umount', [mountPoint], { reject: false, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      this.log.warn(`could not unmount ${mountPoint}: ${lastLine(String(result.stderr))}`);
      return;
    }
    await rmdir(mountPoint).catch(() => undefined);
  }

  private opened(): DirectoryDestination {
    if (!this.inner) throw new JobError(`${this.key} ${this.display} is not open`);
    return this.inner;
  }
}

/**
 * What mount said, in one line: mount.cifs puts the error first ("mount error(13): Permission
 * denied") and a pointer to its manual last, which alone would say nothing.
 */
function mountSaid(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('Refer to the mount.cifs'))
    .join('; ');
}
