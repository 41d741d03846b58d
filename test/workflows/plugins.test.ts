import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BackupMethod } from '../../src/backup/method.js';
import { registerBackupMethod } from '../../src/backup/methods.js';
import { loadConfig } from '../../src/config/load.js';
import { MemoryLog } from '../../src/log/log.js';
import type { BuildResult } from '../../src/media/build.js';
import type { BuildManifest } from '../../src/media/build-manifest.js';
import type { Output } from '../../src/outputs/output.js';
import { registerOutput } from '../../src/outputs/registry.js';
import { RECOVER_REQUEST, type RecoverRequest } from '../../src/recover/request.js';
import { mkbackuponly } from '../../src/workflows/mkbackuponly.js';
import { mkrescue } from '../../src/workflows/mkrescue.js';
import { rehearsal } from '../../src/workflows/rehearsal.js';
import { runWorkflow } from '../../src/workflows/runner.js';
import { MEDIA_RESULT } from '../../src/workflows/steps/media-steps.js';
import { sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier, engineMissing } from '../support/tiers.js';

/**
 * The seams, used the way the next outputs and backup methods will use them: a toy output and a
 * toy backup method, written as plain modules in a temporary directory (no file of lifeboat is
 * edited), registered through the registries, and run through mkrescue (a real build in the
 * builder container, the media copied to output.url), mkbackuponly and recover --into. The
 * configuration schema knows only its own names: the toy output replaces obdr and the toy method
 * external, each explicitly.
 */
const TOY_OUTPUT = `
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export const toyOutput = {
  name: 'obdr',
  summary: 'a toy: the sha256 of the initrd and the kernel command line',
  builderPrograms: ['sha256sum'],
  check: (config) => (config.kernel.cmdline.includes('toy=refuse') ? ['output obdr: refused'] : []),
  async make(rescue) {
    rescue.say('toy output');
    const sum = await rescue.container.exec(['sha256sum', rescue.initrd]);
    if (sum.exitCode !== 0) throw new Error('sha256sum failed: ' + sum.stderr);
    const text = 'initrd ' + sum.stdout.split(' ')[0] + '\\ncmdline ' + rescue.cmdline + '\\n';
    await writeFile(join(rescue.dir, 'toy.txt'), text, { mode: 0o600 });
    return ['toy.txt'];
  },
  bootMedium: () => undefined,
};
`;

const TOY_METHOD = `
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
export function toyMethod(store) {
  const record = (hostname, id) => ({
    id, hostname, created: new Date().toISOString(), where: 'file://' + store,
    summary: 'a tar of /etc', selinux: false, details: join(store, hostname, id + '.tar'),
  });
  return {
    name: 'external',
    rescue: { programs: ['tar'], packages: [] },
    protectedDevices: () => [],
    async check() { mkdirSync(store, { recursive: true }); return 'file://' + store; },
    async backup(request) {
      const id = String(readdirSync(store).length + 1);
      mkdirSync(join(store, request.hostname), { recursive: true });
      execFileSync('tar', ['-C', request.hostRoot, '-cf', join(store, request.hostname, id + '.tar'), 'etc']);
      return record(request.hostname, id);
    },
    async verify() {
      const [hostname] = readdirSync(store);
      const [file] = readdirSync(join(store, hostname));
      return record(hostname, file.replace(/\\.tar$/, ''));
    },
    async restore(request) {
      mkdirSync(request.target, { recursive: true });
      execFileSync('tar', ['-C', request.target, '-xf', request.backup.details]);
      return { entries: 1, bytes: 0, seconds: 0 };
    },
  };
}
`;

const engineWhy = await engineMissing();
const fixture = await debianFixture();
const fixtureWhy = 'missing' in fixture ? fixture.missing : undefined;
const hostRoot = 'root' in fixture ? fixture.root : '';
const box = sandbox();
const store = join(box.dir, 'toy-backups');
const published = join(box.dir, 'published');
const out = join(box.dir, 'media');

afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

async function configFor(extra: string[]) {
  return loadConfig({
    configDir: box.etc,
    cwd: box.dir,
    env: {},
    root: hostRoot,
    sets: [
      `paths.logDir=${join(box.dir, 'log')}`,
      `paths.workDir=${join(box.dir, 'work')}`,
      'output.methods=[obdr]',
      'backup.method=external',
      ...extra,
    ],
  });
}

