import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryLog } from '../../src/log/log.js';
import { pxeOutput } from '../../src/outputs/pxe.js';
import { uploadPxeTree } from '../../src/outputs/pxe-upload.js';
import { toolsMissing } from '../support/backup.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier } from '../support/tiers.js';
import { configWith } from './media-output.js';

/**
 * pxe.url: a host's PXE tree uploaded into a TFTP server's tree that other hosts and the site
 * share, through file:// and through sftp:// (curl against OpenSSH's sshd on loopback). The
 * server already has its own default menu, a file of its own for one MAC, another host's link,
 * and a link of this host's for a MAC the host no longer has.
 */
const MAC = (n: number) => `01-52-54-00-4c-42-0${n}`;

/** A host's tree as make-pxe makes it (pxe.hostDirectory: kernel and initrd in db1/). */
function hostTree(dir: string, kernel: string, macs: number[]): string {
  const file = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text, { mode: 0o644 });
  };
  file('db1/db1.kernel', kernel);
  file('db1/db1.initrd', `initrd of ${kernel}`);
  for (const loader of ['pxelinux.0', 'ldlinux.c32', 'menu.c32', 'libutil.c32', 'libcom32.c32'])
    file(loader, `lifeboat's ${loader}`);
  file('grubnetx64.efi', "lifeboat's GRUB");
  file('lifeboat.ipxe', "lifeboat's iPXE script");
  file('pxelinux.cfg/default', "lifeboat's default: local disk");
  file('grub/grub.cfg', "lifeboat's default: exit");
  file('pxelinux.cfg/lifeboat-db1', `LINUX db1/db1.kernel (${kernel})`);
  file('grub/lifeboat-db1.cfg', `linux db1/db1.kernel (${kernel})`);
  file('ipxe/lifeboat-db1.ipxe', `kernel ../db1/db1.kernel (${kernel})`);
  for (const n of macs) {
    symlinkSync('lifeboat-db1', join(dir, 'pxelinux.cfg', MAC(n)));
    symlinkSync('lifeboat-db1.cfg', join(dir, 'grub', `grub.cfg-${MAC(n)}`));
    symlinkSync('lifeboat-db1.ipxe', join(dir, 'ipxe', `${MAC(n)}.ipxe`));
  }
  return dir;
}

/** The server's tree before lifeboat's first upload. */
function siteTree(dir: string): string {
  mkdirSync(join(dir, 'pxelinux.cfg'), { recursive: true });
  writeFileSync(join(dir, 'pxelinux.cfg', 'default'), "the site's own default menu");
  writeFileSync(join(dir, 'pxelinux.cfg', MAC(4)), "the site's own menu for this MAC");
  writeFileSync(join(dir, 'pxelinux.cfg', 'lifeboat-web1'), 'web1 menu');
  symlinkSync('lifeboat-web1', join(dir, 'pxelinux.cfg', MAC(3)));
  symlinkSync('lifeboat-web1', join(dir, 'pxelinux.cfg', MAC(5)));
  // An earlier build of db1's, when it had a card with MAC 2.
  writeFileSync(join(dir, 'pxelinux.cfg', 'lifeboat-db1'), 'the old db1 menu');
  symlinkSync('lifeboat-db1', join(dir, 'pxelinux.cfg', MAC(2)));
  return dir;
}

const text = (log: MemoryLog) => log.lines.map((l) => `${l.level}: ${l.message}`).join('\n');
const mode = (path: string) => (lstatSync(path).mode & 0o777).toString(8);
const linkOf = (path: string) => (lstatSync(path).isSymbolicLink() ? readlinkSync(path) : 'file');

