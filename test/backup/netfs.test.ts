import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { pack } from 'tar-stream';
import { afterAll, expect, it } from 'vitest';
import { netfsMethod } from '../../src/backup/netfs.js';
import type { BackupManifest } from '../../src/backup/netfs-manifest.js';
import { MemoryLog } from '../../src/log/log.js';
import { openRunTemp } from '../../src/util/run-temp.js';
import {
  allocatedBytes,
  describeTree,
  makeSampleTree,
  ODD_UID,
  toolsMissing,
} from '../support/backup.js';
import { CLI, lifeboat, sandbox } from '../support/cli.js';
import { configWith } from '../support/config-with.js';
import { closedPort } from '../support/ports.js';
import { startSshd } from '../support/sshd.js';
import { describeTier } from '../support/tiers.js';

/**
 * NETFS end to end with the real programs: the CLI makes the backup (mkbackuponly --root), the
 * method verifies and restores it, and the restored tree is compared with the original.
 */
const missing = toolsMissing([
  'tar',
  'zstd',
  'gzip',
  'gpg',
  'setfattr',
  'getfattr',
  'mkfifo',
  'curl',
]);
/** mkbackuponly through the real CLI; `secrets` go into a local.yaml, never onto argv. */
/** `lifeboat mkbackuponly` of `root` to `url` in a sandbox of its own, running. */
function startMkbackuponly(root: string, url: string, sets: string[] = [], localYaml = '') {
  const box = sandbox();
  mkdirSync(box.etc, { recursive: true });
  if (localYaml) writeFileSync(join(box.etc, 'local.yaml'), localYaml, { mode: 0o600 });
  const run = lifeboat(
    [
      'mkbackuponly',
      '--root',
      root,
      ...box.sets,
      '--set',
      'backup.method=netfs',
      '--set',
      `backup.url=${url}`,
      ...sets,
    ],
    { env: box.env },
  );
  return { box, run };
}

async function mkbackuponly(root: string, url: string, sets: string[] = [], localYaml = '') {
  const { box, run } = startMkbackuponly(root, url, sets, localYaml);
  const result = await run;
  const logs = existsSync(join(box.dir, 'log'))
    ? readdirSync(join(box.dir, 'log')).map((f) => readFileSync(join(box.dir, 'log', f), 'utf8'))
    : [];
  return { ...result, logText: logs.join('\n') };
}

function backupsOf(dest: string, host = 'sample-host'): string[] {
  return existsSync(join(dest, host)) ? readdirSync(join(dest, host)).sort() : [];
}

function manifestOf(dest: string, id: string, host = 'sample-host'): BackupManifest {
  return JSON.parse(readFileSync(join(dest, host, id, 'backup.json'), 'utf8')) as BackupManifest;
}

/** Puts `tarred` (an uncompressed tar) in place of backup `id`'s archive, backup.json to match. */
function replaceArchive(dest: string, id: string, tarred: Buffer): void {
  const zstd = execFileSync('zstd', ['-q', '-c'], { input: tarred });
  writeFileSync(join(dest, 'sample-host', id, 'backup.tar.zst'), zstd);
  const manifest = manifestOf(dest, id);
  manifest.archive.sha256 = createHash('sha256').update(zstd).digest('hex');
  manifest.archive.bytes = zstd.length;
  writeFileSync(join(dest, 'sample-host', id, 'backup.json'), JSON.stringify(manifest));
}

