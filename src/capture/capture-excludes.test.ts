import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import { MemoryLog } from '../log/log.js';
import { captureHost } from './capture.js';

/**
 * lifeboat's output, work and log directories are never captured, whatever rescue.copyAsIs
 * covers: the next mkrescue would otherwise pack the last one's ISO into its rescue system.
 */
const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-excludes-'));
  for (const [path, text] of [
    ['srv/app/config.ini', 'kept'],
    ['srv/lifeboat/out/lifeboat.iso', 'the last ISO'],
    ['srv/lifeboat/work/build/rootfs.tar', 'a build area'],
    ['srv/lifeboat/log/run.log', 'a log'],
  ] as const) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('a capture', () => {
  it('leaves out the output, work and log directories inside the root, copyAsIs or not', async () => {
    const { config } = await loadConfig({
      configDir: join(root, 'no-etc'),
      cwd: root,
      facts,
      env: {},
      sets: [
        'rescue.copyAsIs=[/srv]',
        `output.dir=${join(root, 'srv/lifeboat/out')}`,
        `paths.workDir=${join(root, 'srv/lifeboat/work')}`,
        `paths.logDir=${join(root, 'srv/lifeboat/log')}`,
      ],
    });
    const { manifest } = await captureHost({
      root,
      config,
      log: new MemoryLog(),
      hostArch: 'x86_64',
    });
    const files = manifest.files.filter((f) => f.type === 'file').map((f) => f.path);
    expect(files).toContain('/srv/app/config.ini');
    expect(files.filter((p) => p.startsWith('/srv/lifeboat/'))).toEqual([]);
  });
});
