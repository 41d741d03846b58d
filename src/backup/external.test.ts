import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { externalMethod } from './external.js';
import { backupMethodFor } from './methods.js';

/**
 * backup.method external with real programs on this machine: tar stands for the site's backup
 * tool (as a site would call its vendor client), false and printf for a tool that fails and one
 * that talks.
 */
const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-external-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function configWith(sets: string[]) {
  const { config } = await loadConfig({
    configDir: join(scratch, 'no-etc'),
    cwd: scratch,
    facts,
    env: {},
    sets: ['backup.method=external', ...sets],
  });
  return config;
}

/** A command as --set takes it: a YAML list of JSON strings. */
const list = (args: string[]) => `[${args.map((a) => JSON.stringify(a)).join(', ')}]`;

describe('backup.method external', () => {
  /** A backup of the test's host tree as web1, as mkbackuponly asks for one. */
  const backUp = (config: Config, log: MemoryLog) =>
    externalMethod.backup({
      config,
      log,
      hostRoot: host,
      filesystems: ['/'],
      hostname: 'web1',
      alwaysExclude: [],
    });
  const store = join(scratch, 'store');
  const host = join(scratch, 'host');
  mkdirSync(join(host, 'etc'), { recursive: true });
  writeFileSync(join(host, 'etc', 'hostname'), 'web1\n');
  writeFileSync(join(host, 'etc', 'app.conf'), 'port=80\n');
  mkdirSync(store, { recursive: true });
  const tarSets = [
    `external.backup=${list(['tar', '-C', '{root}', '-cf', `${store}/{hostname}.tar`, '.'])}`,
    `external.restore=${list(['tar', '-C', '{target}', '-xf', `${store}/{hostname}.tar`])}`,
    `external.check=${list(['test', '-d', store])}`,
  ];

  it('backs up with the configured command and restores with the other, placeholders replaced', async () => {
    const config = await configWith(tarSets);
    const log = new MemoryLog();
    expect(await externalMethod.check({ config, log })).toBe('external backup (tar)');
    const made = await backUp(config, log);
    expect(made.id).toMatch(/^\d{8}T\d{6}Z$/);
    expect(existsSync(join(store, 'web1.tar'))).toBe(true);

    const target = join(scratch, 'target');
    mkdirSync(target);
    const record = await externalMethod.verify({ config, log, hostname: 'web1' });
    expect(record.id).toBe('latest');
    const result = await externalMethod.restore({ config, log, backup: record, target });
    expect(readFileSync(join(target, 'etc', 'app.conf'), 'utf8')).toBe('port=80\n');
    expect(result.entries).toBe(3);
  });

  it('the programs the rescue system runs are the host’s, for the capture to take', async () => {
    const config = await configWith(tarSets);
    expect(externalMethod.hostPrograms?.(config)).toEqual(['tar', 'test']);
  });

  it('runs no shell: an argument is passed as it is, and the output goes to the log', async () => {
    const marker = join(scratch, 'pwned');
    const config = await configWith([
      `external.backup=${list(['printf', '%s\\n', `$(touch ${marker})`, 'second line'])}`,
    ]);
    const log = new MemoryLog();
    await backUp(config, log);
    expect(existsSync(marker)).toBe(false);
    const said = log.lines.map((l) => l.message);
    expect(said).toContain(`printf: $(touch ${marker})`);
    expect(said).toContain('printf: second line');
  });

  it('a failing command is one sentence naming the key, the program, its exit code and last line', async () => {
    const config = await configWith([
      `external.backup=${list(['sh', '-c', 'echo "server refused the login" >&2; exit 12'])}`,
    ]);
    const error = await backUp(config, new MemoryLog()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toBe(
      'external.backup: sh exited 12: server refused the login',
    );
  });

  it('an exit code in external.ignoreExitCodes is a warning', async () => {
    const config = await configWith([
      `external.backup=${list(['false'])}`,
      'external.ignoreExitCodes=[1]',
    ]);
    const log = new MemoryLog();
    await backUp(config, log);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'external.backup: false exited 1, taken as success (external.ignoreExitCodes)',
    ]);
  });

  it('refuses before any work: an empty command, a program not here, a check that fails', async () => {
    const log = new MemoryLog();
    const empty = await externalMethod
      .check({ config: await configWith([]), log })
      .catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(UsageError);
    expect((empty as UsageError).message).toBe(
      'backup.method external needs external.backup: it is empty',
    );
    // The workflows' lookup refuses it before anything runs: a backup needs external.backup,
    // recovery and the rescue image external.restore.
    const lookup = async (use: 'backup' | 'restore' | 'rescue', sets: string[]) => {
      try {
        backupMethodFor(await configWith(sets), use);
        return 'accepted';
      } catch (error) {
        return (error as UsageError).message;
      }
    };
    expect(await lookup('backup', [])).toBe(
      'backup.method external needs external.backup: it is empty',
    );
    expect(await lookup('rescue', tarSets.slice(0, 1))).toBe(
      'backup.method external needs external.restore: it is empty',
    );
    expect(await lookup('restore', tarSets)).toBe('accepted');

    const absent = await externalMethod
      .check({
        config: await configWith([`external.backup=${list(['/opt/vendor/bin/save'])}`]),
        log,
      })
      .catch((e: unknown) => e);
    expect((absent as JobError).message).toBe(
      'external.backup: /opt/vendor/bin/save is not installed here',
    );

    const unreachable = await externalMethod
      .verify({
        config: await configWith([
          ...tarSets,
          `external.check=${list(['test', '-d', '/nonexistent'])}`,
        ]),
        log,
        hostname: 'web1',
      })
      .catch((e: unknown) => e);
    expect((unreachable as JobError).message).toBe('external.check: test exited 1');
  });

  it('an interrupt stops the command', async () => {
    const config = await configWith([`external.restore=${list(['sleep', '30'])}`]);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const error = await externalMethod
      .restore({
        config,
        log: new MemoryLog(),
        backup: {
          id: 'latest',
          hostname: 'web1',
          created: '',
          where: '',
          summary: '',
          selinux: false,
          details: undefined,
        },
        target: scratch,
        signal: controller.signal,
      })
      .catch((e: unknown) => e);
    expect((error as JobError).message).toBe('external.restore: sleep was stopped');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
