import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { OWNER_LABEL } from '../../src/engine/container.js';
import { connectEngine } from '../../src/engine/engine.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianRoot } from '../support/fixtures.js';
import { initrdFile } from '../support/initrd.js';
import { describeTier, engineMissing } from '../support/tiers.js';

describeTier('engine', await engineMissing())('lifeboat CLI on a real engine', () => {
  it('builder build: the second run finds the image up to date and builds nothing', async () => {
    const box = sandbox();
    await lifeboat(['builder', 'build', ...box.sets], { env: box.env });
    const second = await lifeboat(['builder', 'build', ...box.sets], { env: box.env });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(
      /^(\S+Z )?lifeboat-builder\/debian-bookworm:[0-9a-f]{16} is up to date \(checked in \d+\.\d s\) — sha256:[0-9a-f]{64}$/m,
    );
    expect(second.stderr).toMatch(/^log: .*lifeboat-.*-builder-build\.log$/m);
  });

  it('builder run: runs a command in the builder image with its exit code', async () => {
    const box = sandbox();
    const ok = await lifeboat(['builder', 'run', ...box.sets, '--', 'xorriso', '-version'], {
      env: box.env,
    });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/^xorriso 1\.5\.\d/m);
    const failing = await lifeboat(
      ['builder', 'run', ...box.sets, '--', 'sh', '-c', 'echo nope >&2; exit 4'],
      { env: box.env },
    );
    expect(failing.exitCode).toBe(4);
    expect(failing.stderr).toContain('nope');
  });

  it('mkrescue on the example host runs site steps between its stages, makes the media, keeps the capture for verify, and cleans up', async () => {
    const fixtureRoot = await debianRoot();
    const box = sandbox();
    const steps = join(box.dir, 'steps');
    const seen = join(box.dir, 'seen');
    const out = join(box.dir, 'media');
    mkdirSync(join(steps, 'build'), { recursive: true });
    writeFileSync(join(steps, 'build', '300_site.sh'), `echo "$STAGE $PROGS" >"${seen}"\n`);
    const result = await lifeboat(
      [
        'mkrescue',
        '--root',
        fixtureRoot,
        '--out',
        out,
        ...box.sets,
        '--set',
        `steps.dirs=[${steps}]`,
        '--set',
        'rescue.programs+=curl',
      ],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(readFileSync(seen, 'utf8')).toBe('build curl\n');
    expect(result.stdout).toMatch(/mkrescue: rescue media in .*media: lifeboat\.iso \d+\.\d MiB/);
    expect(readdirSync(out).sort()).toEqual(['capture', 'lifeboat.iso', 'manifest.json']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.inputs.captureDir).toBe('capture');
    expect(readdirSync(join(box.dir, 'work', 'build'))).toEqual([]);
    const logFile = /^log: (.*)$/m.exec(result.stderr)?.[1] ?? '';
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/step prep\/050_builder_image done in \d+ ms/);
    expect(log).toMatch(/step build\/300_site starts \(.*300_site\.sh\)/);

    // The output directory alone is enough to check the media, wherever it is moved.
    const moved = join(box.dir, 'moved');
    renameSync(out, moved);
    const verified = await lifeboat(
      ['verify', '--manifest', join(moved, 'manifest.json'), ...box.sets],
      { env: box.env },
    );
    expect(verified.exitCode, verified.all).toBe(0);
    expect(verified.stdout).toMatch(/^identical {2}lifeboat\.iso {2}[0-9a-f]{64}$/m);
  }, 600_000);

  it('mkbackup on the example host: the rescue media and a backup in one run, the media knowing where the backup is', async () => {
    const fixtureRoot = await debianRoot();
    const box = sandbox();
    const out = join(box.dir, 'media');
    const backups = join(box.dir, 'backups');
    const result = await lifeboat(
      [
        'mkbackup',
        '--root',
        fixtureRoot,
        '--out',
        out,
        ...box.sets,
        '--set',
        'output.methods=[ramdisk]',
        '--set',
        'output.compression=none',
        '--set',
        'backup.method=netfs',
        '--set',
        `backup.url=file://${backups}`,
      ],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/mkbackup: rescue media in /);
    // The backup: filed under the example host's name, with its manifest and listing.
    const hostName = readFileSync(join(fixtureRoot, 'etc', 'hostname'), 'utf8').trim();
    const [id, ...more] = readdirSync(join(backups, hostName));
    expect(more).toEqual([]);
    const dir = join(backups, hostName, id as string);
    const manifest = JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8'));
    expect(manifest.archive.sha256).toMatch(/^[0-9a-f]{64}$/);
    const listed = readFileSync(join(dir, manifest.listing.name), 'utf8');
    expect(listed).toMatch(/^\.?\/?etc\/hostname$/m);
    // The rescue system's configuration names this backup's destination.
    const site = await initrdFile(join(out, 'initrd.img'), 'etc/lifeboat/site.yaml');
    expect(site?.toString()).toContain(`url: file://${backups}`);
  }, 600_000);

  it('a failing step stops mkrescue with exit 1, names the step and log, and cleanup still runs', async () => {
    const box = sandbox();
    const steps = join(box.dir, 'steps');
    mkdirSync(join(steps, 'build'), { recursive: true });
    mkdirSync(join(steps, 'pack'), { recursive: true });
    const failing = join(steps, 'build', '200_broken.sh');
    writeFileSync(failing, 'echo "checking the frobnicator"\nexit 7\n');
    writeFileSync(join(steps, 'pack', '100_never.sh'), `touch "${join(box.dir, 'never')}"\n`);
    const result = await lifeboat(['mkrescue', ...box.sets, '--set', `steps.dirs=[${steps}]`], {
      env: box.env,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `lifeboat: step build/200_broken failed (${failing}): ${failing} exited with code 7`,
    );
    const logFile = /The log has the details: (.*)$/m.exec(result.stderr)?.[1] ?? '';
    expect(readFileSync(logFile, 'utf8')).toContain('200_broken: checking the frobnicator');
    expect(existsSync(join(box.dir, 'never'))).toBe(false);
    expect(readdirSync(join(box.dir, 'work', 'build'))).toEqual([]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('Ctrl-C during builder run removes the container and exits 130', async () => {
    const box = sandbox();
    const engine = connectEngine();
    const child = lifeboat(['builder', 'run', ...box.sets, '--', 'sleep', '300'], { env: box.env });
    let container: { Id: string; Labels: Record<string, string> } | undefined;
    for (let i = 0; i < 100 && !container; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const running = await engine.docker.listContainers({ filters: { label: [OWNER_LABEL] } });
      container = running.find((c) => c.Command.includes('sleep 300'));
    }
    expect(container).toBeDefined();
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    const owner = container?.Labels[OWNER_LABEL] ?? '';
    const left = await engine.docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${owner}`] },
    });
    expect(left).toEqual([]);
  });

  it('doctor: all checks pass here; with no engine it says where it looked and how to fix it', async () => {
    const box = sandbox();
    const ok = await lifeboat(['doctor', ...box.sets], { env: box.env });
    expect(ok.stdout).toMatch(
      /^ok {4}container engine {2}unix:\/\/\/var\/run\/docker\.sock answers: docker \S+ \(API 1\.\d+/m,
    );
    expect(ok.stdout).toMatch(
      /^ok {4}builder image {5}lifeboat-builder\/debian-bookworm:[0-9a-f]{16} is present and up to date$/m,
    );
    expect(ok.stdout).toMatch(/^ok {4}disk space {8}\d+\.\d GiB free in /m);

    const none = await lifeboat(['doctor', ...box.sets], {
      env: { ...box.env, DOCKER_HOST: `unix://${join(box.dir, 'no.sock')}` },
    });
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toMatch(
      new RegExp(`^fail  container engine  .*${join(box.dir, 'no.sock')}`, 'm'),
    );
    expect(none.stdout).toMatch(
      /^ +fix: start the engine \(dockerd, or systemctl start docker\), or point DOCKER_HOST at one/m,
    );
    expect(none.stderr).toContain(
      'lifeboat: doctor: 2 check(s) failed: container engine, builder image',
    );
  });
});

describeTier(
  'engine',
  process.env.CI === 'true'
    ? undefined
    : 'only asserted under CI=true (a developer may have these tools)',
)('the host stays free of media tools', () => {
  it('has no xorriso, isolinux, syslinux, pxelinux, grub-mkimage, grub-mkstandalone or mtools on PATH', async () => {
    for (const tool of [
      'xorriso',
      'isolinux',
      'syslinux',
      'pxelinux',
      'grub-mkimage',
      'grub-mkstandalone',
      'mcopy',
      'mformat',
    ]) {
      const found = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
      expect(found.stdout, `${tool} must not be on the host PATH`).toBe('');
    }
    expect(existsSync('/usr/lib/ISOLINUX/isolinux.bin')).toBe(false);
  });
});
