import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDestination } from '../backup/destination.js';
import type { MountDestination } from '../backup/destination-mount.js';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { withBackupKey } from './backup-key.js';
import { rescueRecoveryFiles } from './rescue-config.js';

const HOST_URL = 'cifs://admin:nas-Pa%40ss@nas.example.org/backups/site';
const STRIPPED_URL = 'cifs://admin@nas.example.org/backups/site';

const savedConfigDir = process.env.LIFEBOAT_CONFIG_DIR;
/** The rescue systems' directories, removed after each test. */
const made: string[] = [];
afterEach(() => {
  if (savedConfigDir === undefined) delete process.env.LIFEBOAT_CONFIG_DIR;
  else process.env.LIFEBOAT_CONFIG_DIR = savedConfigDir;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A rescue system made for a host whose backup.url has a password: the build's files in a fresh
 * /etc/lifeboat (LIFEBOAT_CONFIG_DIR), and the configuration the rescue system's lifeboat loads,
 * with `sets` given on its command line.
 */
async function rescueSystem(hostSets: string[], sets: string[] = []) {
  const host = await loadConfig({
    configDir: '/nonexistent',
    sets: ['backup.method=netfs', `backup.url=${HOST_URL}`, ...hostSets],
  });
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-key-'));
  made.push(dir);
  const etc = join(dir, 'etc', 'lifeboat');
  for (const file of rescueRecoveryFiles(host.config)) {
    const path = join(etc, file.path.replace(/^etc\/lifeboat\//, ''));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.mode });
  }
  process.env.LIFEBOAT_CONFIG_DIR = etc;
  return (await loadConfig({ configDir: etc, sets })).config;
}

describe('a backup.url password the rescue image was made without', () => {
  it('is asked for without echo, and the destination logs in with what was typed', async () => {
    const config = await rescueSystem([]);
    expect(config.backup.url).toBe(STRIPPED_URL);
    const asked: string[] = [];
    const log = new MemoryLog();
    const keyed = await withBackupKey(config, {
      unattended: false,
      askSecret: async (question) => {
        asked.push(question);
        return 'typed@pw';
      },
      log,
    });
    expect(asked).toEqual([`password for backup.url ${STRIPPED_URL}: `]);
    const spec = (openDestination(keyed, log) as MountDestination).spec;
    expect(spec).toMatchObject({ source: '//nas.example.org/backups', user: 'admin' });
    expect(spec.password).toBe('typed@pw');
    // A secret from then on, as typed and as the URL writes it.
    log.info(`tried ${keyed.backup.url} with typed@pw`);
    expect(log.lines.at(-1)?.message).toBe(
      'tried cifs://admin:<redacted>@nas.example.org/backups/site with <redacted>',
    );
  });

  it('refuses unattended recovery in one sentence that names backup.url and how to give it', async () => {
    const config = await rescueSystem([]);
    const error = await withBackupKey(config, {
      unattended: true,
      askSecret: async () => 'never asked',
      log: new MemoryLog(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      `the password of backup.url ${STRIPPED_URL} is not in this rescue image; unattended recovery never asks for it`,
    );
    expect((error as UsageError).hint).toContain(
      '--set backup.url=cifs://admin:PASSWORD@nas.example.org/backups/site',
    );
    expect((error as UsageError).hint).toContain('recovery.embedBackupKey: true');
  });

  it('is not asked for when --set gives it, or another destination, or the image has it', async () => {
    const never = {
      unattended: true,
      askSecret: async (): Promise<string> => {
        throw new Error('asked');
      },
      log: new MemoryLog(),
    };
    const given = await rescueSystem([], [`backup.url=${HOST_URL}`]);
    expect((await withBackupKey(given, never)).backup.url).toBe(HOST_URL);
    const elsewhere = await rescueSystem([], ['backup.url=nfs://other.example.org/exports']);
    expect((await withBackupKey(elsewhere, never)).backup.url).toBe(
      'nfs://other.example.org/exports',
    );
    const embedded = await rescueSystem(['recovery.embedBackupKey=true']);
    expect((await withBackupKey(embedded, never)).backup.url).toBe(HOST_URL);
  });

  it('is asked for before the backup key, both withheld', async () => {
    const config = await rescueSystem(['backup.encryptionKey=host-key']);
    const asked: string[] = [];
    const keyed = await withBackupKey(config, {
      unattended: false,
      askSecret: async (question) => {
        asked.push(question);
        return asked.length === 1 ? 'typed-pw' : 'typed-key';
      },
      log: new MemoryLog(),
    });
    expect(asked[0]).toMatch(/^password for backup\.url /);
    expect(asked[1]).toMatch(/^backup\.encryptionKey /);
    expect(keyed.backup).toMatchObject({
      url: 'cifs://admin:typed-pw@nas.example.org/backups/site',
      encryptionKey: 'typed-key',
    });
  });
});
