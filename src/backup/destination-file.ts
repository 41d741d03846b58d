import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import {
  access,
  chmod,
  constants,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobError } from '../errors.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import { osError } from '../util/os-error.js';
import type { BackupDestination, FileAccess } from './destination-types.js';

/**
 * A directory on this machine: file:///dir, and the mount point of nfs://, cifs:// and usb://
 * (destination-mount.ts). Files are written under a temporary name and renamed when complete,
 * mode 0600 (a backup holds every secret of the host) in 0700 directories; a served tree's
 * (pxe.url) 0644 in 0755 directories.
 */
export class DirectoryDestination implements BackupDestination {
  constructor(
    readonly display: string,
    /** The directory backups go under. */
    readonly dir: string,
    /** The configuration key the URL came from, as messages name it (backup.url, output.url). */
    readonly key: string,
  ) {}

  async open(purpose: 'write' | 'read' = 'write'): Promise<void> {
    if (purpose === 'read') {
      // Recovery reads: a directory that is not there holds no backup, and is not made.
      const found = await stat(this.dir).catch(() => undefined);
      if (!found?.isDirectory())
        throw new JobError(`${this.key} ${this.display}: there is no directory ${this.dir}`, {
          hint: `check ${this.key} (and that the disk or share holding it is attached)`,
        });
      return;
    }
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (!(await stat(this.dir)).isDirectory()) throw new Error('not a directory');
      await access(this.dir, constants.W_OK);
    } catch (error) {
      throw new JobError(`${this.key} ${this.display}: ${this.dir} is not a writable directory`, {
        hint: `create it, or point ${this.key} at a directory this user can write`,
        cause: error,
      });
    }
  }

  async write(path: string, data: Readable, access: FileAccess = 'private'): Promise<void> {
    const final = this.resolve(path);
    const served = access === 'served';
    await this.makeDirectory(dirname(final), served);
    const partial = join(dirname(final), `.${basename(final)}.partial-${process.pid}`);
    // Ctrl-C exits without running the catch below: the half-written file goes then too.
    const forget = onInterruptCleanup(() => rmSync(partial, { force: true }));
    try {
      await pipeline(data, createWriteStream(partial, { mode: 0o600 }));
      // Set outright: the process's umask would take bits from a served file's mode.
      if (served) await chmod(partial, 0o644);
      await rename(partial, final);
    } catch (error) {
      await rm(partial, { force: true });
      const known = osError(error);
      if (!known) throw error;
      throw new JobError(`${this.key} ${this.display}: writing ${final} failed: ${known.reason}`, {
        hint: known.hint,
        cause: error,
      });
    } finally {
      forget();
    }
  }

  async read(path: string): Promise<Readable> {
    const file = this.resolve(path);
    await access(file, constants.R_OK);
    return createReadStream(file);
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(this.resolve(dir))).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async symlink(path: string, target: string): Promise<void> {
    const final = this.resolve(path);
    await this.makeDirectory(dirname(final), true);
    // Made beside it and renamed over it: a reader finds the old link or the new one.
    const partial = join(dirname(final), `.${basename(final)}.partial-${process.pid}`);
    await rm(partial, { force: true });
    await symlink(target, partial);
    await rename(partial, final);
  }

  async symlinks(dir: string): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    const where = this.resolve(dir);
    for (const name of await this.list(dir)) {
      const target = await readlink(join(where, name)).catch(() => undefined);
      if (target !== undefined) links.set(name, target);
    }
    return links;
  }

  async remove(path: string): Promise<void> {
    await rm(this.resolve(path), { recursive: true, force: true });
  }

  async close(): Promise<void> {}

  /** The directories up to `dir` that are not there yet: 0700, or 0755 for a served tree. */
  private async makeDirectory(dir: string, served: boolean): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: served ? 0o755 : 0o700 });
    if (!served || first === undefined) return;
    // The umask could have taken bits away: a TFTP server's user must enter every one.
    for (let made = dir; made.length >= first.length; made = dirname(made)) {
      await chmod(made, 0o755);
    }
  }

  /** A path under the destination directory; ".." never leaves it. */
  private resolve(path: string): string {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new JobError(`backup path ${path} leaves the destination`);
    return join(this.dir, ...parts);
  }
}