function dirsFor(build: string, host: string) {
  return { config: box.etc, share: box.dir, build, rootfs: join(build, 'rootfs'), host };
}

describeTier('engine', engineWhy ?? fixtureWhy)(
  'a toy output and a toy backup method, through the public interfaces only',
  () => {
    beforeAll(async () => {
      mkdirSync(box.etc, { recursive: true });
      writeFileSync(join(box.dir, 'toy-output.mjs'), TOY_OUTPUT);
      writeFileSync(join(box.dir, 'toy-method.mjs'), TOY_METHOD);
      const { toyOutput } = (await import(pathToFileURL(join(box.dir, 'toy-output.mjs')).href)) as {
        toyOutput: Output;
      };
      const { toyMethod } = (await import(pathToFileURL(join(box.dir, 'toy-method.mjs')).href)) as {
        toyMethod: (store: string) => BackupMethod;
      };
      // Every output name the schema knows is built in now: the toy takes obdr's place, saying so.
      registerOutput(toyOutput, { replace: true });
      registerBackupMethod(toyMethod(store), { replace: true });
    });

    it('mkrescue builds with the toy output, and output.url gets the media', async () => {
      const effective = await configFor([
        `output.dir=${JSON.stringify(out)}`,
        `output.url=file://${published}`,
        'kernel.cmdline=toy=1',
      ]);
      const state = await runWorkflow(mkrescue, {
        effective,
        log: new MemoryLog(),
        progress: 'silent',
        dirs: dirsFor(join(box.dir, 'work', 'build-1'), hostRoot),
      });
      const media = state?.results.get(MEDIA_RESULT) as BuildResult;
      expect(media.outputs.map((o) => o.name)).toEqual(['obdr']);
      const toy = readFileSync(join(out, 'toy.txt'), 'utf8');
      expect(toy).toMatch(/^initrd [0-9a-f]{64}\ncmdline toy=1\n$/);
      const manifest = JSON.parse(
        readFileSync(join(out, 'manifest.json'), 'utf8'),
      ) as BuildManifest;
      expect(manifest.artifacts.map((a) => a.name)).toEqual(['toy.txt']);
      // Published under the host's name: the toy's file, the manifest, the capture for verify.
      const [host] = readdirSync(published);
      expect(readdirSync(join(published, host ?? '')).sort()).toEqual([
        'capture',
        'manifest.json',
        'toy.txt',
      ]);
      expect(readFileSync(join(published, host ?? '', 'toy.txt'), 'utf8')).toBe(toy);
    }, 900_000);

    it("refuses with the toy output's own complaint, before anything is built", async () => {
      const effective = await configFor([
        `output.dir=${JSON.stringify(join(box.dir, 'refused'))}`,
        'kernel.cmdline=toy=refuse',
      ]);
      await expect(
        runWorkflow(mkrescue, {
          effective,
          log: new MemoryLog(),
          progress: 'silent',
          dirs: dirsFor(join(box.dir, 'work', 'build-2'), hostRoot),
        }),
      ).rejects.toMatchObject({ exitCode: 2, message: 'output obdr: refused' });
      expect(existsSync(join(box.dir, 'refused'))).toBe(false);
    });

    it('mkbackuponly backs up with the toy method, recover --into restores it', async () => {
      const effective = await configFor([]);
      await runWorkflow(mkbackuponly, {
        effective,
        log: new MemoryLog(),
        progress: 'silent',
        dirs: dirsFor(join(box.dir, 'work', 'build-3'), hostRoot),
      });
      const into = join(box.dir, 'rehearsal');
      const request: RecoverRequest = {
        mode: 'rehearsal',
        target: into,
        unattended: true,
        layoutFile: join(box.dir, 'no-layout.json'),
        workDir: join(box.dir, 'work', 'recover'),
        confirm: async () => false,
        askSecret: async () => '',
        started: Date.now(),
      };
      await runWorkflow(rehearsal, {
        effective,
        log: new MemoryLog(),
        progress: 'silent',
        dirs: dirsFor(request.workDir, into),
        results: [[RECOVER_REQUEST, request]],
      });
      expect(readFileSync(join(into, 'etc', 'hostname'), 'utf8')).toBe(
        readFileSync(join(hostRoot, 'etc', 'hostname'), 'utf8'),
      );
      expect(readdirSync(join(into, 'etc')).length).toBe(readdirSync(join(hostRoot, 'etc')).length);
    });
  },
);
