import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { secretPaths } from '../../src/config/layer.js';
import { toolsMissing } from '../support/backup.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianRoot } from '../support/fixtures.js';
import { canariesIn, type Finding, searchTree } from '../support/secret-search.js';
import { describeTier, engineMissing } from '../support/tiers.js';

/**
 * The secrets canary: every secret key, and a password in each URL the rescue image carries, set
 * to a distinct string; a build (mkrescue) and a backup (mkbackuponly) of the example host; then
 * every file they left (the ISO and each file in it, the initrd unpacked, the manifest, the
 * capture, the logs, backup.json, the listing, the archive decrypted and decompressed) and the
 * console output are searched for each. Only what the configuration asked for may hold one: the
 * root password hash the rescue system's /etc/shadow (ssh.rootPasswordHash), and the rest its
 * /etc/lifeboat/site.yaml, and that only with recovery.embedBackupKey true.
 */
const tag = randomBytes(6).toString('hex');
const CANARIES = {
  'backup.encryptionKey': `canary-encryption-key-${tag}`,
  'backup.sftpKey': `canary-sftp-key-${tag}`,
  'ssh.rootPasswordHash': `canary-root-hash-${tag}`,
  'layout.luksKey': `canary-luks-key-${tag}`,
  'backup.url password': `canary-share-password-${tag}`,
  'recovery.notifyUrl password': `canary-notify-password-${tag}`,
};

/** A cifs:// backup.url: its password, with an escaped @, is the secret here; nothing mounts it. */
const SHARE_URL = `cifs://admin:p%40ss-${CANARIES['backup.url password']}@nas.invalid/backups/site`;

/** The secret keys: every key secretPaths() lists, so that a new one must be added here. */
const SECRET_SETS = [
  `backup.encryptionKey=${CANARIES['backup.encryptionKey']}`,
  `backup.sftpKey=${CANARIES['backup.sftpKey']}`,
  `ssh.rootPasswordHash=$6$canarysalt$${CANARIES['ssh.rootPasswordHash']}`,
  `layout.luksKey=${CANARIES['layout.luksKey']}`,
  `recovery.notifyUrl=https://hook:${CANARIES['recovery.notifyUrl password']}@notify.invalid/lifeboat`,
];

/** Where the rescue system's files are: in the ISO's zstd initrd, or a plain ramdisk's (faster). */
const ISO_INITRD = 'media/lifeboat.iso:/boot/initrd.img|zstd|cpio:';
const PLAIN_INITRD = 'media/initrd.img|cpio:';

const setFlags = (sets: string[]) => sets.flatMap((set) => ['--set', set]);
const sorted = (findings: Finding[]) =>
  findings.map((f) => `${f.where}: ${f.canary}`).sort((a, b) => a.localeCompare(b));

async function mkrescue(embed: boolean, sets: string[] = []) {
  const box = sandbox();
  const result = await lifeboat(
    [
      'mkrescue',
      '--root',
      await debianRoot(),
      '--out',
      join(box.dir, 'media'),
      ...box.sets,
      ...setFlags([
        'backup.method=netfs',
        `backup.url=${SHARE_URL}`,
        ...SECRET_SETS,
        `recovery.embedBackupKey=${embed}`,
        ...sets,
      ]),
    ],
    { env: box.env },
  );
  expect(result.exitCode, result.all).toBe(0);
  return { box, console: result.all };
}

describeTier(
  'engine',
  (await engineMissing()) ?? toolsMissing(['zstd', 'xz', 'gzip', 'cpio', 'gpg']),
)('secrets in what builds and backups leave', () => {
  it('has a canary for every secret key', () => {
    const keys = Object.keys(CANARIES).filter((name) => !name.endsWith(' password'));
    expect(keys.sort()).toEqual([...secretPaths()].sort());
  });

  it('recovery.embedBackupKey false: no artifact, log or console output holds a secret, but for the rescue system’s /etc/shadow', async () => {
    const { box, console: built } = await mkrescue(false);
    const backedUp = await lifeboat(
      [
        'mkbackuponly',
        '--root',
        await debianRoot(),
        ...box.sets,
        ...setFlags([
          'backup.method=netfs',
          `backup.url=file://${join(box.dir, 'backups')}`,
          ...SECRET_SETS,
        ]),
      ],
      { env: box.env },
    );
    expect(backedUp.exitCode, backedUp.all).toBe(0);

    const { findings, searched } = await searchTree(box.dir, CANARIES, {
      gpgKey: CANARIES['backup.encryptionKey'],
    });
    expect(canariesIn(built, CANARIES)).toEqual([]);
    expect(canariesIn(backedUp.all, CANARIES)).toEqual([]);
    expect(sorted(findings)).toEqual([`${ISO_INITRD}/etc/shadow: ssh.rootPasswordHash`]);

    // The search went everywhere: inside the ISO and its initrd, into the decrypted archive.
    expect(searched).toContain(`${ISO_INITRD}/etc/lifeboat/site.yaml`);
    expect(searched).toContain(`${ISO_INITRD}/etc/lifeboat/url-passwords-withheld`);
    expect(searched).toContain('media/manifest.json');
    expect(searched.some((w) => /^media\/capture\/./.test(w))).toBe(true);
    expect(searched.filter((w) => /^log\/lifeboat-.*\.log$/.test(w))).toHaveLength(2);
    for (const name of ['backup.json', 'backup.list', 'backup.tar.zst.gpg|gpg|zstd'])
      expect(searched.some((w) => w.startsWith('backups/') && w.endsWith(`/${name}`))).toBe(true);
  }, 600_000);

  it('recovery.embedBackupKey true: the secrets are in the rescue system’s site.yaml, and only there', async () => {
    // The ISO and the compressed initrd were searched above: an uncompressed ramdisk saves time.
    const { box, console: built } = await mkrescue(true, [
      'output.methods=[ramdisk]',
      'output.compression=none',
    ]);
    const { findings } = await searchTree(box.dir, CANARIES);
    expect(canariesIn(built, CANARIES)).toEqual([]);
    expect(sorted(findings)).toEqual(
      sorted([
        { where: `${PLAIN_INITRD}/etc/shadow`, canary: 'ssh.rootPasswordHash' },
        ...Object.keys(CANARIES)
          .filter((canary) => canary !== 'ssh.rootPasswordHash')
          .map((canary) => ({ where: `${PLAIN_INITRD}/etc/lifeboat/site.yaml`, canary })),
      ]),
    );
  }, 600_000);
});
