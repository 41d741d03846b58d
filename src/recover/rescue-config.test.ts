import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { NETWORK_MODE_FILE, rescueRecoveryFiles, secretsInImage } from './rescue-config.js';

/** Writes the files into a fresh /etc/lifeboat and loads the configuration the rescue system sees. */
async function asRescueSees(files: ReturnType<typeof rescueRecoveryFiles>) {
  const root = mkdtempSync(join(tmpdir(), 'lifeboat-rescue-config-'));
  for (const file of files) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content);
  }
  try {
    return await loadConfig({ configDir: join(root, 'etc', 'lifeboat'), cwd: root });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const HOST_SETS = [
  'backup.method=netfs',
  'backup.url=nfs://backup.example.org/exports/lifeboat',
  'backup.encryptionKey=very-secret',
  'recovery.afterUnattended=poweroff',
  'recovery.postScripts+=echo done',
  'layout.exclude+=/dev/sdz',
  'tape.blockSize=262144',
  'output.methods=[iso,obdr]',
];

describe('the recovery configuration of the rescue image', () => {
  it('gives the rescue system the host’s backup, recovery, layout and tape sections and output methods, without the key', async () => {
    const host = await loadConfig({ configDir: '/nonexistent', sets: HOST_SETS });
    const files = rescueRecoveryFiles(host.config);
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['etc/lifeboat/site.yaml', 0o600],
      ['etc/lifeboat/network.mode', 0o644],
      ['etc/lifeboat/backup-key-withheld', 0o644],
    ]);
    expect(files[0]?.content).not.toContain('very-secret');
    const rescue = await asRescueSees(files);
    const { encryptionKey: _key, ...backup } = host.config.backup;
    expect(rescue.config.backup).toEqual(backup);
    expect(rescue.config.recovery).toEqual(host.config.recovery);
    expect(rescue.config.layout.exclude).toEqual(['/dev/sdz']);
    // A tape's blocks, and where its backup starts (after an OBDR tape's ISO).
    expect(rescue.config.tape).toEqual(host.config.tape);
    expect(rescue.config.output.methods).toEqual(['iso', 'obdr']);
    expect(rescue.layers.map((l) => l.kind)).toContain('site');
  });

  it('embeds the key only when recovery.embedBackupKey is true', async () => {
    const host = await loadConfig({
      configDir: '/nonexistent',
      sets: [...HOST_SETS, 'recovery.embedBackupKey=true'],
    });
    const files = rescueRecoveryFiles(host.config);
    expect(files.map((f) => f.path)).toEqual(['etc/lifeboat/site.yaml', NETWORK_MODE_FILE]);
    const rescue = await asRescueSees(files);
    expect(rescue.config.backup.encryptionKey).toBe('very-secret');
  });

  it('names the secrets the image will hold: none by default, the key when embedded, a root password hash', async () => {
    const secrets = async (sets: string[]) =>
      secretsInImage((await loadConfig({ configDir: '/nonexistent', sets })).config);
    expect(await secrets(HOST_SETS)).toEqual([]);
    expect(await secrets([...HOST_SETS, 'recovery.embedBackupKey=true'])).toEqual([
      'backup.encryptionKey',
    ]);
    expect(
      await secrets([
        'backup.url=cifs://user:pw@files.example.org/backups',
        'recovery.embedBackupKey=true',
        'ssh.rootPasswordHash=$6$salt$hash',
      ]),
    ).toEqual(['backup.url (its password)', 'ssh.rootPasswordHash']);
  });

  it('leaves URL passwords out unless recovery.embedBackupKey is true, and says which', async () => {
    const sets = [
      'backup.method=netfs',
      'backup.url=cifs://admin:share-PW@nas.example.org/backups/site',
      'recovery.notifyUrl=https://hook:notify-PW@notify.example.org/lifeboat',
    ];
    const host = await loadConfig({ configDir: '/nonexistent', sets });
    const files = rescueRecoveryFiles(host.config);
    for (const file of files) {
      expect(file.content).not.toContain('share-PW');
      expect(file.content).not.toContain('notify-PW');
    }
    const note = files.find((f) => f.path === 'etc/lifeboat/url-passwords-withheld');
    expect(note?.mode).toBe(0o600);
    expect(note?.content.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([
      'backup.url cifs://admin@nas.example.org/backups/site',
      'recovery.notifyUrl https://hook@notify.example.org/lifeboat',
    ]);
    const rescue = await asRescueSees(files);
    expect(rescue.config.backup.url).toBe('cifs://admin@nas.example.org/backups/site');
    expect(rescue.config.recovery.notifyUrl).toBe('https://hook@notify.example.org/lifeboat');

    const embedding = await loadConfig({
      configDir: '/nonexistent',
      sets: [...sets, 'recovery.embedBackupKey=true'],
    });
    const embedded = rescueRecoveryFiles(embedding.config);
    expect(embedded.map((f) => f.path)).toEqual(['etc/lifeboat/site.yaml', NETWORK_MODE_FILE]);
    expect((await asRescueSees(embedded)).config.backup.url).toBe(
      'cifs://admin:share-PW@nas.example.org/backups/site',
    );
  });

  it('is the same bytes for the same configuration', async () => {
    const a = await loadConfig({ configDir: '/nonexistent', sets: HOST_SETS });
    const b = await loadConfig({ configDir: '/nonexistent', sets: [...HOST_SETS].reverse() });
    expect(rescueRecoveryFiles(a.config)).toEqual(rescueRecoveryFiles(b.config));
  });

  /** The `mode` setting lines /init reads from the file (`mode WORD`, comments skipped). */
  async function modeLines(sets: string[]): Promise<string[]> {
    const host = await loadConfig({ configDir: '/nonexistent', sets });
    const file = rescueRecoveryFiles(host.config).find((f) => f.path === NETWORK_MODE_FILE);
    return (file?.content ?? '').split('\n').filter((line) => /^mode\b/.test(line));
  }

  it('tells the rescue system’s /init the network.mode, dhcp by default', async () => {
    expect(await modeLines([])).toEqual(['mode dhcp']);
    expect(await modeLines(['network.mode=static'])).toEqual(['mode static']);
    expect(await modeLines(['network.mode=none'])).toEqual(['mode none']);
  });
});
