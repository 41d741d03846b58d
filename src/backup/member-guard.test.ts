import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ListingCheck } from './member-guard.js';
import { listArgs } from './tar-args.js';

/**
 * Archives made by GNU tar (and, for shapes GNU tar will not make, by tar-stream), listed by real
 * GNU tar with verify()'s own arguments, and checked line by line as verify() does.
 */
const dirs: string[] = [];
function work(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-guard-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function checked(archive: Buffer): ListingCheck {
  const listing = execFileSync('tar', listArgs(), { input: archive, env: { LC_ALL: 'C' } });
  const check = new ListingCheck();
  for (const line of listing.toString('utf8').split('\n')) if (line !== '') check.line(line);
  return check;
}

type Member =
  | { file: string }
  | { dir: string }
  | { symlink: string; to: string }
  | { hardlink: string; to: string };

/** An archive of exactly these members, in this order: shapes GNU tar never creates itself. */
async function handMade(members: Member[]): Promise<Buffer> {
  const archive = pack();
  for (const m of members) {
    if ('file' in m) archive.entry({ name: m.file, mode: 0o644 }, 'data\n');
    else if ('dir' in m) archive.entry({ name: m.dir, type: 'directory', mode: 0o755 });
    else if ('symlink' in m) archive.entry({ name: m.symlink, type: 'symlink', linkname: m.to });
    else archive.entry({ name: m.hardlink, type: 'link', linkname: m.to });
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A tree on disk archived by GNU tar the way a backup is (posix format, names "./..."). */
function gnuTar(root: string, extra: string[] = [], paths = ['.']): Buffer {
  return execFileSync('tar', [
    '--create',
    '--file=-',
    '--format=posix',
    ...extra,
    '-C',
    root,
    ...paths,
  ]);
}

describe('verify reads members from GNU tar listing and refuses hostile ones', () => {
  it('accepts a normal tree: symlinks to absolute and ".." targets, hard links, odd names', () => {
    const root = join(work(), 'root');
    mkdirSync(join(root, 'etc', 'sub'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0\n');
    symlinkSync('/usr/share/zoneinfo/UTC', join(root, 'etc', 'localtime'));
    symlinkSync('../passwd', join(root, 'etc', 'sub', 'up'));
    symlinkSync('/', join(root, 'etc', 'rootlink'));
    linkSync(join(root, 'etc', 'passwd'), join(root, 'etc', 'passwd.hard'));
    // Names that would confuse a listing read without quotes: " -> ", " link to ", a newline.
    writeFileSync(join(root, 'etc', 'a -> b'), 'x');
    writeFileSync(join(root, 'etc', 'c" link to "d'), 'x');
    writeFileSync(join(root, 'etc', 'new\nline'), 'x');
    linkSync(join(root, 'etc', 'a -> b'), join(root, 'etc', 'e -> f'));
    const check = checked(gnuTar(root));
    expect(check.refusal).toBeUndefined();
    expect(check.members).toBe(12);
  });

  it('refuses a member that goes through an earlier symlink to / (etc/zz -> /, etc/zz/passwd)', async () => {
    const check = checked(
      await handMade([{ dir: 'etc' }, { symlink: 'etc/zz', to: '/' }, { file: 'etc/zz/passwd' }]),
    );
    expect(check.refusal).toBe(
      'is refused: its member etc/zz/passwd lies under etc/zz, a symlink to / earlier in the archive: restoring it would write through that link',
    );
  });

  it('refuses a member under a symlink that climbs (a -> ../..), however its path is spelled', async () => {
    const check = checked(
      await handMade([{ symlink: './a', to: '../..' }, { dir: 'a/' }, { file: 'a//./x' }]),
    );
    expect(check.refusal).toBe(
      'is refused: its member a//./x lies under ./a, a symlink to ../.. earlier in the archive: restoring it would write through that link',
    );
  });

  it('refuses hard links to an absolute path, out through "..", and through a symlink member', async () => {
    const root = join(work(), 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'f'), 'x');
    linkSync(join(root, 'f'), join(root, 'h'));
    // GNU tar makes the absolute hard link itself: ./f first, then ./h a link to it, whose
    // target the transform turns into /etc/shadow (-P keeps its "/").
    const absolute = gnuTar(
      root,
      ['-P', '--transform=flags=h;s,^\\./f$,/etc/shadow,'],
      ['./f', './h'],
    );
    expect(checked(absolute).refusal).toBe(
      'is refused: its member ./h is a hard link to /etc/shadow, which is an absolute path: it would link to a file outside the target',
    );
    const climbing = await handMade([{ file: 'f' }, { hardlink: 'h', to: 'd/../../x' }]);
    expect(checked(climbing).refusal).toBe(
      'is refused: its member h is a hard link to d/../../x, which has a ".." component: it would link to a file outside the target',
    );
    const through = await handMade([
      { symlink: 'lnk', to: '/etc' },
      { hardlink: 'h', to: 'lnk/shadow' },
    ]);
    expect(checked(through).refusal).toBe(
      'is refused: its member h is a hard link to lnk/shadow, which lies under lnk, a symlink to /etc earlier in the archive: it would link to a file through that link',
    );
  });

  it('refuses members named with ".." or "/" as before, naming them in tar\'s quoting', async () => {
    expect(checked(await handMade([{ file: '../x' }])).refusal).toBe(
      'is refused: its member ../x has a ".." component, it would land outside the target',
    );
    expect(checked(await handMade([{ file: '/etc/cron.d/x\ny' }])).refusal).toBe(
      'is refused: its member /etc/cron.d/x\\ny is an absolute path, it would land outside the target',
    );
  });
});
