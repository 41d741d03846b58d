import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { builderImageStatus } from '../../src/engine/builder-image.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import { debianRoot } from '../support/fixtures.js';
import {
  containersOfPid,
  entries,
  mountsUnder,
  partialsUnder,
  processesMentioning,
  untilLine,
} from '../support/leftovers.js';
import { describeTier, engineMissing, hostMissing } from '../support/tiers.js';

/**
 * Ctrl-C (SIGINT) or a service stop (SIGTERM) at any long step of `lifeboat mkrescue` leaves
 * nothing behind: no container, no process, no mount, no temporary file, no build area, no
 * partial artifact or lock in --out. A SIGKILL leaves them all, and the next run (doctor, or the
 * next build into the same --out) removes them.
 *
 * One sandbox for the file, its cases in order: the case that first gets past the initrd base
 * layer fills the sandbox's cache with it, so the later ISO case starts from the cache and stops
 * within a minute and a half instead of three.
 */
const MINUTE = 60_000;
/** The fixture root is made by the global setup; here it is only looked up. */
const FIXTURE_TIMEOUT = 20 * MINUTE;

/** A progress line of the build step: `› [time] WHAT`. */
const progress = (what: string) => new RegExp(`^› \\[[^\\]]+\\] ${what}$`);
/**
 * The signal, sent as a user or a service manager would: execa's own kill() would follow a
 * SIGTERM with a SIGKILL after 5 s, cutting a slower cleanup short.
 */
function signalRun(run: { pid?: number | undefined }, signal: NodeJS.Signals): void {
  process.kill(run.pid as number, signal);
}

const PREP_BUILDER_IMAGE = /^❯ \[[^\]]+\] 050_builder_image$/;

