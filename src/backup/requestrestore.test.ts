import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import { JobError, UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import type { BackupRecord } from './method.js';
import { backupMethodFor } from './methods.js';
import { requestRestoreMethod } from './requestrestore.js';

/**
 * backup.method requestrestore on this machine: the target is a temporary directory, and the
 * test plays the other side (the person or system that restores), watching for the ready file
 * and answering with the finished or abort file, or as the ready URL's HTTP server.
 */
const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-requestrestore-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function configWith(sets: string[]) {
  const { config } = await loadConfig({
    configDir: join(scratch, 'no-etc'),
    cwd: scratch,
    facts,
    env: {},
    sets: ['backup.method=requestrestore', 'requestrestore.pollSeconds=1', ...sets],
  });
  return config;
}

let targets = 0;
function freshTarget(): string {
  targets += 1;
  const target = join(scratch, `target-${targets}`);
  return mkdtempSync(`${target}-`);
}

const record: BackupRecord = {
  id: 'requested',
  hostname: 'web1',
  created: '',
  where: '',
  summary: '',
  selinux: false,
  details: undefined,
};

/** Waits until `file` exists (the method's ready signal), at most 10 s. */
async function appears(file: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(file); i += 1) await sleep(100);
  expect(existsSync(file), file).toBe(true);
}

describe('backup.method requestrestore', () => {
  it('says the disks are ready (file and message), and ends when the finished file appears', async () => {
    const target = freshTarget();
    const log = new MemoryLog();
    const restoring = requestRestoreMethod.restore({
      config: await configWith([]),
      log,
      backup: record,
      target,
    });
    const ready = join(target, '.lifeboat-restore-ready');
    await appears(ready);
    expect(JSON.parse(readFileSync(ready, 'utf8'))).toEqual({
      hostname: 'web1',
      target,
      finishedFile: join(target, '.lifeboat-restore-finished'),
      abortFile: join(target, '.lifeboat-restore-abort'),
    });
    expect(log.lines.map((l) => l.message)).toContain(
      `The disks are recreated and mounted at ${target}. Restore the files there, then create ${target}/.lifeboat-restore-finished (or ${target}/.lifeboat-restore-abort to stop the recovery).`,
    );
    // The other side restores, then says it is done.
    writeFileSync(join(target, 'restored.txt'), 'data\n');
    writeFileSync(join(target, '.lifeboat-restore-finished'), '');
    const result = await restoring;
    expect(result.entries).toBe(1);
    expect(existsSync(ready)).toBe(false);
    expect(existsSync(join(target, '.lifeboat-restore-finished'))).toBe(false);
  });

  it('the abort file stops the recovery in one sentence', async () => {
    const target = freshTarget();
    const restoring = requestRestoreMethod
      .restore({ config: await configWith([]), log: new MemoryLog(), backup: record, target })
      .catch((e: unknown) => e);
    await appears(join(target, '.lifeboat-restore-ready'));
    writeFileSync(join(target, '.lifeboat-restore-abort'), '');
    const error = await restoring;
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toBe(
      `the restore was given up: ${target}/.lifeboat-restore-abort appeared`,
    );
    expect(existsSync(join(target, '.lifeboat-restore-ready'))).toBe(false);
  });

  it('POSTs the ready signal to requestrestore.readyUrl; one that does not answer is a warning', async () => {
    const bodies: unknown[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        bodies.push({ auth: request.headers.authorization, body: JSON.parse(body) });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const target = freshTarget();
      const restoring = requestRestoreMethod.restore({
        config: await configWith([
          `requestrestore.readyUrl=http://ops:s3cret@127.0.0.1:${port}/ready`,
        ]),
        log: new MemoryLog(),
        backup: record,
        target,
      });
      await appears(join(target, '.lifeboat-restore-ready'));
      writeFileSync(join(target, '.lifeboat-restore-finished'), '');
      await restoring;
      expect(bodies).toEqual([
        {
          auth: `Basic ${Buffer.from('ops:s3cret').toString('base64')}`,
          body: expect.objectContaining({ hostname: 'web1', target }),
        },
      ]);
    } finally {
      server.close();
    }

    const target = freshTarget();
    const log = new MemoryLog();
    const restoring = requestRestoreMethod.restore({
      config: await configWith([`requestrestore.readyUrl=http://127.0.0.1:${port}/ready`]),
      log,
      backup: record,
      target,
    });
    await appears(join(target, '.lifeboat-restore-ready'));
    writeFileSync(join(target, '.lifeboat-restore-finished'), '');
    await restoring;
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringMatching(/^requestrestore\.readyUrl could not be reached/),
    ]);
  });

  it('requestrestore.command: exit 0 is a finished restore, anything else gives it up', async () => {
    const target = freshTarget();
    const done = await requestRestoreMethod.restore({
      config: await configWith(['requestrestore.command=[touch, restored-by-command]']),
      log: new MemoryLog(),
      backup: record,
      target,
    });
    expect(done.entries).toBe(1);
    expect(existsSync(join(target, 'restored-by-command'))).toBe(true);

    const error = await requestRestoreMethod
      .restore({
        config: await configWith(['requestrestore.command=["false"]']),
        log: new MemoryLog(),
        backup: record,
        target: freshTarget(),
      })
      .catch((e: unknown) => e);
    expect((error as JobError).message).toBe(
      'the restore was given up: requestrestore.command false exited 1',
    );
  });

  it('makes no backup: mkbackup and mkbackuponly are refused before any work', async () => {
    const config = await configWith([]);
    expect(() => backupMethodFor(config, 'backup')).toThrow(UsageError);
    expect(() => backupMethodFor(config, 'backup')).toThrow(
      'backup.method requestrestore makes no backup: at recovery someone else restores the files (use lifeboat mkrescue)',
    );
    expect(backupMethodFor(config, 'restore')).toBe(requestRestoreMethod);
  });
});
