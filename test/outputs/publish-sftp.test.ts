import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobError } from '../../src/errors.js';
import { MemoryLog } from '../../src/log/log.js';
import { publishMedia } from '../../src/outputs/publish.js';
import { toolsMissing } from '../support/backup.js';
import { closedPort } from '../support/ports.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier } from '../support/tiers.js';
import { ARTIFACTS, configWith, makeOutputDir, treeOf, withMode } from './media-output.js';

/**
 * output.url sftp:// for real: curl uploads to OpenSSH's sshd on 127.0.0.1 (test/support/sshd.ts),
 * logging in with backup.sftpKey and checking backup.sftpHostKey, as backups over sftp:// do.
 */
const missing = toolsMissing(['sshd', 'ssh-keygen', 'curl']);

let dir: string;
let sshd: PrivateSshd;
beforeAll(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-publish-sftp-'));
  sshd = await startSshd(mkdtempSync(join(dir, 'sshd-')));
});
afterAll(() => {
  sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function secrets(): string[] {
  return [
    `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
    `backup.sftpHostKey=${JSON.stringify(sshd.hostKeyFingerprint)}`,
  ];
}

describeTier('fixture', missing)('output.url sftp:// (curl against a private sshd)', () => {
  it('copies the media under <url>/<hostname>/ 0600, replaces them on the next build, and never logs the key', async () => {
    const remote = join(dir, 'media dir');
    const url = `sftp://root@127.0.0.1:${sshd.port}${encodeURI(remote)}`;
    const config = await configWith([`output.url=${JSON.stringify(url)}`, ...secrets()]);
    const log = new MemoryLog();

    const first = makeOutputDir(join(dir, 'first'));
    mkdirSync(join(first, 'capture', 'old', 'deeper'), { recursive: true });
    writeFileSync(join(first, 'capture', 'old', 'deeper', 'gone-next-time'), 'x\n');
    const where = await publishMedia({
      config,
      outDir: first,
      artifacts: ARTIFACTS,
      hostname: 'host-a',
      log,
    });
    expect(where).toBe(`${url}/host-a/`);
    expect(treeOf(join(remote, 'host-a'))).toEqual(withMode(treeOf(first), '600'));

    // The next build: new bytes, and a capture without old/: the copy is the new build's.
    const second = makeOutputDir(join(dir, 'second'));
    await publishMedia({ config, outDir: second, artifacts: ARTIFACTS, hostname: 'host-a', log });
    expect(treeOf(join(remote, 'host-a'))).toEqual(withMode(treeOf(second), '600'));
    expect(readdirSync(join(remote, 'host-a', 'capture')).sort()).toEqual([
      'files',
      'manifest.json',
    ]);
    expect(statSync(join(remote, 'host-a')).mode & 0o777).toBe(0o700);

    const logged = JSON.stringify(log.lines);
    for (const line of sshd.clientKey.split('\n').filter((l) => l.length > 16)) {
      expect(logged).not.toContain(line);
    }
    expect(logged).not.toContain('backup.url');
  }, 120_000);

  it('says in one sentence naming output.url that the server does not answer', async () => {
    const url = `sftp://root@127.0.0.1:${await closedPort()}/srv/media`;
    const config = await configWith([
      `output.url=${url}`,
      `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
    ]);
    const log = new MemoryLog();
    const out = makeOutputDir(join(dir, 'unreachable'));
    const error = await publishMedia({
      config,
      outDir: out,
      artifacts: ARTIFACTS,
      hostname: 'host-a',
      log,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toBe(
      `output.url ${url}: the server does not answer (connection refused)`,
    );
    // No host key configured: the warning names the key the user set.
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `output.url ${url}: backup.sftpHostKey is not set; curl trusts ~/.ssh/known_hosts, or any server when there is none`,
    ]);
  });
});