async function scenario(root: string, url: string, sets: string[]): Promise<MemoryLog> {
  const server = siteTree(join(root, 'server'));
  // db1 now has MACs 1, 3 (web1's old card, moved to db1) and 4 (the site's own file).
  const tree = hostTree(join(root, 'tree-1'), 'kernel 1', [1, 3, 4]);
  const log = new MemoryLog();
  const where = await uploadPxeTree({
    config: await configWith([`pxe.url=${url}`, ...sets]),
    tree,
    log,
  });
  expect(where).toBe(url);

  // This host's files: its bytes, readable by the TFTP server's user.
  expect(readFileSync(join(server, 'db1', 'db1.kernel'), 'utf8')).toBe('kernel 1');
  expect(mode(join(server, 'db1', 'db1.kernel'))).toBe('644');
  expect(mode(join(server, 'db1'))).toBe('755');
  expect(readFileSync(join(server, 'pxelinux.cfg', 'lifeboat-db1'), 'utf8')).toContain('kernel 1');
  expect(mode(join(server, 'pxelinux.cfg', 'lifeboat-db1'))).toBe('644');
  // The loaders where there were none; the site's default menu kept.
  expect(readFileSync(join(server, 'pxelinux.0'), 'utf8')).toBe("lifeboat's pxelinux.0");
  expect(readFileSync(join(server, 'pxelinux.cfg', 'default'), 'utf8')).toBe(
    "the site's own default menu",
  );
  expect(readFileSync(join(server, 'grub', 'grub.cfg'), 'utf8')).toBe("lifeboat's default: exit");
  // Links: made, taken over from web1, a site's file left alone and said.
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(1)))).toBe('lifeboat-db1');
  expect(linkOf(join(server, 'grub', `grub.cfg-${MAC(1)}`))).toBe('lifeboat-db1.cfg');
  expect(linkOf(join(server, 'ipxe', `${MAC(1)}.ipxe`))).toBe('lifeboat-db1.ipxe');
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(3)))).toBe('lifeboat-db1');
  expect(text(log)).toContain(`pxelinux.cfg/${MAC(3)} pointed to lifeboat-web1`);
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(4)))).toBe('file');
  expect(text(log)).toMatch(new RegExp(`pxelinux.cfg/${MAC(4)} on the server is a file`));
  // db1's old link stays, named, unless asked; web1's other link is web1's.
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(2)))).toBe('lifeboat-db1');
  expect(text(log)).toMatch(/pxelinux.cfg\/01-52-54-00-4c-42-02 still give .* pxe.removeOldLinks/);
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(5)))).toBe('lifeboat-web1');

  // The next build, asked to remove old links: MAC 2's goes, the rest is the new build's.
  const next = hostTree(join(root, 'tree-2'), 'kernel 2', [1, 3]);
  const log2 = new MemoryLog();
  await uploadPxeTree({
    config: await configWith([`pxe.url=${url}`, 'pxe.removeOldLinks=true', ...sets]),
    tree: next,
    log: log2,
  });
  expect(readFileSync(join(server, 'db1', 'db1.kernel'), 'utf8')).toBe('kernel 2');
  expect(readdirSync(join(server, 'pxelinux.cfg')).sort()).toEqual(
    [MAC(1), MAC(3), MAC(4), MAC(5), 'default', 'lifeboat-db1', 'lifeboat-web1'].sort(),
  );
  expect(text(log2)).toContain(`removed the old links pxelinux.cfg/${MAC(2)}`);
  expect(linkOf(join(server, 'pxelinux.cfg', MAC(5)))).toBe('lifeboat-web1');
  // No partial upload is left behind.
  const partials = (dir: string): string[] =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((p) => p.includes('.partial'));
  expect(partials(server)).toEqual([]);
  return log2;
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-pxe-upload-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('file://: uploads into a shared TFTP tree, keeps what the site owns, moves and removes links as asked', async () => {
  const dir = join(root, 'file');
  await scenario(dir, `file://${join(dir, 'server')}`, []);
});

it('pxe.url must name a tree a server serves: a usb:// URL is refused before any work, naming the key', async () => {
  const refused = pxeOutput.check(await configWith(['pxe.url=usb:///dev/disk/by-label/X/tftp']));
  expect(refused).toEqual([expect.stringMatching(/^output pxe: pxe.url must be file:\/\/\/dir/)]);
  expect(pxeOutput.check(await configWith([`pxe.url=file://${tmpdir()}`]))).toEqual([]);
});

const missing = toolsMissing(['sshd', 'ssh-keygen', 'curl']);
describeTier('fixture', missing)('pxe.url sftp:// (curl against a private sshd)', () => {
  let sshd: PrivateSshd;
  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(root, 'sshd-')));
  });
  afterAll(() => sshd?.stop());

  it('sftp://: the same upload, links read and made over SFTP, and the key never logged', async () => {
    const dir = join(root, 'sftp');
    const log = await scenario(dir, `sftp://root@127.0.0.1:${sshd.port}${join(dir, 'server')}`, [
      `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
      `backup.sftpHostKey=${JSON.stringify(sshd.hostKeyFingerprint)}`,
    ]);
    const keyLine = sshd.clientKey.split('\n')[1] ?? '';
    expect(keyLine.length).toBeGreaterThan(16);
    expect(text(log)).not.toContain(keyLine);
  });
});
