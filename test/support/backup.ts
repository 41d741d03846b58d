import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * A small tree with what a backup must keep (a sparse file, xattrs, an ACL where the file system
 * has them, a symlink, a hardlink, a fifo, odd owners), and a comparison of two trees that says
 * what differs. For the backup tests and the bench.
 */
export const ODD_UID = 1234;

export interface SampleTree {
  root: string;
  /** Whether the file system took a POSIX ACL (tmpfs and ext4 do; some overlays don't). */
  acl: boolean;
}

export function makeSampleTree(root: string): SampleTree {
  const data = join(root, 'data');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(data, { recursive: true });
  writeFileSync(join(root, 'etc', 'hostname'), 'sample-host\n');
  writeFileSync(join(data, 'file.txt'), 'the contents of a file\n'.repeat(100));
  chmodSync(join(data, 'file.txt'), 0o640);
  chownSync(join(data, 'file.txt'), ODD_UID, ODD_UID);
  // 64 MiB with 4 KiB of data at the end: a hole of almost all of it.
  const sparse = openSync(join(data, 'sparse.img'), 'w');
  writeSync(sparse, Buffer.alloc(4096, 7), 0, 4096, 64 * 1024 * 1024 - 4096);
  closeSync(sparse);
  writeFileSync(join(data, 'xattr.txt'), 'has attributes\n');
  execFileSync('setfattr', ['-n', 'user.lifeboat', '-v', 'kept', join(data, 'xattr.txt')]);
  let acl = true;
  writeFileSync(join(data, 'acl.txt'), 'has an ACL\n');
  try {
    execFileSync('setfacl', ['-m', `u:${ODD_UID}:r`, join(data, 'acl.txt')], { stdio: 'pipe' });
  } catch {
    acl = false;
  }
  symlinkSync('file.txt', join(data, 'link'));
  linkSync(join(data, 'file.txt'), join(data, 'hardlink.txt'));
  execFileSync('mkfifo', ['-m', '0600', join(data, 'fifo')]);
  mkdirSync(join(data, 'private'), { mode: 0o700 });
  chownSync(join(data, 'private'), ODD_UID, 4321);
  chmodSync(join(data, 'private'), 0o2750);
  return { root, acl };
}

/** One line per entry: what a restore must reproduce (type, mode, owner, size, content, xattrs). */
export function describeTree(root: string, options: { acl: boolean } = { acl: true }): string[] {
  const lines: string[] = [];
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    const path = join(root, rel);
    const st = lstatSync(path);
    const kind = st.isSymbolicLink()
      ? `link->${readlinkSync(path)}`
      : st.isDirectory()
        ? 'dir'
        : st.isFIFO()
          ? 'fifo'
          : `file ${st.size} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`;
    let hardlink = '';
    if (st.isFile() && st.nlink > 1) {
      const first = inodes.get(st.ino);
      if (first) hardlink = ` =${first}`;
      else inodes.set(st.ino, rel);
    }
    const mtime =
      st.isSymbolicLink() || st.isDirectory() ? '' : ` @${Math.floor(st.mtimeMs / 1000)}`;
    lines.push(
      `${rel || '.'} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${mtime}${hardlink}${st.isSymbolicLink() ? '' : xattrs(path, options.acl)}`,
    );
    if (st.isDirectory())
      for (const name of readdirSync(path).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return lines;
}

function xattrs(path: string, acl: boolean): string {
  const out = execFileSync('getfattr', ['--absolute-names', '--dump', '--match=-', path], {
    encoding: 'utf8',
  });
  const attrs = out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .filter((l) => acl || !l.startsWith('system.posix_acl'));
  return attrs.length ? ` [${attrs.join(' ')}]` : '';
}

/** Bytes a file really occupies (st_blocks), to see that a hole stayed a hole. */
export function allocatedBytes(path: string): number {
  return lstatSync(path).blocks * 512;
}

export function toolsMissing(tools: readonly string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'the backup tests run as root (they chown to uid 1234)';
  const absent = tools.filter(
    (tool) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, tool))),
  );
  return absent.length ? `${absent.join(', ')} not installed` : undefined;
}