/** A tar of exactly these members in this order, for shapes GNU tar never creates. */
async function handMadeTar(
  members: { name: string; type?: 'symlink' | 'link'; linkname?: string }[],
): Promise<Buffer> {
  const archive = pack();
  for (const m of members) {
    if (m.type === undefined) archive.entry({ name: m.name, mode: 0o644 }, 'data\n');
    else archive.entry({ name: m.name, type: m.type, linkname: m.linkname ?? '' });
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const workDirs: string[] = [];
function work(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-${name}-`));
  workDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});
// verify keeps a copy of the archive for restore in the run's temporary directory, which the CLI
// removes at exit; here that directory is in a work area of this file's, removed with it, so the
// tests that verify without restoring leave nothing in /tmp.
openRunTemp(work('run-area'));

describeTier('fixture', missing)('NETFS backup and restore (real tar, zstd, gpg)', () => {
  it('mkbackuponly --root backs up a tree that restores with contents, modes, owners, xattrs, ACLs, holes, links and fifos intact, and leaves the output dir and excludes out', async () => {
    const dir = work('roundtrip');
    const { root, acl } = makeSampleTree(join(dir, 'root'));
    mkdirSync(join(root, 'out'));
    writeFileSync(join(root, 'out', 'rescue.iso'), 'media');
    mkdirSync(join(root, 'tmp'));
    writeFileSync(join(root, 'tmp', 'junk'), 'temporary');
    writeFileSync(join(root, 'data', 'build.skip'), 'left out');
    const dest = join(dir, 'dest');
    const made = await mkbackuponly(root, `file://${dest}`, [
      '--set',
      `output.dir=${join(root, 'out')}`,
      '--set',
      'backup.exclude+="*.skip"',
    ]);
    expect(made.exitCode, made.all).toBe(0);
    const [id] = backupsOf(dest);
    expect(id).toMatch(/^\d{8}T\d{6}Z$/);
    expect(made.stdout).toContain(`backup ${id}:`);
    const listing = readFileSync(join(dest, 'sample-host', id as string, 'backup.list'), 'utf8');
    expect(listing).toContain('./data/sparse.img');
    expect(listing).not.toMatch(/\.\/out\b/);
    expect(listing).not.toContain('./tmp/junk');
    expect(listing).not.toContain('build.skip');
    for (const name of ['backup.json', 'backup.list', 'backup.tar.zst']) {
      const mode = execFileSync(
        'stat',
        ['-c', '%a', join(dest, 'sample-host', id as string, name)],
        {
          encoding: 'utf8',
        },
      ).trim();
      expect(mode, name).toBe('600');
    }

    const config = await configWith([`backup.url=file://${dest}`, 'backup.method=netfs']);
    const log = new MemoryLog();
    const verified = await netfsMethod.verify({ config, log, hostname: 'sample-host' });
    expect(verified.id).toBe(id);
    const target = join(dir, 'restored');
    const restored = await netfsMethod.restore({ config, log, backup: verified, target });
    expect(restored.entries).toBe((verified.details as BackupManifest).listing.entries);
    expect(restored.bytes).toBe((verified.details as BackupManifest).archive.bytes);

    // Everything but what was excluded, byte for byte and attribute for attribute.
    const expected = describeTree(root, { acl }).filter(
      (l) => !/^(out|tmp\/junk|data\/build\.skip)\b/.test(l),
    );
    expect(describeTree(target, { acl })).toEqual(expected);
    expect(describeTree(target).join('\n')).toContain(`data/file.txt file 2300`);
    expect(describeTree(target).join('\n')).toMatch(
      new RegExp(`data/file.txt file \\S+ \\S+ 640 ${ODD_UID}:${ODD_UID}`),
    );
    expect(describeTree(target).join('\n')).toContain('user.lifeboat="kept"');
    expect(describeTree(target).join('\n')).toContain('data/hardlink.txt file');
    expect(describeTree(target).join('\n')).toContain('=data/file.txt');
    expect(allocatedBytes(join(target, 'data', 'sparse.img'))).toBeLessThan(1024 * 1024);
    if (acl) expect(describeTree(target).join('\n')).toContain('system.posix_acl_access');
    else
      process.stderr.write('\n*** ACL ASSERTION SKIPPED: setfacl failed on this file system ***\n');

    // A rerun into the same tree (a power cut during the first) overwrites and completes.
    writeFileSync(join(target, 'data', 'file.txt'), 'half-written');
    const again = await netfsMethod.restore({ config, log, backup: verified, target });
    expect(again.entries).toBe(restored.entries);
    expect(describeTree(target, { acl })).toEqual(expected);
  });

  it('an encrypted backup restores with its key, and a wrong key is refused in one sentence; the key is in no log', async () => {
    const dir = work('crypt');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    const key = 'correct horse battery staple 42';
    const made = await mkbackuponly(
      root,
      `file://${dest}`,
      ['--verbose'],
      `backup:\n  encryptionKey: "${key}"\n`,
    );
    expect(made.exitCode, made.all).toBe(0);
    const [id] = backupsOf(dest);
    const manifest = manifestOf(dest, id as string);
    expect(manifest.archive).toMatchObject({
      name: 'backup.tar.zst.gpg',
      encryption: 'gpg-aes256',
    });
    const stored = readFileSync(join(dest, 'sample-host', id as string, manifest.archive.name));
    // OpenPGP, not a zstd frame (28 b5 2f fd) in the clear.
    expect(stored.subarray(0, 4).toString('hex')).not.toBe('28b52ffd');
    expect(made.all).not.toContain(key);
    expect(made.logText).not.toContain(key);
    expect(made.logText.length).toBeGreaterThan(0);

    const wrong = await configWith([
      `backup.url=file://${dest}`,
      'backup.encryptionKey=not the key',
    ]);
    await expect(
      netfsMethod.verify({ config: wrong, log: new MemoryLog(), hostname: 'sample-host' }),
    ).rejects.toThrow(`backup.encryptionKey does not decrypt backup ${id}`);

    const right = await configWith([`backup.url=file://${dest}`, `backup.encryptionKey=${key}`]);
    const log = new MemoryLog();
    const verified = await netfsMethod.verify({ config: right, log, hostname: 'sample-host' });
    const target = join(dir, 'restored');
    await netfsMethod.restore({ config: right, log, backup: verified, target });
    expect(readFileSync(join(target, 'data', 'file.txt'), 'utf8')).toBe(
      readFileSync(join(root, 'data', 'file.txt'), 'utf8'),
    );
  });

  it('a damaged archive is refused by verify, naming the checksum', async () => {
    const dir = work('corrupt');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const [id] = backupsOf(dest);
    const archive = join(dest, 'sample-host', id as string, 'backup.tar.zst');
    const bytes = readFileSync(archive);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0x40, middle);
    writeFileSync(archive, bytes);
    const config = await configWith([`backup.url=file://${dest}`]);
    await expect(
      netfsMethod.verify({ config, log: new MemoryLog(), hostname: 'sample-host' }),
    ).rejects.toThrow(
      /backup \S+ at file:\/\/\S+ is damaged: the archive's sha256 is [0-9a-f]{64}/,
    );
  });

  it('restore extracts the very bytes verify checked, from the copy verify kept: an archive replaced at the destination afterwards does not reach the target, and the copy is gone after restore', async () => {
    const dir = work('verified-copy');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const [id] = backupsOf(dest);
    const archive = join(dest, 'sample-host', id as string, 'backup.tar.zst');
    const config = await configWith([`backup.url=file://${dest}`]);
    const log = new MemoryLog();
    const verified = await netfsMethod.verify({ config, log, hostname: 'sample-host' });
    // Between verify and restore the destination's archive becomes another one.
    writeFileSync(archive, 'not the archive that was verified');
    const target = join(dir, 'restored');
    await netfsMethod.restore({ config, log, backup: verified, target });
    expect(readFileSync(join(target, 'data', 'file.txt')).length).toBe(2300);
    const said = log.lines.map((line) => line.message).join('\n');
    const copy = /restoring from the copy of the archive verify kept \((.+)\)/.exec(said)?.[1];
    expect(copy, said).toBeDefined();
    expect(existsSync(copy as string)).toBe(false);
    // Without a copy (a second restore of the same record), the destination is read again: the
    // replaced archive is refused.
    await expect(
      netfsMethod.restore({ config, log, backup: verified, target: join(dir, 'again') }),
    ).rejects.toThrow(/changed since it was verified/);
  });

  it('a backup.json that names another host than its directory is refused by verify, naming both', async () => {
    const dir = work('other-host');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const [id] = backupsOf(dest);
    const manifest = manifestOf(dest, id as string);
    manifest.hostname = 'another-host';
    writeFileSync(join(dest, 'sample-host', id as string, 'backup.json'), JSON.stringify(manifest));
    const config = await configWith([`backup.url=file://${dest}`]);
    await expect(
      netfsMethod.verify({ config, log: new MemoryLog(), hostname: 'sample-host' }),
    ).rejects.toThrow(`backup.json names host "another-host", but it is kept under sample-host/`);
  });

  it('an archive with a member that climbs out of the target (../x) is refused by verify, naming it', async () => {
    const dir = work('escape');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const [id] = backupsOf(dest);
    // A hand-made archive: -P keeps the "../" the transform puts in front of the name.
    writeFileSync(join(dir, 'x'), 'outside\n');
    const tarred = execFileSync('tar', [
      '-c',
      '-f',
      '-',
      '-P',
      '-C',
      dir,
      '--transform=s,^x$,../x,',
      'x',
    ]);
    replaceArchive(dest, id as string, tarred);
    const config = await configWith([`backup.url=file://${dest}`]);
    await expect(
      netfsMethod.verify({ config, log: new MemoryLog(), hostname: 'sample-host' }),
    ).rejects.toThrow('its member ../x has a ".." component');
  });

  it('an archive with a member under its own symlink (etc/zz -> /, etc/zz/passwd) or a hard link to an absolute path is refused by verify, naming it; symlinks to absolute paths pass', async () => {
    const dir = work('through-link');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const [id] = backupsOf(dest);
    const config = await configWith([`backup.url=file://${dest}`]);
    const verify = () =>
      netfsMethod.verify({ config, log: new MemoryLog(), hostname: 'sample-host' });
    const localtime = {
      name: 'etc/localtime',
      type: 'symlink',
      linkname: '/usr/share/zoneinfo/UTC',
    } as const;

    replaceArchive(dest, id as string, await handMadeTar([{ name: 'etc/passwd' }, localtime]));
    expect((await verify()).id).toBe(id);

    const through = await handMadeTar([
      localtime,
      { name: 'etc/zz', type: 'symlink', linkname: '/' },
      { name: 'etc/zz/passwd' },
    ]);
    // What verify spares the restore: GNU tar stops on it halfway with exit 2.
    const extracted = work('through-link-tar');
    expect(() =>
      execFileSync('tar', ['-x', '-C', extracted], { input: through, stdio: 'pipe' }),
    ).toThrow(/Not a directory/);
    replaceArchive(dest, id as string, through);
    await expect(verify()).rejects.toThrow(
      `backup ${id} at file://${dest} is refused: its member etc/zz/passwd lies under etc/zz, a symlink to / earlier in the archive`,
    );
    await expect(verify()).rejects.toMatchObject({ exitCode: 1 });

    replaceArchive(
      dest,
      id as string,
      await handMadeTar([{ name: 'f' }, { name: 'h', type: 'link', linkname: '/etc/shadow' }]),
    );
    await expect(verify()).rejects.toThrow(
      'its member h is a hard link to /etc/shadow, which is an absolute path',
    );
  });

  it("a restore that tar cannot finish (a full target) says why in tar's words, and the log has all tar said", async () => {
    const dir = work('restore-full');
    const { root } = makeSampleTree(join(dir, 'root'));
    writeFileSync(join(root, 'big.bin'), Buffer.alloc(1024 * 1024, 7));
    const dest = join(dir, 'dest');
    expect((await mkbackuponly(root, `file://${dest}`)).exitCode).toBe(0);
    const config = await configWith([`backup.url=file://${dest}`]);
    const log = new MemoryLog();
    const verified = await netfsMethod.verify({ config, log, hostname: 'sample-host' });
    // A real full disk: a 64 KiB tmpfs, far smaller than big.bin.
    const small = join(dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', small]);
    try {
      const failed = netfsMethod.restore({ config, log, backup: verified, target: small });
      // tar's own words for a short write, not its closing "Exiting with failure status".
      await expect(failed).rejects.toThrow(
        new RegExp(
          `did not restore into ${small}: tar exited 2 \\([^)]*\\./big\\.bin: Wrote only \\d+ of \\d+ bytes\\)$`,
        ),
      );
      expect(log.lines.map((l) => l.message)).toContainEqual(
        expect.stringMatching(/^tar: \.\/big\.bin: Wrote only \d+ of \d+ bytes$/),
      );
      expect(log.lines.map((l) => l.message)).toContain(
        'tar: Exiting with failure status due to previous errors',
      );
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('a full file:// destination is one sentence naming it and the file, and keeps no partial file', async () => {
    const dir = work('full');
    const { root } = makeSampleTree(join(dir, 'root'));
    writeFileSync(join(root, 'srv-data.bin'), Buffer.alloc(1024 * 1024, 7));
    // A real full disk: a 64 KiB tmpfs, far smaller than the archive (1 MiB, not compressed).
    const small = join(dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', small]);
    try {
      const made = await mkbackuponly(root, `file://${small}`, [
        '--set',
        'backup.compression=none',
      ]);
      expect(made.exitCode, made.all).toBe(1);
      expect(made.stderr).toMatch(
        new RegExp(
          `backup\\.url file://${small}: writing ${small}/sample-host/\\w+/backup\\.tar failed: no space left on the device`,
        ),
      );
      expect(made.stderr).not.toMatch(/ENOSPC|\bat .*\.m?js:\d+/);
      expect(readdirSync(small, { recursive: true, encoding: 'utf8' })).not.toContainEqual(
        expect.stringMatching(/\.partial-/),
      );
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('Ctrl-C during an encrypted backup leaves no gpg-agent, temporary directory or partial file', async () => {
    const dir = work('interrupted');
    const { root } = makeSampleTree(join(dir, 'root'));
    // Enough random bytes that the archive is still being written when the signal comes.
    execFileSync('sh', ['-c', `head -c 300M /dev/urandom >"$1"`, 'sh', join(root, 'big.bin')]);
    const dest = join(dir, 'dest');
    const ours = () =>
      readdirSync(tmpdir()).filter(
        (n) => n.startsWith('lb-gpg-') || n.startsWith('lifeboat-backup-'),
      );
    // Command lines from /proc: no dependency on ps being installed.
    const agents = () =>
      readdirSync('/proc')
        .filter((pid) => /^\d+$/.test(pid))
        .map((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
          } catch {
            return ''; // gone meanwhile
          }
        })
        .filter((line) => line.includes('gpg-agent') && line.includes('lb-gpg-'));
    const before = { temps: ours(), agents: agents() };
    const { box, run: child } = startMkbackuponly(root, `file://${dest}`, [
      '--set',
      'backup.encryptionKey=interrupt-test-key',
      '--set',
      'backup.compression=none',
    ]);
    // The archive is on its way once its partial file exists at the destination.
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      const names = existsSync(dest)
        ? readdirSync(dest, { recursive: true, encoding: 'utf8' })
        : [];
      if (names.some((n) => n.includes('.partial-'))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The run's temporary files are in its own directory of paths.workDir, not in /tmp.
    const runTemps = join(box.dir, 'work', 'tmp');
    const [runTemp, ...others] = readdirSync(runTemps);
    expect(others).toEqual([]);
    expect(readdirSync(join(runTemps, runTemp as string))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^lb-gpg-/),
        expect.stringMatching(/^lifeboat-backup-/),
      ]),
    );
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, result.all).toBe(130);
    expect(readdirSync(runTemps)).toEqual([]);
    expect(ours().filter((n) => !before.temps.includes(n))).toEqual([]);
    expect(agents().filter((a) => !before.agents.includes(a))).toEqual([]);
    const left = existsSync(dest) ? readdirSync(dest, { recursive: true, encoding: 'utf8' }) : [];
    expect(left.filter((n) => n.includes('.partial-') || n.endsWith('.gpg'))).toEqual([]);
  }, 120_000);

  it('an sftp server that does not answer fails the run in one sentence before any archive, exit 1', async () => {
    const dir = work('unreachable');
    const { root } = makeSampleTree(join(dir, 'root'));
    const port = await closedPort();
    const made = await mkbackuponly(root, `sftp://root@127.0.0.1:${port}/srv/backup`);
    expect(made.exitCode).toBe(1);
    expect(made.stderr).toContain(
      `backup.url sftp://root@127.0.0.1:${port}/srv/backup: the server does not answer (connection refused)`,
    );
    expect(made.stderr).not.toMatch(/^\s+at /m);
    expect(made.stdout).not.toContain('500_backup_archive');
  });

  it('retention with keep=1: three runs leave two backups; an incomplete one goes, other directories stay', async () => {
    const dir = work('retention');
    const { root } = makeSampleTree(join(dir, 'root'));
    const dest = join(dir, 'dest');
    mkdirSync(join(dest, 'sample-host', '20000101T000000Z'), { recursive: true });
    writeFileSync(join(dest, 'sample-host', '20000101T000000Z', 'backup.tar.zst'), 'cut short');
    mkdirSync(join(dest, 'sample-host', 'notes'));
    const ids: string[] = [];
    for (let run = 0; run < 3; run += 1) {
      const made = await mkbackuponly(root, `file://${dest}`, ['--set', 'backup.keep=1']);
      expect(made.exitCode, made.all).toBe(0);
      ids.push(...backupsOf(dest).filter((n) => /^\d{8}T/.test(n) && !ids.includes(n)));
    }
    const remaining = backupsOf(dest);
    expect(remaining).toEqual(['notes', ...ids.slice(-2)].sort());
    expect(remaining).not.toContain('20000101T000000Z');
  });
});

describeTier('fixture', missing ?? toolsMissing(['setpriv']))(
  'NETFS backup when tar itself fails',
  () => {
    it("a root tar cannot enter fails mkbackuponly in one sentence with tar's reason, exit 1; the log has tar's lines", async () => {
      const dir = work('tar-fails');
      const { root } = makeSampleTree(join(dir, 'root'));
      const dest = join(dir, 'dest');
      // Root without the capabilities that let it read any directory, as on an NFS root that
      // squashes root: a mode 000 root is then closed to tar as it is to anyone.
      chmodSync(root, 0o000);
      try {
        const box = sandbox();
        const run = await execa(
          'setpriv',
          [
            '--bounding-set=-dac_override,-dac_read_search',
            'node',
            CLI,
            'mkbackuponly',
            '--root',
            root,
            ...box.sets,
            '--set',
            'backup.method=netfs',
            '--set',
            `backup.url=file://${dest}`,
          ],
          { reject: false, all: true, env: { ...box.env, CI: '' } },
        );
        expect(run.exitCode, run.all).toBe(1);
        expect(run.stderr).toContain(
          `the archive could not be made: tar exited 2 (${root}: Cannot open: Permission denied)`,
        );
        expect(run.stderr).not.toMatch(/^\s+at |Unhandled/m);
        const logText = readdirSync(join(box.dir, 'log'))
          .map((f) => readFileSync(join(box.dir, 'log', f), 'utf8'))
          .join('\n');
        expect(logText).toContain(`tar: ${root}: Cannot open: Permission denied`);
        expect(logText).toContain('tar: Error is not recoverable: exiting now');
        const left = existsSync(dest)
          ? readdirSync(dest, { recursive: true, encoding: 'utf8' })
          : [];
        expect(left.filter((n) => n.includes('backup.'))).toEqual([]);
      } finally {
        chmodSync(root, 0o755);
      }
    });
  },
);

describeTier('fixture', missing ?? toolsMissing(['sshd', 'ssh-keygen']))(
  'NETFS over sftp:// (curl against a private sshd on 127.0.0.1)',
  () => {
    it('backs up, verifies and restores over SFTP; a server with another host key is refused', async () => {
      const dir = work('sftp');
      const sshd = await startSshd(mkdtempSync(join(dir, 'sshd-')));
      try {
        const { root, acl } = makeSampleTree(join(dir, 'root'));
        const remote = join(dir, 'remote dir');
        const url = `sftp://root@127.0.0.1:${sshd.port}${encodeURI(remote)}`;
        const secrets = `backup:\n  sftpKey: |\n${sshd.clientKey
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}\n  sftpHostKey: "${sshd.hostKeyFingerprint}"\n`;
        const made = await mkbackuponly(root, url, ['--verbose'], secrets);
        expect(made.exitCode, made.all).toBe(0);
        expect(made.logText).not.toContain(sshd.clientKey.split('\n')[1]);
        const [id] = backupsOf(remote);
        expect(readdirSync(join(remote, 'sample-host', id as string)).sort()).toEqual([
          'backup.json',
          'backup.list',
          'backup.tar.zst',
        ]);
        const archiveMode = execFileSync(
          'stat',
          ['-c', '%a', join(remote, 'sample-host', id as string, 'backup.tar.zst')],
          { encoding: 'utf8' },
        ).trim();
        expect(archiveMode).toBe('600');

        const config = await configWith([
          `backup.url=${url}`,
          `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
          `backup.sftpHostKey=${JSON.stringify(sshd.hostKeyFingerprint)}`,
        ]);
        const log = new MemoryLog();
        const verified = await netfsMethod.verify({ config, log, hostname: 'sample-host' });
        expect(verified.id).toBe(id);
        const target = join(dir, 'restored');
        const restored = await netfsMethod.restore({ config, log, backup: verified, target });
        expect(restored.entries).toBe((verified.details as BackupManifest).listing.entries);
        expect(describeTree(target, { acl })).toEqual(describeTree(root, { acl }));

        const impostor = await configWith([
          `backup.url=${url}`,
          `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
          'backup.sftpHostKey=SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
        ]);
        await expect(
          netfsMethod.verify({ config: impostor, log, hostname: 'sample-host' }),
        ).rejects.toThrow('the server does not show the host key backup.sftpHostKey names');
      } finally {
        sshd.stop();
      }
    });
  },
);
