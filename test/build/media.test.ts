import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OWNER_LABEL } from '../../src/engine/container.js';
import { connectEngine } from '../../src/engine/engine.js';
import type { BuildManifest } from '../../src/media/build-manifest.js';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { initrdArchives, initrdMembers } from '../support/initrd.js';
import { describeTier, engineMissing } from '../support/tiers.js';

/**
 * `lifeboat build` as a user runs it: the example host root (the Debian fixture) captured, then
 * built into rescue media in the real builder container, twice, and booted in QEMU. What is
 * asserted is what a user relies on: the artifacts are there and private, the same inputs give
 * the same bytes, and bad inputs are refused before anything is written. That the media boot to
 * the rescue system is test/build/media-boot.test.ts's (a guest file: see guest-files.ts).
 */
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const BOTH = ['--set', 'output.methods=[iso, ramdisk]'];
const ARTIFACTS = ['cmdline.txt', 'initrd.img', 'lifeboat.iso', 'manifest.json', 'vmlinuz'];

const engineWhy = await engineMissing();
const fixture = await debianFixture();
const fixtureWhy = 'missing' in fixture ? fixture.missing : undefined;
const hostRoot = 'root' in fixture ? fixture.root : '';

const box = sandbox();
const capture = join(box.dir, 'capture');
const published = join(box.dir, 'published');

interface Built {
  out: string;
  manifest: BuildManifest;
  stdout: string;
}

async function build(name: string, extra: string[] = [], from = capture): Promise<Built> {
  const out = join(box.dir, name);
  const result = await lifeboat(
    ['build', '--capture', from, '--out', out, ...BOTH, ...box.sets, ...extra],
    { env: box.env },
  );
  if (result.exitCode !== 0) throw new Error(`lifeboat build ${name} failed:\n${result.all}`);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BuildManifest;
  return { out, manifest, stdout: result.stdout };
}

let captured: Promise<void> | undefined;
function captureOnce(): Promise<void> {
  captured ??= (async () => {
    const result = await lifeboat(
      ['capture', '--root', hostRoot, '--out', capture, ...box.sets, '--quiet'],
      { env: box.env },
    );
    if (result.exitCode !== 0) throw new Error(`lifeboat capture failed:\n${result.all}`);
  })();
  return captured;
}

const otherCapture = join(box.dir, 'capture-other');
/** A second host built with the same recipe: the drill's protected host, captured. */
async function captureOtherHost(): Promise<void> {
  const other = await debianFixture('drill');
  if ('missing' in other) throw new Error(other.missing);
  const result = await lifeboat(
    ['capture', '--root', other.root, '--out', otherCapture, ...box.sets, '--quiet'],
    { env: box.env },
  );
  if (result.exitCode !== 0)
    throw new Error(`lifeboat capture of the drill host failed:\n${result.all}`);
}

let first: Promise<Built> | undefined;
/** The build both tiers use: ISO and RAMDISK from the fixture's capture, epoch derived. */
function firstBuild(): Promise<Built> {
  first ??= captureOnce().then(() => build('first'));
  return first;
}

afterAll(() => {
  rmSync(box.dir, { recursive: true, force: true });
});

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const artifactHashes = (b: Built) =>
  Object.fromEntries(b.manifest.artifacts.map((a) => [a.name, a.sha256]));

/** What a build left behind in or beside `out`: staging areas and locks of a failed or killed build. */
const leftovers = () =>
  readdirSync(box.dir, { recursive: true, encoding: 'utf8' }).filter((name) =>
    /(^|\/)(\.partial-|\.lifeboat-build\.lock)/.test(name),
  );