describeTier('engine', await engineMissing())('interrupting mkrescue at each long step', () => {
  const box = sandbox();
  const work = join(box.dir, 'work');
  let engine: Engine;
  let root: string;

  beforeAll(async () => {
    engine = connectEngine();
    root = await debianRoot();
  }, FIXTURE_TIMEOUT);

  afterAll(() => {
    rmSync(box.dir, { recursive: true, force: true });
  });

  const mkrescue = (out: string, sets: string[] = []) =>
    lifeboat(['mkrescue', '--root', root, '--out', out, ...box.sets, ...sets], { env: box.env });

  /** Everything of a run that must not outlive it. */
  async function traces(pid: number, out: string) {
    return {
      containers: await containersOfPid(engine, pid),
      processes: processesMentioning(box.dir),
      mounts: mountsUnder(box.dir),
      runTemps: entries(join(work, 'tmp')),
      buildAreas: entries(join(work, 'build')),
      out: entries(out),
      partials: partialsUnder(work),
    };
  }

  const NOTHING = {
    containers: [],
    processes: [],
    mounts: [],
    runTemps: [],
    buildAreas: [],
    out: [],
    partials: [],
  };

  it.each([
    ['SIGINT', 'rescue root filesystem', 130, 2],
    // The host layer comes after the base layer is made and cached: the ISO case below uses it.
    ['SIGTERM', 'initrd host layer', 143, 6],
    ['SIGINT', 'ISO', 130, 6],
  ] as const)(
    '%s at "%s" exits %i and leaves nothing behind',
    async (signal, step, code, minutes) => {
      const out = join(box.dir, `out-${signal}-${step.replaceAll(' ', '-')}`);
      const run = mkrescue(out);
      await untilLine(run, progress(step), minutes * MINUTE);
      const pid = run.pid as number;
      // What the signal must take away is there when it comes: the checks below can see each.
      const before = await traces(pid, out);
      expect(before.containers).toHaveLength(1);
      expect(before.processes.length).toBeGreaterThan(0);
      expect(before.runTemps).toEqual([expect.stringMatching(`^run-${pid}-`)]);
      expect(before.buildAreas).toEqual([expect.stringMatching(`^mkrescue-${pid}-`)]);
      expect(before.out).toEqual([
        '.lifeboat-build.lock',
        expect.stringMatching(`^\\.partial-${pid}-`),
      ]);

      const signalled = Date.now();
      signalRun(run, signal);
      const result = await run;
      expect(result.exitCode, result.all).toBe(code);
      // Within the cleanup's own limit (60 s, src/util/exit-cleanup.ts): it did not give up.
      expect(Date.now() - signalled).toBeLessThan(60_000);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(await traces(pid, out)).toEqual(NOTHING);
    },
    8 * MINUTE,
  );

  it(
    'SIGINT during the capture (no container yet) exits 130 and leaves no build area',
    async () => {
      const out = join(box.dir, 'out-SIGINT-capture');
      const run = mkrescue(out);
      await untilLine(run, /^❯ \[[^\]]+\] 100_capture$/, 2 * MINUTE);
      const pid = run.pid as number;
      // The build area is where the capture of the host's files goes.
      expect(entries(join(work, 'build'))).toEqual([expect.stringMatching(`^mkrescue-${pid}-`)]);
      signalRun(run, 'SIGINT');
      const result = await run;
      expect(result.exitCode, result.all).toBe(130);
      expect(await traces(pid, out)).toEqual(NOTHING);
    },
    3 * MINUTE,
  );

  it(
    'SIGKILL during the initrd base layer leaves its traces; doctor and the next build sweep them',
    async () => {
      const out = join(box.dir, 'out-SIGKILL');
      const killed = mkrescue(out);
      await untilLine(killed, progress('initrd base layer.*'), 2 * MINUTE);
      const pid = killed.pid as number;
      signalRun(killed, 'SIGKILL');
      expect((await killed).signal).toBe('SIGKILL');

      // No cleanup ran: everything is still there.
      const left = await traces(pid, out);
      expect(left.containers).toHaveLength(1);
      expect(left.runTemps).toEqual([expect.stringMatching(`^run-${pid}-`)]);
      expect(left.buildAreas).toEqual([expect.stringMatching(`^mkrescue-${pid}-`)]);
      expect(left.out).toEqual([
        '.lifeboat-build.lock',
        expect.stringMatching(`^\\.partial-${pid}-`),
      ]);

      // doctor sweeps what it knows of: containers, build areas, temporary directories.
      const doctor = await lifeboat(['doctor', ...box.sets], { env: box.env });
      expect(doctor.stdout).toMatch(/leftovers\s+removed what killed runs left: 1 build area\(s\)/);
      expect(doctor.stdout).toContain('1 container(s)');
      const swept = await traces(pid, out);
      expect({ ...swept, out: [] }).toEqual(NOTHING);

      // The next build into the same --out takes the dead lock over and removes the staging area.
      const next = mkrescue(out);
      await untilLine(next, progress('rescue root filesystem'), 2 * MINUTE);
      const nextPid = next.pid as number;
      expect(entries(out)).toEqual([
        '.lifeboat-build.lock',
        expect.stringMatching(`^\\.partial-${nextPid}-`),
      ]);
      signalRun(next, 'SIGINT');
      expect((await next).exitCode).toBe(130);
      expect(await traces(nextPid, out)).toEqual(NOTHING);
    },
    6 * MINUTE,
  );

  it(
    'SIGINT while the builder image is being built removes its build container, tags nothing',
    async () => {
      // A base image of its own (the real one plus a label): the builder image's tag changes with
      // it, so its build starts, while the real builder image (the cache) is left alone.
      const base = `lifeboat-test-base/interrupt:${randomBytes(4).toString('hex')}`;
      await execa('docker', ['build', '--quiet', '--tag', base, '-'], {
        input: `FROM lifeboat-base/debian:bookworm\nLABEL org.lifeboat.test=${base}\n`,
      });
      try {
        const buildContainers = async () =>
          (await engine.docker.listContainers({ all: true, filters: { ancestor: [base] } })).map(
            (c) => c.Id,
          );
        const out = join(box.dir, 'out-builder');
        const run = mkrescue(out, ['--set', `builder.baseImage=${base}`]);
        await untilLine(run, PREP_BUILDER_IMAGE, MINUTE);
        // The build's first RUN is under way once its container exists.
        const started = Date.now();
        while ((await buildContainers()).length === 0) {
          if (Date.now() - started > MINUTE)
            throw new Error('the builder image build never started');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const pid = run.pid as number;
        signalRun(run, 'SIGINT');
        const result = await run;
        expect(result.exitCode, result.all).toBe(130);
        // The engine cancels the build when lifeboat's connection closes, and removes the build's
        // container itself (forcerm) a moment later.
        await expect.poll(buildContainers, { timeout: 15_000, interval: 250 }).toEqual([]);
        const status = await builderImageStatus({
          engine,
          imagesDir: join(ROOT, 'images'),
          name: 'debian-bookworm',
          baseImage: base,
        });
        expect(status.present).toBe(false);
        expect(await traces(pid, out)).toEqual(NOTHING);
      } finally {
        await engine.docker
          .getImage(base)
          .remove({ force: true })
          .catch(() => undefined);
        // The build's finished steps stay as the engine's cache, children of this test's base
        // (they inherit its label): of no use once the base is gone.
        await engine.docker.pruneImages({ filters: { label: [`org.lifeboat.test=${base}`] } });
      }
    },
    3 * MINUTE,
  );
});

