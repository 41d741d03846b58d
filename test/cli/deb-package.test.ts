import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * lifeboat as a Debian package (ci/package.mjs, `npm run package`): built twice, the same bytes;
 * installed with dpkg into Debian bookworm (the drill's root, which has Debian's nodejs), seen
 * through an overlay so the fixture stays as it is; run there. The drill's protected host
 * installs the same package and captures and backs itself up with it (test/drill).
 */
const fixture = await debianFixture('drill');
const missing = 'missing' in fixture ? fixture.missing : undefined;

describeTier('fixture', missing)('the Debian package', () => {
  const box = sandbox();
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const debs = [join(box.dir, 'first.deb'), join(box.dir, 'second.deb')];
  const merged = join(box.dir, 'root');
  let mounted = false;
  const inRoot = (command: string[]) =>
    execa('chroot', [merged, ...command], { reject: false, all: true, env: { LC_ALL: 'C' } });

  beforeAll(async () => {
    for (const deb of debs) await execa('node', [join(ROOT, 'ci', 'package.mjs'), deb]);
    for (const dir of ['upper', 'work', 'root']) mkdirSync(join(box.dir, dir));
    const lower = 'root' in fixture ? fixture.root : '';
    await execa('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${join(box.dir, 'upper')},workdir=${join(box.dir, 'work')}`,
      merged,
    ]);
    mounted = true;
    await execa('cp', [debs[0] as string, join(merged, 'tmp', 'lifeboat.deb')]);
  }, 120_000);

  afterAll(async () => {
    if (mounted) await execa('umount', [merged]);
  });

  it('is the same bytes when built again', () => {
    expect(readFileSync(debs[0] as string).equals(readFileSync(debs[1] as string))).toBe(true);
  });

  it('installs with dpkg, depending on nodejs only, owned by root', async () => {
    const fields = await execa('dpkg-deb', ['--field', debs[0] as string, 'Depends', 'Version']);
    expect(fields.stdout).toBe(`Depends: nodejs (>= 18)\nVersion: ${version}`);
    const contents = (await execa('dpkg-deb', ['--contents', debs[0] as string])).stdout;
    expect(contents.split('\n').every((line) => line.includes(' root/root '))).toBe(true);
    const install = await inRoot(['dpkg', '--install', '/tmp/lifeboat.deb']);
    expect(install.exitCode, install.all).toBe(0);
    const status = await inRoot(['dpkg-query', '--show', '--showformat=${Status}', 'lifeboat']);
    expect(status.stdout).toBe('install ok installed');
  });

  it('runs on bookworm’s nodejs: --version, its man page, and the example configuration', async () => {
    expect((await inRoot(['lifeboat', '--version'])).stdout.trim()).toBe(version);
    const page = await inRoot(['sh', '-c', 'zcat /usr/share/man/man1/lifeboat.1.gz']);
    expect(page.stdout).toMatch(/^\.TH LIFEBOAT 1 /);
    expect(page.stdout).toMatch(/^\.SS capture$/m);
    // The example's backup section, uncommented into the host's local.yaml, is read.
    const dump = await inRoot([
      'sh',
      '-c',
      "sed -n '/^# backup:/,/^#   keep:/s/^# //p' /etc/lifeboat/local.yaml.example >/etc/lifeboat/local.yaml && lifeboat dump",
    ]);
    expect(dump.exitCode, dump.all).toBe(0);
    expect(dump.stdout).toContain('nfs://backup.example.org/exports/lifeboat');
  });
});