describeTier('engine', engineWhy ?? fixtureWhy)(
  'lifeboat build (real engine, example host)',
  () => {
    let a: Built;
    let b: Built;
    let otherEpoch: Built;
    let otherHost: Built;

    beforeAll(async () => {
      a = await firstBuild();
      // Another directory, another moment: nothing of either may reach the bytes.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      b = await build('second', ['--set', `output.url=file://${published}`]);
      otherEpoch = await build('other-epoch', ['--set', 'sourceDateEpoch=1600000000']);
      // A second host: the example host with one more file, captured as a bundle of its own.
      otherHost = await captureOtherHost().then(() => build('other-host', [], otherCapture));
    }, 20 * 60_000);

    it('writes the kernel, initrd, kernel command line, ISO and manifest, each 0600', () => {
      expect(readdirSync(a.out).sort()).toEqual(ARTIFACTS);
      for (const name of ARTIFACTS) {
        expect(statSync(join(a.out, name)).mode & 0o777, name).toBe(0o600);
      }
      expect(leftovers()).toEqual([]);
      expect(readFileSync(join(a.out, 'cmdline.txt'), 'utf8')).toMatch(/console=ttyS0,115200n8/);
    });

    it('names every input in the manifest and the true sha256 and size of every artifact', async () => {
      expect(a.manifest.inputs).toMatchObject({
        captureDir: capture,
        lifeboatVersion: VERSION,
        recipe: null,
        builderImage: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        capture: expect.stringMatching(/^[0-9a-f]{64}$/),
        lifeboatBundle: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(a.manifest.inputs.sourceDateEpoch).toBeGreaterThan(1_600_000_000);
      for (const artifact of a.manifest.artifacts) {
        const file = join(a.out, artifact.name);
        const sum = await execa('sha256sum', [file]);
        expect(sum.stdout.split(' ')[0], artifact.name).toBe(artifact.sha256);
        expect(statSync(file).size).toBe(artifact.size);
      }
    });

    it('copies the finished media to output.url, under the captured host name', () => {
      // output.url is where the media go, not what they are: the second build's bytes are the
      // first's (the next test), and its copy is whole.
      const [host, ...others] = readdirSync(published);
      expect(others).toEqual([]);
      const copy = join(published, host ?? '');
      expect(readdirSync(copy).sort()).toEqual(ARTIFACTS);
      // By digest: a deep comparison of two 100 MB buffers would walk them key by key.
      for (const artifact of b.manifest.artifacts)
        expect(sha256File(join(copy, artifact.name)), artifact.name).toBe(artifact.sha256);
      expect(statSync(join(copy, 'lifeboat.iso')).mode & 0o777).toBe(0o600);
    });

    it('gives the same bytes for the same inputs, in another directory, later', () => {
      expect(artifactHashes(b)).toEqual(artifactHashes(a));
      expect(b.manifest.inputs).toEqual({ ...a.manifest.inputs });
    });

    it('gives other initrd and ISO bytes for another SOURCE_DATE_EPOCH (the kernel stays)', () => {
      const before = artifactHashes(a);
      const after = artifactHashes(otherEpoch);
      expect(otherEpoch.manifest.inputs.sourceDateEpoch).toBe(1_600_000_000);
      expect(after['initrd.img']).not.toBe(before['initrd.img']);
      expect(after['lifeboat.iso']).not.toBe(before['lifeboat.iso']);
      expect(after.vmlinuz).toBe(before.vmlinuz);
    });

    it('packs a zstd newc initrd under 100 MB that holds /init and lifeboat, owned by root', async () => {
      const initrd = join(a.out, 'initrd.img');
      expect(statSync(initrd).size).toBeLessThan(100 * 1000 * 1000);
      const members = await initrdMembers(initrd);
      for (const name of ['init', 'usr/bin/lifeboat', 'etc/lifeboat/kernel-version']) {
        expect(members.has(name), name).toBe(true);
      }
      const owners = new Set([...members.values()].map((m) => `${m.uid}:${m.gid}`));
      expect([...owners]).toEqual(['0:0']);
    });

    it('makes the initrd of two layers, the base made once: the next build takes it from the cache', async () => {
      const archives = await initrdArchives(join(a.out, 'initrd.img'));
      expect(archives).toHaveLength(2);
      const [base, host] = a.manifest.initrdLayers ?? [];
      expect(base?.name).toBe('base');
      expect(host?.name).toBe('host');
      // The base is the rescue system; the host layer the capture's part (modules, files...).
      expect(base?.bytes).toBeGreaterThan(5 * (host?.bytes ?? 0));
      expect(b.manifest.initrdLayers).toEqual(a.manifest.initrdLayers);
      expect(b.stdout).toMatch(/initrd base layer from the cache/);
      // Another host, the same recipe: the same base layer, its own host layer.
      expect(otherHost.stdout).toMatch(/initrd base layer from the cache/);
      expect(otherHost.manifest.initrdLayers?.[0]).toEqual(base);
      expect(otherHost.manifest.initrdLayers?.[1]?.sha256).not.toBe(host?.sha256);
      // Its own capture: the drill host's, named by its hostname.
      const captured = (dir: string) =>
        JSON.parse(readFileSync(join(dir, 'capture.json'), 'utf8')) as {
          identity: { hostname: string };
        };
      const otherMembers = await initrdMembers(join(otherHost.out, 'initrd.img'));
      expect(otherMembers.get('etc/lifeboat/capture.json')?.data.toString()).toContain(
        captured(otherCapture).identity.hostname,
      );
    });

    it("puts a recipe's overlay over the rescue root, owned by root, and records its digest", async () => {
      const recipeDir = join(box.dir, 'recipe');
      mkdirSync(join(recipeDir, 'overlay', 'etc', 'lifeboat'), { recursive: true });
      writeFileSync(join(recipeDir, 'overlay', 'etc', 'motd'), 'site rescue system\n');
      writeFileSync(join(recipeDir, 'overlay', 'etc', 'lifeboat', 'site.txt'), 'from the recipe\n');
      writeFileSync(
        join(recipeDir, 'site.yaml'),
        'name: site\noutput:\n  methods: [ramdisk]\nrescue:\n  overlays: [overlay]\n',
      );
      const built = await build('overlay', ['--recipe', join(recipeDir, 'site.yaml')]);
      expect(built.manifest.inputs.overlays).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
      const members = await initrdMembers(join(built.out, 'initrd.img'));
      const site = members.get('etc/lifeboat/site.txt');
      expect(site && { mode: site.mode & 0o7777, uid: site.uid, gid: site.gid }).toEqual({
        mode: 0o644,
        uid: 0,
        gid: 0,
      });
      expect(site?.data.toString()).toBe('from the recipe\n');
      expect(members.get('etc/motd')?.data.toString()).toBe('site rescue system\n');
    }, 300_000);

    it(
      'verify rebuilds from the manifest and finds every artifact identical',
      async () => {
        const result = await lifeboat(
          ['verify', '--manifest', join(a.out, 'manifest.json'), ...box.sets],
          { env: box.env },
        );
        expect(result.exitCode, result.all).toBe(0);
        for (const artifact of a.manifest.artifacts) {
          expect(result.stdout).toContain(`identical  ${artifact.name}  ${artifact.sha256}`);
        }
        expect(result.stdout).not.toContain('input changed');
        expect(readdirSync(a.out).sort()).toEqual(ARTIFACTS);
      },
      10 * 60_000,
    );

    // --- bad inputs: a clear error, exit 2, nothing written ---------------------------------------

    async function refused(args: string[], message: RegExp): Promise<void> {
      const out = join(box.dir, 'refused');
      const result = await lifeboat(['build', '--out', out, ...box.sets, ...args], {
        env: box.env,
      });
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(out)).toBe(false);
      expect(leftovers()).toEqual([]);
    }

    it('refuses a missing capture, naming it', async () => {
      const missing = join(box.dir, 'no-such-capture');
      await refused(['--capture', missing], /no-such-capture.*is not a lifeboat capture/);
    });

    it('refuses a capture of another architecture', async () => {
      const foreign = join(box.dir, 'capture-arm64');
      cpSync(capture, foreign, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(foreign, 'capture.json'), 'utf8'));
      manifest.identity.arch = 'aarch64';
      writeFileSync(join(foreign, 'capture.json'), JSON.stringify(manifest));
      await refused(
        ['--capture', foreign],
        /capture of a aarch64 host; this builder makes x86_64 media/,
      );
    });

    it('refuses a recipe with an unknown key, with file, line and a suggestion', async () => {
      const recipe = join(box.dir, 'typo.yaml');
      writeFileSync(recipe, 'name: typo\noutput:\n  methods: [iso]\n  compresion: xz\n');
      await refused(
        ['--capture', capture, '--recipe', recipe],
        /typo\.yaml:4:3: output\.compresion: unknown key \(did you mean "compression"\?\)/,
      );
    });

    it("refuses a recipe package the builder's distribution lacks, naming it and the recipe", async () => {
      const recipe = join(box.dir, 'packages.yaml');
      writeFileSync(
        recipe,
        'name: packages\nrescue:\n  packages: [curl, lifeboat-no-such-package]\n',
      );
      await refused(
        ['--capture', capture, '--recipe', recipe],
        /rescue\.packages \(recipe .*packages\.yaml\): debian bookworm has no package 'lifeboat-no-such-package'/,
      );
    }, 120_000);

    it('Ctrl-C during a build exits 130 and leaves no artifact, staging area or container', async () => {
      const out = join(box.dir, 'interrupted');
      const startedAt = Math.floor(Date.now() / 1000) - 1;
      const child = lifeboat(['build', '--capture', capture, '--out', out, ...BOTH, ...box.sets], {
        env: box.env,
      });
      await new Promise<void>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('build: initrd')) resolve();
        });
        child.then(() => resolve());
      });
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, result.all).toBe(130);
      expect(existsSync(out)).toBe(false);
      expect(leftovers()).toEqual([]);
      const engine = connectEngine();
      const left = await engine.docker.listContainers({
        all: true,
        filters: { label: [OWNER_LABEL] },
      });
      // Containers of this build only (the engine may run others, lifeboat's or not).
      expect(left.filter((c) => c.Created >= startedAt)).toEqual([]);
    }, 120_000);
  },
);
