import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeTree, makeSampleTree } from '../support/backup.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { closedPort } from '../support/ports.js';
import { type PrivateRsyncd, startRsyncd } from '../support/rsyncd.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * The rsync method against real servers on this machine's loopback: OpenSSH's sshd (rsync over
 * ssh, the host key pinned by backup.sftpHostKey) and `rsync --daemon` with a password. A tree
 * with what a backup must keep (sparse file, xattrs, ACL, hard link, fifo, odd owners) is backed
 * up with `lifeboat mkbackuponly` and restored with `lifeboat recover --into`, as a user runs
 * them; the server's directories are read here directly. The rescue system's rsync does the same
 * in test/backup/methods-rescue.test.ts.
 */
const why =
  hostMissing() ??
  (existsSync('/usr/bin/rsync') ? undefined : 'rsync is not installed (ci/setup installs it)');

const PASSWORD = 'rsync-daemon-password-7f3a';
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-rsync-'));
const box = sandbox();
// recover --into outside a rescue system restores this machine's backups: the tree is named so.
const HOST = hostname();
let sshd: PrivateSshd | undefined;
let rsyncd: PrivateRsyncd | undefined;
afterAll(() => {
  sshd?.stop();
  rsyncd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const sshDir = join(scratch, 'ssh-server');
const sshUrl = () => `rsync://root@127.0.0.1:${sshd?.port}${sshDir}`;
const daemonUrl = (password = PASSWORD) =>
  `rsync://${rsyncd?.user}:${password}@127.0.0.1:${rsyncd?.port}::/backups/site`;
const credentials = () => [
  '--set',
  `backup.sftpKey=${JSON.stringify(sshd?.clientKey)}`,
  '--set',
  `backup.sftpHostKey=${sshd?.hostKeyFingerprint}`,
];

function run(command: string, url: string, extra: string[] = []) {
  return lifeboat(
    [command, ...box.sets, '--set', 'backup.method=rsync', '--set', `backup.url=${url}`, ...extra],
    { env: box.env },
  );
}
const backUp = (root: string, url: string, extra: string[] = []) =>
  run('mkbackuponly', url, ['--root', root, ...extra]);
const recoverInto = (into: string, url: string, extra: string[] = []) =>
  run('recover', url, ['--into', into, '--unattended', ...extra]);
/** The backup directories of HOST under a server directory, oldest first. */
const backupsIn = (dir: string) =>
  existsSync(join(dir, HOST)) ? readdirSync(join(dir, HOST)).sort() : [];
const logsText = () =>
  readdirSync(join(box.dir, 'log'))
    .map((name) => readFileSync(join(box.dir, 'log', name), 'utf8'))
    .join('\n');

describeTier('host', why)('backup method rsync (sshd and rsync --daemon on loopback)', () => {
  const tree = join(scratch, 'tree');
  let acl = true;
  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    rsyncd = await startRsyncd(join(scratch, 'rsyncd'), PASSWORD);
    acl = makeSampleTree(tree).acl;
    writeFileSync(join(tree, 'etc', 'hostname'), `${HOST}\n`);
  }, 60_000);

  it('over ssh: backs up the tree, and recover --into restores it the same (owners, modes, xattrs, ACLs, hard links, holes)', async () => {
    const made = await backUp(tree, sshUrl(), credentials());
    expect(made.exitCode, made.all).toBe(0);
    const [id] = backupsIn(sshDir);
    expect(readdirSync(join(sshDir, HOST, id as string)).sort()).toEqual(['backup.json', 'root']);
    const into = join(scratch, 'restored-ssh');
    const restored = await recoverInto(into, sshUrl(), credentials());
    expect(restored.exitCode, restored.all).toBe(0);
    expect(restored.all).toContain(`backup ${id}`);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
    // The 64 MiB sparse file stayed a hole.
    expect(statSync(join(into, 'data', 'sparse.img')).blocks * 512).toBeLessThan(1_048_576);
  }, 180_000);

  it('the next backup links every unchanged file to the one before; backup.keep removes whole older backups', async () => {
    appendFileSync(join(tree, 'etc', 'hostname'), '');
    writeFileSync(join(tree, 'data', 'new.txt'), 'new since the first backup\n');
    const second = await backUp(tree, sshUrl(), credentials());
    expect(second.exitCode, second.all).toBe(0);
    const [first, latest] = backupsIn(sshDir) as [string, string];
    expect(second.all).toContain(`unchanged files linked to ${first}`);
    const inode = (id: string) => statSync(join(sshDir, HOST, id, 'root', 'data', 'xattr.txt')).ino;
    expect(inode(latest)).toBe(inode(first));
    expect(existsSync(join(sshDir, HOST, latest, 'root', 'data', 'new.txt'))).toBe(true);

    const third = await backUp(tree, sshUrl(), [...credentials(), '--set', 'backup.keep=1']);
    expect(third.exitCode, third.all).toBe(0);
    expect(third.all).toContain(`retention: removed ${first}`);
    expect(backupsIn(sshDir)).toHaveLength(2);
    expect(backupsIn(sshDir)).not.toContain(first);
  }, 180_000);

  it('a backup changed on the server is refused by verify, before anything is restored', async () => {
    const latest = backupsIn(sshDir).at(-1) as string;
    // A file of the newest backup replaced (a new inode: the earlier backup's link is untouched).
    const victim = join(sshDir, HOST, latest, 'root', 'data', 'new.txt');
    rmSync(victim);
    writeFileSync(victim, 'tampered\n');
    const into = join(scratch, 'restored-tampered');
    const refused = await recoverInto(into, sshUrl(), credentials());
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain(
      `backup ${latest} of ${HOST} changed on the server since it was made`,
    );
    expect(existsSync(join(into, 'etc'))).toBe(false);
    // An earlier one is still good, chosen by id.
    const earlier = backupsIn(sshDir)[0] as string;
    const chosen = await recoverInto(into, sshUrl(), [...credentials(), '--backup-id', earlier]);
    expect(chosen.exitCode, chosen.all).toBe(0);
  }, 180_000);

  it('a server that shows another host key is refused before anything is written', async () => {
    const before = backupsIn(sshDir);
    const refused = await backUp(tree, sshUrl(), [
      ...credentials(),
      '--set',
      'backup.sftpHostKey=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]);
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain('does not show the host key backup.sftpHostKey names');
    expect(backupsIn(sshDir)).toEqual(before);
  }, 180_000);

  it('to an rsync daemon: backs up and restores the same; the password never reaches a log or the output', async () => {
    const made = await backUp(tree, daemonUrl());
    expect(made.exitCode, made.all).toBe(0);
    const moduleDir = join((rsyncd as PrivateRsyncd).dir, 'site');
    expect(backupsIn(moduleDir)).toHaveLength(1);
    const into = join(scratch, 'restored-daemon');
    const restored = await recoverInto(into, daemonUrl());
    expect(restored.exitCode, restored.all).toBe(0);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
    expect(`${made.all}\n${restored.all}\n${logsText()}`).not.toContain(PASSWORD);
  }, 180_000);

  it('a wrong password, and a server that does not answer: one sentence, exit 1, nothing written', async () => {
    const moduleDir = join((rsyncd as PrivateRsyncd).dir, 'site');
    const before = backupsIn(moduleDir);
    const wrong = await backUp(tree, daemonUrl('not-the-password'));
    expect(wrong.exitCode, wrong.all).toBe(1);
    expect(wrong.all).toContain('the server refused the login');
    expect(wrong.all).not.toMatch(/internal error|\n\s+at /);
    expect(backupsIn(moduleDir)).toEqual(before);

    const port = await closedPort();
    const silent = await backUp(tree, `rsync://lifeboat@127.0.0.1:${port}::/backups/site`);
    expect(silent.exitCode, silent.all).toBe(1);
    expect(silent.all).toContain('the server does not answer');
  }, 180_000);
});
