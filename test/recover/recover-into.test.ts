import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { netfsMethod } from '../../src/backup/netfs.js';
import { loadConfig } from '../../src/config/load.js';
import { MemoryLog } from '../../src/log/log.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * Host tier: `lifeboat recover --into DIR` (the rehearsal) on backups made by the real NETFS
 * code (tar, zstd, gpg) to a file:// destination. No disk, no QEMU.
 */
const KEY = 'lifeboat-test-backup-key';

/** A small tree with the things a restore must keep: modes, a symlink, an empty dir, binary. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'etc', 'app'), { recursive: true });
  mkdirSync(join(root, 'var', 'empty'), { recursive: true });
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(root, 'etc', 'hostname'), 'protected\n');
  writeFileSync(join(root, 'etc', 'app', 'secret.conf'), 'token=abc\n');
  chmodSync(join(root, 'etc', 'app', 'secret.conf'), 0o600);
  writeFileSync(join(root, 'usr', 'bin', 'tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(root, 'usr', 'bin', 'tool'), 0o755);
  writeFileSync(
    join(root, 'usr', 'blob'),
    Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)),
  );
  symlinkSync('../usr/bin/tool', join(root, 'etc', 'tool-link'));
}

/** path → what a restore must reproduce (type, mode, content or link target). */
function describeTree(root: string, dir = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = join(dir, name);
    const path = join(root, rel);
    const st = lstatSync(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(path)}`);
    else if (st.isDirectory()) {
      out.set(rel, `dir ${mode}`);
      for (const [k, v] of describeTree(root, rel)) out.set(k, v);
    } else out.set(rel, `file ${mode} ${readFileSync(path).toString('base64')}`);
  }
  return out;
}

async function makeBackup(tree: string, url: string, key?: string): Promise<string> {
  const effective = await loadConfig({
    configDir: join(tree, '..', 'no-etc'),
    sets: [
      'backup.method=netfs',
      `backup.url=${url}`,
      ...(key ? [`backup.encryptionKey=${key}`] : []),
    ],
  });
  const record = await netfsMethod.backup({
    config: effective.config,
    log: new MemoryLog(),
    hostRoot: tree,
    filesystems: ['/'],
    // What recover looks for outside a rescue system: this machine's name.
    hostname: hostname(),
    alwaysExclude: [],
  });
  return record.id;
}

describeTier('host', hostMissing())('recover --into DIR (rehearsal)', () => {
  const box = sandbox();
  const tree = join(box.dir, 'tree');
  const plainUrl = `file://${join(box.dir, 'backups-plain')}`;
  const secretUrl = `file://${join(box.dir, 'backups-secret')}`;
  let plainId = '';
  const recover = (into: string, args: string[], url = plainUrl) =>
    lifeboat(
      [
        'recover',
        '--into',
        into,
        ...args,
        ...box.sets,
        '--set',
        'backup.method=netfs',
        '--set',
        `backup.url=${url}`,
      ],
      { env: box.env },
    );

  beforeAll(async () => {
    makeTree(tree);
    plainId = await makeBackup(tree, plainUrl);
    await makeBackup(tree, secretUrl, KEY);
  });

  it('restores the files identical to the backed-up tree', async () => {
    const into = join(box.dir, 'restored');
    const run = await recover(into, ['--unattended']);
    expect(run.all).toContain(`backup ${plainId}`);
    expect(run.exitCode, run.all).toBe(0);
    expect(describeTree(into)).toEqual(describeTree(tree));
    // A rehearsal is no system: no relabel flag, no log copied into it.
    expect(existsSync(join(into, 'var', 'log', 'lifeboat'))).toBe(false);
  });

  it('never restores over the running system: a symlink to /, or a directory that holds files', async () => {
    const link = join(box.dir, 'rootlink');
    symlinkSync('/', link);
    const viaLink = await recover(link, ['--unattended']);
    expect(viaLink.exitCode, viaLink.all).toBe(2);
    expect(viaLink.stderr).toContain(`--into ${link} (which is /): that is the running system`);
    // A directory someone uses (/root, /opt, /srv alike): refused unless asked for by flag.
    const used = join(box.dir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'notes.txt'), 'mine\n');
    const refused = await recover(used, ['--unattended']);
    expect(refused.exitCode, refused.all).toBe(2);
    expect(refused.stderr).toContain(
      `--into ${used} holds 1 entries lifeboat did not restore there`,
    );
    expect(readdirSync(used)).toEqual(['notes.txt']);
    const asked = await recover(used, ['--unattended', '--into-nonempty']);
    expect(asked.exitCode, asked.all).toBe(0);
    expect(readFileSync(join(used, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(used, 'etc', 'hostname'), 'utf8')).toBe('protected\n');
  });

  it('a file:// backup.url that does not exist is reported, and not made', async () => {
    const missing = join(box.dir, 'no-backups-here');
    const run = await recover(
      join(box.dir, 'restored-missing'),
      ['--unattended'],
      `file://${missing}`,
    );
    expect(run.exitCode, run.all).toBe(1);
    expect(run.stderr).toContain(`there is no directory ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a corrupt archive before anything is written into DIR', async () => {
    const url = `file://${join(box.dir, 'backups-corrupt')}`;
    const id = await makeBackup(tree, url);
    const dir = join(box.dir, 'backups-corrupt', hostname(), id);
    const archive = readdirSync(dir).find((n) => n.startsWith('backup.tar')) as string;
    const bytes = readFileSync(join(dir, archive));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(join(dir, archive), bytes);
    const into = join(box.dir, 'restored-corrupt');
    const run = await recover(into, ['--unattended'], url);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/damaged/);
    // The hint names flags that exist.
    expect(run.stderr).toContain('(--backup-id ID)');
    expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
  });

  it('refuses a wrong key, and writes nothing', async () => {
    const into = join(box.dir, 'restored-wrong-key');
    const run = await recover(
      into,
      ['--unattended', '--set', 'backup.encryptionKey=not-the-key'],
      secretUrl,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('backup.encryptionKey does not decrypt');
    expect(run.all).not.toContain('not-the-key');
    expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
  });

  it('restores an encrypted backup with the right key', async () => {
    const into = join(box.dir, 'restored-secret');
    const run = await recover(
      into,
      ['--unattended', '--set', `backup.encryptionKey=${KEY}`],
      secretUrl,
    );
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).not.toContain(KEY);
    expect(describeTree(into)).toEqual(describeTree(tree));
  });

  it('unattended, with the key left out of the image, refuses in one sentence naming the key', async () => {
    // What the build writes when recovery.embedBackupKey is false.
    mkdirSync(box.etc, { recursive: true });
    writeFileSync(join(box.etc, 'backup-key-withheld'), 'backup.encryptionKey\n');
    try {
      const into = join(box.dir, 'restored-no-key');
      const run = await recover(into, ['--unattended'], secretUrl);
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr).toMatch(
        /backup\.encryptionKey is not in this rescue image; unattended recovery never asks/,
      );
      expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
    } finally {
      rmSync(join(box.etc, 'backup-key-withheld'));
    }
  });

  it('stops at a failing pre hook, naming its exit code, and says so on the rerun', async () => {
    const into = join(box.dir, 'restored-hook');
    const marker = join(box.dir, 'hook-saw-target');
    const hook = `echo "$LIFEBOAT_TARGET" >${marker}; exit 7`;
    const run = await recover(into, ['--unattended', '--set', `recovery.preScripts+=${hook}`]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('recovery.preScripts[0] exited 7');
    expect(readFileSync(marker, 'utf8').trim()).toBe(into);
    expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
    // The state is kept: the next run says what happened and completes.
    const rerun = await recover(into, ['--unattended']);
    expect(rerun.exitCode, rerun.all).toBe(0);
    expect(rerun.all).toMatch(
      /run 2: the last run failed in config \(recovery\.preScripts\[0\] exited 7.*\); nothing was done/,
    );
    expect(describeTree(into)).toEqual(describeTree(tree));
  });
});
