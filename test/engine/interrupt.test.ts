import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listContainersByLabel } from '../../src/engine/container.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { describeTier, engineMissing } from '../support/tiers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';

/**
 * A separate lifeboat-like process that holds a container open inside withContainer, so that a
 * real signal can be sent to it. Bundled with esbuild (packages stay external, resolved through a
 * node_modules link) because Node 20 cannot run TypeScript itself. Its imports are relative to
 * the repository root (the build's resolveDir), not to this file.
 */
const CHILD = `
import { connectEngine } from './src/engine/engine.ts';
import { installInterruptCleanup, RUN_ID, withContainer } from './src/engine/container.ts';
import { MemoryLog } from './src/log/log.ts';

installInterruptCleanup();
const engine = connectEngine();
setInterval(() => {}, 60_000); // stay alive until a signal comes
await withContainer({ engine, image: process.argv[2], log: new MemoryLog() }, async (c) => {
  process.stdout.write('ready ' + RUN_ID + ' ' + c.id + '\\n');
  await new Promise(() => {});
});
`;

describeTier('engine', await engineMissing())('interrupt cleanup (real engine)', () => {
  let engine: Engine;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    engine = connectEngine();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-interrupt-'));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    script = join(dir, 'child.mjs');
    await build({
      stdin: { contents: CHILD, resolveDir: ROOT, loader: 'ts', sourcefile: 'child.ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: script,
      logLevel: 'silent',
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'on %s removes the containers, then exits %i',
    async (signal, code) => {
      const child = execa('node', [script, BASE_IMAGE], { reject: false, timeout: 60_000 });
      // Read the stdout stream as it comes (the child never ends by itself).
      const ready = await new Promise<{ owner: string; id: string } | undefined>((resolve) => {
        let text = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /^ready (\S+) (\S+)$/m.exec(text);
          if (match?.[1] !== undefined && match[2] !== undefined) {
            resolve({ owner: match[1], id: match[2] });
          }
        });
        child.then(() => resolve(undefined));
      });
      if (ready === undefined)
        throw new Error(`the child never got ready: ${(await child).stderr}`);
      expect((await listContainersByLabel(engine, ready.owner)).map((c) => c.Id)).toEqual([
        ready.id,
      ]);

      child.kill(signal);
      const result = await child;
      expect(result.exitCode).toBe(code);
      expect(await listContainersByLabel(engine, ready.owner)).toEqual([]);
    },
    90_000,
  );
});
