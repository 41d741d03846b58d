import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFiles } from './file-records.js';
import { RootView } from './fs-root.js';
import type { FileRecord } from './manifest.js';
import { GETFATTR_MISSING_WARNING } from './xattrs.js';

/** recordFiles on a Debian-like merged-/usr root. */

let root = '';
let xattrsUnsupported: string | undefined;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function file(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

async function link(path: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await symlink(target, join(root, path));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-file-records-'));
  await link('/bin', 'usr/bin');
  await link('/lib', 'usr/lib');
  await file('/usr/bin/su', 'su binary', 0o4755);
  await file('/usr/bin/crontab', 'crontab binary', 0o2755);
  await file('/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3', 'libfoo', 0o644);
  await link('/usr/lib/x86_64-linux-gnu/libfoo.so.1', 'libfoo.so.1.2.3');
  await file('/usr/lib/x86_64-linux-gnu/libsame.so', 'libfoo', 0o644); // same bytes, stored once
  await mkdir(join(root, '/etc/ssh'), { recursive: true });
  await chmod(join(root, '/etc/ssh'), 0o1755);
  await link('/etc/localtime', '/usr/share/zoneinfo/UTC');
  await file('/usr/share/zoneinfo/UTC', 'TZif', 0o644);
  await mkdir(join(root, '/run'), { recursive: true });
  await execa('mkfifo', [join(root, '/run/initctl')]);
  const probe = await execa(
    'setfattr',
    ['-n', 'user.test', '-v', 'hello', join(root, '/usr/bin/su')],
    {
      reject: false,
    },
  );
  if (probe.exitCode !== 0) {
    xattrsUnsupported = probe.stderr || probe.shortMessage;
    process.stderr.write(`\n*** XATTR CASE SKIPPED: setfattr failed: ${xattrsUnsupported} ***\n\n`);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('recordFiles', () => {
  it('records the symlinks on the way, the files with modes and hashes, and skips a FIFO', async () => {
    const view = new RootView(root);
    const result = await recordFiles(view, [
      '/bin/su',
      '/bin/crontab',
      '/lib/x86_64-linux-gnu/libfoo.so.1',
      '/usr/lib/x86_64-linux-gnu/libsame.so',
      '/etc/ssh',
      '/run/initctl',
      '/usr/bin/su', // the same file by its real name: one record
      '//bin/./su', // and by an untidy one
    ]);
    const su = result.records.find((record) => record.path === '/usr/bin/su');
    if (xattrsUnsupported === undefined)
      expect(su).toMatchObject({ xattrs: { 'user.test': 'aGVsbG8=' } });
    const withoutXattrs = result.records.map(({ ...record }) => {
      if ('xattrs' in record) delete record.xattrs;
      return record;
    });
    expect(withoutXattrs).toEqual<FileRecord[]>([
      { path: '/bin', type: 'symlink', target: 'usr/bin', uid, gid },
      { path: '/etc/ssh', type: 'dir', mode: '1755', uid, gid },
      { path: '/lib', type: 'symlink', target: 'usr/lib', uid, gid },
      {
        path: '/usr/bin/crontab',
        type: 'file',
        mode: '2755',
        uid,
        gid,
        size: 14,
        sha256: sha('crontab binary'),
      },
      {
        path: '/usr/bin/su',
        type: 'file',
        mode: '4755',
        uid,
        gid,
        size: 9,
        sha256: sha('su binary'),
      },
      {
        path: '/usr/lib/x86_64-linux-gnu/libfoo.so.1',
        type: 'symlink',
        target: 'libfoo.so.1.2.3',
        uid,
        gid,
      },
      {
        path: '/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3',
        type: 'file',
        mode: '0644',
        uid,
        gid,
        size: 6,
        sha256: sha('libfoo'),
      },
      {
        path: '/usr/lib/x86_64-linux-gnu/libsame.so',
        type: 'file',
        mode: '0644',
        uid,
        gid,
        size: 6,
        sha256: sha('libfoo'),
      },
    ]);
    expect([...result.contents.keys()].sort()).toEqual(
      [sha('crontab binary'), sha('su binary'), sha('libfoo')].sort(),
    );
    expect(result.contents.get(sha('su binary'))).toBe(join(root, 'usr/bin/su'));
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^not captured: \/run\/initctl is a FIFO \(special files are not copied/,
      ),
    ]);
  });

  it('records the xattrs of a file with the real getfattr', async (context) => {
    if (xattrsUnsupported !== undefined) context.skip();
    const result = await recordFiles(new RootView(root), ['/bin/su', '/etc/ssh']);
    expect(result.records.find((r) => r.path === '/usr/bin/su')).toMatchObject({
      xattrs: { 'user.test': 'aGVsbG8=' },
    });
    // No xattrs: no property at all (not an empty object).
    expect(result.records.find((r) => r.path === '/etc/ssh')).not.toHaveProperty('xattrs');
  });

  it('records a final symlink as a link only when asked not to follow it', async () => {
    const view = new RootView(root);
    const notFollowed = await recordFiles(view, [{ path: '/etc/localtime', follow: false }]);
    expect(notFollowed.records.map((r) => [r.path, r.type])).toEqual([
      ['/etc/localtime', 'symlink'],
    ]);
    expect(notFollowed.contents.size).toBe(0);
    const both = await recordFiles(view, [
      { path: '/etc/localtime', follow: false },
      '/etc/localtime',
    ]);
    expect(both.records.map((r) => [r.path, r.type])).toEqual([
      ['/etc/localtime', 'symlink'],
      ['/usr/share/zoneinfo/UTC', 'file'],
    ]);
  });

  it('turns a path that is not there into a warning', async () => {
    const result = await recordFiles(new RootView(root), ['/usr/bin/gone', '/bin/su']);
    expect(result.warnings).toEqual(['not captured: /usr/bin/gone: /usr/bin/gone does not exist']);
    expect(result.records.map((r) => r.path)).toEqual(['/bin', '/usr/bin/su']);
  });

  it('warns once when getfattr is missing and records no xattrs', async () => {
    const result = await recordFiles(new RootView(root), ['/bin/su'], {
      getfattr: 'lifeboat-no-such-getfattr',
    });
    expect(result.warnings).toEqual([GETFATTR_MISSING_WARNING]);
    expect(result.records.find((r) => r.path === '/usr/bin/su')).not.toHaveProperty('xattrs');
  });

  it('gives the same records whatever the order of the inputs', async () => {
    const paths = ['/lib/x86_64-linux-gnu/libfoo.so.1', '/bin/su', '/etc/ssh', '/bin/crontab'];
    const one = await recordFiles(new RootView(root), paths);
    const two = await recordFiles(new RootView(root), [...paths].reverse());
    expect(two).toEqual(one);
  });
});