describeTier('host', hostMissing())('interrupting recover --into during the restore', () => {
  const box = sandbox();
  const work = join(box.dir, 'work');

  afterAll(() => {
    rmSync(box.dir, { recursive: true, force: true });
  });

  it(
    'SIGINT mid-restore exits 130, leaves no process or temporary file, and the state says it did not finish',
    async () => {
      // recover --into looks for this machine's backups: the tree is named after it.
      const tree = join(box.dir, 'tree');
      mkdirSync(join(tree, 'etc'), { recursive: true });
      writeFileSync(join(tree, 'etc', 'hostname'), `${hostname()}\n`);
      // Enough random bytes (encrypted: gpg is one more process to stop) that the restore is
      // still writing when the signal comes.
      execFileSync('sh', ['-c', 'head -c 600M /dev/urandom >"$1"', 'sh', join(tree, 'big.bin')]);
      const backup = [
        ...box.sets,
        '--set',
        'backup.method=netfs',
        '--set',
        `backup.url=file://${join(box.dir, 'backups')}`,
        '--set',
        'backup.encryptionKey=interrupt-restore-key',
      ];
      const made = await lifeboat(
        ['mkbackuponly', '--root', tree, ...backup, '--set', 'backup.compression=none'],
        { env: box.env },
      );
      expect(made.exitCode, made.all).toBe(0);

      const into = join(box.dir, 'restored');
      const run = lifeboat(['recover', '--into', into, '--unattended', ...backup], {
        env: box.env,
      });
      await untilLine(run, /^❯ \[[^\]]+\] restore$/, 3 * MINUTE);
      // The restore is under way once the big file is being written.
      const started = Date.now();
      while (!existsSync(join(into, 'big.bin'))) {
        if (Date.now() - started > MINUTE) throw new Error('the restore never wrote big.bin');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(processesMentioning(box.dir).length).toBeGreaterThan(1);
      signalRun(run, 'SIGINT');
      const result = await run;
      expect(result.exitCode, result.all).toBe(130);
      expect(result.stdout).not.toMatch(/bytes in .* s into /);
      expect(processesMentioning(box.dir)).toEqual([]);
      expect(mountsUnder(box.dir)).toEqual([]);
      expect(entries(join(work, 'tmp'))).toEqual([]);
      expect(partialsUnder(work)).toEqual([]);
      // What was written stays (a rerun overwrites it); the state tells a rerun it did not finish.
      const state = JSON.parse(readFileSync(join(work, 'recover', 'state.json'), 'utf8'));
      expect(state.completed).toBeUndefined();
      expect(Object.keys(state.done)).not.toContain('restore');
    },
    5 * MINUTE,
  );
});
