import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeTree, makeSampleTree } from '../support/backup.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { closedPort } from '../support/ports.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * The restic method with Debian's restic against real repositories on this machine: one in a
 * directory (file://) and one on OpenSSH's sshd on loopback (sftp://, the host key pinned by
 * backup.sftpHostKey). A tree with what a backup must keep (sparse file, xattrs, ACL, hard link,
 * fifo, odd owners) is backed up with `lifeboat mkbackuponly` and restored with `lifeboat recover
 * --into`, as a user runs them; the repository is read here with restic itself. The rescue
 * system's restic does the same in test/backup/restic-rescue.test.ts.
 */
const why =
  hostMissing() ??
  (existsSync('/usr/bin/restic') ? undefined : 'restic is not installed (ci/setup installs it)');

const PASSWORD = 'restic-repository-password-51c2';
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-restic-'));
const box = sandbox();
// recover --into outside a rescue system restores this machine's backups: the tree is named so.
const HOST = hostname();
let sshd: PrivateSshd | undefined;
afterAll(() => {
  sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const localRepo = join(scratch, 'repo');
const localUrl = `file://${localRepo}`;
const sftpRepo = join(scratch, 'sftp-repo');
const sftpUrl = () => `sftp://root@127.0.0.1:${sshd?.port}${sftpRepo}`;
const credentials = () => [
  '--set',
  `backup.sftpKey=${JSON.stringify(sshd?.clientKey)}`,
  '--set',
  `backup.sftpHostKey=${sshd?.hostKeyFingerprint}`,
];

function run(command: string, url: string, extra: string[] = [], password = PASSWORD) {
  return lifeboat(
    [
      command,
      ...box.sets,
      '--set',
      'backup.method=restic',
      '--set',
      `backup.url=${url}`,
      '--set',
      `backup.encryptionKey=${password}`,
      ...extra,
    ],
    { env: box.env },
  );
}
const backUp = (root: string, url: string, extra: string[] = [], password?: string) =>
  run('mkbackuponly', url, ['--root', root, ...extra], password);
const recoverInto = (into: string, url: string, extra: string[] = []) =>
  run('recover', url, ['--into', into, '--unattended', ...extra]);

/** The repository's snapshots as restic itself lists them. */
async function snapshots(repo: string): Promise<{ tags: string[]; short_id: string }[]> {
  const listed = await execa('restic', ['--repo', repo, 'snapshots', '--json', '--no-cache'], {
    env: { RESTIC_PASSWORD: PASSWORD },
  });
  return JSON.parse(listed.stdout);
}
const backupIds = async (repo: string) =>
  [
    ...new Set(
      (await snapshots(repo)).flatMap((s) =>
        s.tags.filter((t) => t.startsWith('lifeboat-backup=')).map((t) => t.slice(16)),
      ),
    ),
  ].sort();
const logsText = () =>
  readdirSync(join(box.dir, 'log'))
    .map((name) => readFileSync(join(box.dir, 'log', name), 'utf8'))
    .join('\n');

describeTier('host', why)('backup method restic (a directory, and sshd on loopback)', () => {
  const tree = join(scratch, 'tree');
  let acl = true;
  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    acl = makeSampleTree(tree).acl;
    writeFileSync(join(tree, 'etc', 'hostname'), `${HOST}\n`);
  }, 60_000);

  it('to a directory: makes the repository, backs up the tree, and recover --into restores it the same (owners, modes, xattrs, ACLs, hard links, holes aside)', async () => {
    const made = await backUp(tree, localUrl);
    expect(made.exitCode, made.all).toBe(0);
    expect(made.all).toContain(`restic: made a repository at ${localUrl}`);
    const [id] = await backupIds(localRepo);
    const into = join(scratch, 'restored-local');
    const restored = await recoverInto(into, localUrl);
    expect(restored.exitCode, restored.all).toBe(0);
    expect(restored.all).toContain(`backup ${id}`);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
    expect(`${made.all}\n${restored.all}\n${logsText()}`).not.toContain(PASSWORD);
  }, 180_000);

  it('backup.keep: older backups are forgotten and pruned, the newest keep+1 stay', async () => {
    writeFileSync(join(tree, 'data', 'new.txt'), 'new since the first backup\n');
    const second = await backUp(tree, localUrl);
    expect(second.exitCode, second.all).toBe(0);
    const [first] = await backupIds(localRepo);
    const third = await backUp(tree, localUrl, ['--set', 'backup.keep=1']);
    expect(third.exitCode, third.all).toBe(0);
    const left = await backupIds(localRepo);
    expect(left).toHaveLength(2);
    expect(left).not.toContain(first);
    // The earlier of the two, chosen by id, restores as it was made (new.txt was there then).
    const into = join(scratch, 'restored-earlier');
    const chosen = await recoverInto(into, localUrl, ['--backup-id', left[0] as string]);
    expect(chosen.exitCode, chosen.all).toBe(0);
    expect(existsSync(join(into, 'data', 'new.txt'))).toBe(true);
  }, 180_000);

  it('over sftp: backs up and restores the same, the host key pinned', async () => {
    const made = await backUp(tree, sftpUrl(), credentials());
    expect(made.exitCode, made.all).toBe(0);
    expect(await backupIds(sftpRepo)).toHaveLength(1);
    const into = join(scratch, 'restored-sftp');
    const restored = await recoverInto(into, sftpUrl(), credentials());
    expect(restored.exitCode, restored.all).toBe(0);
    expect(describeTree(into, { acl })).toEqual(describeTree(tree, { acl }));
  }, 180_000);

  it('a wrong password, another host key, a server that does not answer: one sentence, exit 1, nothing written or restored', async () => {
    const before = await backupIds(localRepo);
    const wrong = await backUp(tree, localUrl, [], 'not-the-password');
    expect(wrong.exitCode, wrong.all).toBe(1);
    expect(wrong.all).toContain('the repository password (backup.encryptionKey) is wrong');
    expect(wrong.all).not.toMatch(/internal error|\n\s+at /);
    expect(await backupIds(localRepo)).toEqual(before);

    const into = join(scratch, 'restored-refused');
    const refused = await recoverInto(into, sftpUrl(), [
      ...credentials(),
      '--set',
      'backup.sftpHostKey=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]);
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain('does not show the host key backup.sftpHostKey names');
    expect(existsSync(into)).toBe(false);

    const port = await closedPort();
    const silent = await backUp(tree, `sftp://root@127.0.0.1:${port}${sftpRepo}`, credentials());
    expect(silent.exitCode, silent.all).toBe(1);
    expect(silent.all).toContain('the server does not answer');
  }, 180_000);

  it('no password: refused before any work, naming backup.encryptionKey', async () => {
    const refused = await lifeboat(
      [
        'mkbackuponly',
        '--root',
        tree,
        ...box.sets,
        '--set',
        'backup.method=restic',
        '--set',
        `backup.url=${localUrl}`,
      ],
      { env: box.env },
    );
    expect(refused.exitCode, refused.all).toBe(2);
    expect(refused.all).toContain('backup.method restic needs backup.encryptionKey');
  });
});
