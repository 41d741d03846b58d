import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extract, pack } from 'tar-stream';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ensureBuilderImage } from '../../src/engine/builder-image.js';
import {
  listContainersByLabel,
  OWNER_LABEL,
  RUN_ID,
  removeTrackedContainers,
  runContainer,
  withContainer,
} from '../../src/engine/container.js';
import { sweepKilledRuns } from '../../src/engine/container-registry.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { JobError } from '../../src/errors.js';
import { MemoryLog } from '../../src/log/log.js';
import { describeTier, engineMissing } from '../support/tiers.js';

const IMAGES_DIR = fileURLToPath(new URL('../../images', import.meta.url));
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describeTier('engine', await engineMissing())('containers (real engine)', () => {
  let engine: Engine;
  let builder: string;
  let scratch: string;

  beforeAll(async () => {
    engine = connectEngine();
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-containers-'));
    // The first build on a machine downloads the media tools: minutes, not seconds.
    const image = await ensureBuilderImage({
      engine,
      imagesDir: IMAGES_DIR,
      name: 'debian-bookworm',
      baseImage: BASE_IMAGE,
      log: new MemoryLog(),
    });
    builder = image.tag;
  }, 15 * 60_000);

  afterEach(async () => {
    // Every test must leave nothing behind under this run's owner label.
    expect(await listContainersByLabel(engine)).toEqual([]);
  });

  afterAll(async () => {
    await removeTrackedContainers();
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs a command in the builder image and brings back its exit code and output', async () => {
    const log = new MemoryLog();
    const result = await runContainer({
      engine,
      image: builder,
      cmd: ['xorriso', '-version'],
      log,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^xorriso 1\.\d+\.\d+/m);
    // Output lines reach the log as debug lines.
    expect(log.lines.some((l) => l.level === 'debug' && l.message.includes('[xorriso]'))).toBe(
      true,
    );
  });

  it('reports a failing command’s exit code and stderr', async () => {
    const result = await runContainer({
      engine,
      image: builder,
      cmd: ['sh', '-c', 'echo boom >&2; exit 3'],
      log: new MemoryLog(),
    });
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim()).toBe('boom');
    expect(result.stdout).toBe('');
  });

  it('passes env, working directory, labels and binds', async () => {
    const hostFile = join(scratch, 'in.txt');
    await writeFile(hostFile, 'from the host\n');
    const result = await runContainer({
      engine,
      image: BASE_IMAGE,
      cmd: ['sh', '-c', 'echo "$GREETING"; pwd; cat /mnt/in.txt; echo written > /out/x'],
      env: { GREETING: 'hello there' },
      workingDir: '/tmp',
      binds: [`${hostFile}:/mnt/in.txt:ro`, `${scratch}:/out`],
      labels: { 'org.lifeboat.test': 'yes', [OWNER_LABEL]: 'not-allowed' },
      log: new MemoryLog(),
    });
    expect(result).toEqual({
      exitCode: 0,
      stdout: 'hello there\n/tmp\nfrom the host\n',
      stderr: '',
    });
    expect(await readFile(join(scratch, 'x'), 'utf8')).toBe('written\n');
  });

  it('kills and removes a container that runs past its timeout', async () => {
    const error = await rejection(
      runContainer({
        engine,
        image: BASE_IMAGE,
        cmd: ['sleep', '60'],
        timeoutMs: 1_000,
        log: new MemoryLog(),
      }),
    );
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toContain('did not finish within 1 s');
  });

  it('runs several commands in one container, with stdin, env and working directory', async () => {
    await withContainer({ engine, image: BASE_IMAGE, log: new MemoryLog() }, async (c) => {
      const cat = await c.exec(['cat'], { stdin: 'piped in\n' });
      expect(cat).toEqual({ exitCode: 0, stdout: 'piped in\n', stderr: '' });

      const failed = await c.exec(['sh', '-c', 'echo boom >&2; exit 3']);
      expect(failed.exitCode).toBe(3);
      expect(failed.stderr.trim()).toBe('boom');

      const where = await c.exec(['sh', '-c', 'echo "$X $(pwd)"'], {
        env: { X: 'x-value' },
        workingDir: '/etc',
      });
      expect(where.stdout).toBe('x-value /etc\n');

      // A large output arrives whole.
      const big = await c.exec(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" a']);
      expect(big.stdout.length).toBe(3_000_000);
    });
  });

  it('copies files in and out with tar archives', async () => {
    await withContainer({ engine, image: BASE_IMAGE, log: new MemoryLog() }, async (c) => {
      const tar = pack();
      tar.entry({ name: 'hello.txt', mode: 0o640 }, 'hello, container\n');
      tar.entry({ name: 'sub/deeper.txt' }, 'deeper\n');
      tar.finalize();
      // The target directory does not exist yet: putArchive makes it.
      await c.putArchive('/work/in/here', tar);

      const listed = await c.exec(['sh', '-c', 'stat -c "%a %n" hello.txt; cat sub/deeper.txt'], {
        workingDir: '/work/in/here',
      });
      expect(listed.stdout).toBe('640 hello.txt\ndeeper\n');

      const back = await c.getArchive('/work/in/here/hello.txt');
      const files = new Map<string, string>();
      const ex = extract();
      const reading = (async () => {
        for await (const entry of ex) {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          files.set(entry.header.name, Buffer.concat(chunks).toString());
        }
      })();
      for await (const chunk of back) ex.write(chunk as Buffer);
      ex.end(undefined);
      await reading;
      expect(files.get('hello.txt')).toBe('hello, container\n');

      const missing = await rejection(c.getArchive('/no/such/path'));
      expect(missing).toBeInstanceOf(JobError);
    });
  });

  it('removes its container when the work throws, and passes the error on', async () => {
    let id = '';
    const error = await rejection(
      withContainer({ engine, image: BASE_IMAGE, log: new MemoryLog() }, async (c) => {
        id = c.id;
        expect((await listContainersByLabel(engine)).map((info) => info.Id)).toEqual([c.id]);
        throw new Error('forced failure');
      }),
    );
    expect((error as Error).message).toBe('forced failure');
    expect(id).not.toBe('');
    expect(await listContainersByLabel(engine, RUN_ID)).toEqual([]);
    const gone = await rejection(engine.docker.getContainer(id).inspect());
    expect((gone as { statusCode?: number }).statusCode).toBe(404);
  });

  it('names a missing image', async () => {
    const error = await rejection(
      runContainer({
        engine,
        image: 'lifeboat-test/no-such-image:never',
        cmd: ['true'],
        log: new MemoryLog(),
      }),
    );
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toContain('lifeboat-test/no-such-image:never');
  });

  it("removes the containers a killed run on this machine left, and no other machine's", async () => {
    const gone = spawnSync('true').pid as number;
    const make = (owner: string) =>
      engine.docker.createContainer({
        Image: builder,
        Cmd: ['sleep', 'infinity'],
        Labels: { [OWNER_LABEL]: owner },
      });
    const killed = await make(`lifeboat-${hostname()}-${gone}-aaaaaaaaaaaa`);
    const elsewhere = await make(`lifeboat-another-machine-${gone}-bbbbbbbbbbbb`);
    try {
      expect(await sweepKilledRuns(engine, new MemoryLog())).toBe(1);
      const after = await rejection(killed.inspect());
      expect((after as { statusCode?: number }).statusCode).toBe(404);
      expect((await elsewhere.inspect()).Id).toBe(elsewhere.id);
    } finally {
      await elsewhere.remove({ force: true });
      await killed.remove({ force: true }).catch(() => undefined);
    }
  });
});
