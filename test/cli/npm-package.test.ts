import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, expect, it } from 'vitest';
import type { CaptureManifest } from '../../src/capture/manifest.js';
import { ROOT, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * lifeboat as an administrator gets it from npm: the package packed from the project's tracked
 * files (in a copy, so its prepack build cannot race the tests running beside it), installed
 * with `npm install -g` into a prefix of its own, and run from there.
 */
const fixture = await debianFixture();
const missing = 'missing' in fixture ? fixture.missing : undefined;

describeTier('fixture', missing)('the npm package', () => {
  const box = sandbox();
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  let members: string[];
  let installed: string;

  beforeAll(async () => {
    const copy = join(box.dir, 'source');
    mkdirSync(copy);
    // The tracked files as they are in the work tree, and the installed dev dependencies.
    const tracked = (await execa('git', ['ls-files', '-z'], { cwd: ROOT })).stdout;
    await execa('tar', ['--create', '--null', '--files-from=-', '--file=-'], {
      cwd: ROOT,
      input: tracked,
      encoding: 'buffer',
    }).pipe('tar', ['--extract', '--file=-', '--directory', copy]);
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const packed = await execa('npm', ['pack', '--json', '--pack-destination', box.dir], {
      cwd: copy,
    });
    const [pack] = JSON.parse(packed.stdout) as { filename: string }[];
    const tarball = join(box.dir, pack?.filename ?? 'no tarball');
    members = (await execa('tar', ['--list', '--file', tarball])).stdout.split('\n');
    const prefix = join(box.dir, 'prefix');
    await execa('npm', [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
    ]);
    installed = join(prefix, 'bin', 'lifeboat');
  }, 300_000);

  it('holds the CLI built by prepack, the rescue bundle and the build inputs, and nothing of the tests', () => {
    for (const file of [
      'package/dist/lifeboat.mjs',
      'package/dist/rescue/lifeboat.mjs',
      'package/images/debian-bookworm/Dockerfile',
      'package/skel/default/init',
      'package/recipes/default.yaml',
      'package/README.md',
    ])
      expect(members).toContain(file);
    expect(
      members.filter((m) => /^package\/(src|test|bench|ci)\/|\.test\.|\.map$/.test(m)),
    ).toEqual([]);
  });

  it('runs from where npm install -g put it: --version, and a capture', async () => {
    const said = await execa(installed, ['--version'], { env: box.env });
    expect(said.stdout.trim()).toBe(version);
    const out = join(box.dir, 'capture');
    const capture = await execa(
      installed,
      ['capture', '--root', 'root' in fixture ? fixture.root : '', '--out', out, ...box.sets],
      { env: box.env, reject: false, all: true },
    );
    expect(capture.exitCode, capture.all).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'capture.json'), 'utf8')) as CaptureManifest;
    expect(manifest.identity.hostname).toBe('fixture-host');
  });
});
