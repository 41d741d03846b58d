import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostFacts } from '../../src/config/facts.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };

/** The effective configuration of a Debian 12 host with no configuration files and `sets`. */
export async function configWith(sets: string[]): Promise<Config> {
  const empty = mkdtempSync(join(tmpdir(), 'lifeboat-cfg-'));
  try {
    return (await loadConfig({ configDir: empty, cwd: empty, facts, env: {}, sets })).config;
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}
