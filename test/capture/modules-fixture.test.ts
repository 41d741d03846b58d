import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type KernelModules,
  listKernelVersions,
  loadKernelModules,
  resolveInRoot,
} from '../../src/capture/kmod.js';
import { normalizeModuleName, readModuleInfo } from '../../src/capture/kmod-modinfo.js';
import { selectModules } from '../../src/capture/modules.js';
import { debianFixture } from '../support/fixtures.js';
import { compressFor, makeTempRoot, type TempRoot } from '../support/kernel-modules.js';
import { describeTier } from '../support/tiers.js';

/**
 * Module capture against a real Debian bookworm root (linux-image-cloud-amd64), with the host's
 * kmod as the oracle: `modprobe -d ROOT --show-depends` for closures, `modinfo -b ROOT` for
 * .modinfo fields. Both only read the root's files.
 */

async function prepareFixture(): Promise<{ root: string; version: string } | { missing: string }> {
  const modprobe = ['/usr/sbin/modprobe', '/sbin/modprobe'].find((p) => existsSync(p));
  if (modprobe === undefined)
    return { missing: 'kmod (modprobe, modinfo) is not installed on the host' };
  const made = await debianFixture();
  if ('missing' in made) return made;
  const [version] = await listKernelVersions(made.root);
  if (version === undefined)
    return { missing: `the fixture root ${made.root} has no kernel modules` };
  return { root: made.root, version };
}

const fixture = await prepareFixture();
const describeFixture = describeTier('fixture', 'missing' in fixture ? fixture.missing : undefined);
const { root, version } = 'missing' in fixture ? { root: '', version: '' } : fixture;

/** Modules every rescue system is likely to ask for, and aliases resolving to some. */
const ORACLE_NAMES = [
  'ext4',
  'xfs',
  'btrfs',
  'dm_crypt',
  'dm-raid',
  'raid456',
  'virtio_scsi',
  'virtio_net',
  'nvme',
  'vfat',
  'isofs',
  'e1000e',
  'overlay',
  'squashfs',
  'cifs',
  'nfs',
  'hv_storvsc',
  'af_packet',
  'fs-iso9660',
  'crc32c',
];

/**
 * Runs `read` with a PATH that has kmod's modinfo and nothing else: a host without xz-utils and
 * zstd (a worker thread's environment is its own).
 */
async function withoutDecompressors<T>(read: () => Promise<T>): Promise<T> {
  const bin = await mkdtemp(join(tmpdir(), 'lifeboat-path-'));
  const saved = process.env.PATH;
  try {
    await symlink((await execa('sh', ['-c', 'command -v modinfo'])).stdout, join(bin, 'modinfo'));
    process.env.PATH = bin;
    return await read();
  } finally {
    process.env.PATH = saved;
    await rm(bin, { recursive: true, force: true });
  }
}

/** What `modprobe --show-depends NAME` would do: files it would insmod (root-relative, real). */
async function modprobeShowDepends(
  name: string,
): Promise<{ files: string[]; builtin: string[] } | undefined> {
  const r = await execa('modprobe', ['-S', version, '-d', root, '--show-depends', name], {
    reject: false,
  });
  if (r.exitCode !== 0) return undefined;
  const files: string[] = [];
  const builtin: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === 'insmod' && arg !== undefined) {
      files.push(await resolveInRoot(root, arg.slice(root.length)));
    } else if (command === 'builtin' && arg !== undefined) builtin.push(normalizeModuleName(arg));
  }
  return { files, builtin };
}

/** `modinfo -F FIELD`: one line per value (an empty value, like `depends=`, is an empty line). */
async function modinfoField(name: string, field: string): Promise<string[]> {
  const r = await execa('modinfo', ['-b', root, '-k', version, '-F', field, name], {
    stripFinalNewline: false,
  });
  return r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n');
}

describeFixture('module capture of a Debian bookworm root', () => {
  let kernel: KernelModules;

  beforeAll(async () => {
    kernel = await loadKernelModules(root, version);
  });

  it('finds the kernel behind the merged-/usr symlink', () => {
    expect(kernel.dir).toBe(`usr/lib/modules/${version}`);
    expect(kernel.modules.size).toBeGreaterThan(500);
    expect(kernel.builtin.has('ext4')).toBe(true);
  });

  it('closes over everything modprobe --show-depends would load', {
    timeout: 120_000,
  }, async () => {
    const needed = await selectModules(kernel, { policy: 'needed' });
    const names = [...ORACLE_NAMES, ...needed.modules.map((m) => m.name)];
    let compared = 0;
    for (const name of names) {
      const selection = await selectModules(kernel, { policy: 'needed', base: [], extra: [name] });
      const oracle = await modprobeShowDepends(name);
      if (oracle === undefined) {
        // modprobe knows no such module (the cloud kernel has no e1000e): lifeboat must say so.
        expect(
          selection.notFound.map((n) => n.name),
          name,
        ).toContain(normalizeModuleName(name));
        continue;
      }
      for (const file of oracle.files)
        expect(selection.files, `${name} needs ${file}`).toContain(file);
      for (const b of oracle.builtin)
        expect(
          selection.builtin.map((x) => x.name),
          name,
        ).toContain(b);
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('reads .modinfo fields as modinfo does', { timeout: 60_000 }, async () => {
    // The comedi drivers are the cloud kernel's modules that declare firmware.
    const modules = [
      'ni_pcidio',
      'me_daq',
      'jr3_pci',
      'xfs',
      'libcrc32c',
      'dm_crypt',
      'virtio_scsi',
    ];
    for (const name of modules) {
      const entry = kernel.modules.get(name);
      expect(entry, name).toBeDefined();
      const info = await readModuleInfo(join(root, kernel.dir, entry?.path ?? ''));
      for (const field of ['firmware', 'depends', 'alias', 'softdep', 'license']) {
        expect(info.fields.get(field) ?? [], `${name} ${field}`).toEqual(
          await modinfoField(name, field),
        );
      }
    }
    const pcidio = await selectModules(kernel, {
      policy: 'needed',
      base: [],
      extra: ['ni_pcidio'],
    });
    expect(pcidio.firmware.missing).toEqual(
      (await modinfoField('ni_pcidio', 'firmware'))
        .sort()
        .map((name) => ({ name, modules: ['ni_pcidio'] })),
    );
    expect(pcidio.modules.map((m) => m.name).sort()).toEqual([
      'comedi',
      'comedi_pci',
      'mite',
      'ni_pcidio',
    ]);
  });

  it('reads compressed copies of a real module (.ko.xz, .ko.zst, .ko.gz)', {
    timeout: 60_000,
  }, async () => {
    const temp: TempRoot = await makeTempRoot();
    try {
      const entry = kernel.modules.get('ni_pcidio');
      const plain = await readModuleInfo(join(root, kernel.dir, entry?.path ?? ''));
      // ni_pcidio and its dependencies, with their modules.dep lines.
      const depLines = (await readFile(join(root, kernel.dir, 'modules.dep'), 'utf8')).split('\n');
      const depLineOf = (path: string) => depLines.find((l) => l.startsWith(`${path}:`)) as string;
      const files = [
        entry?.path ?? '',
        ...(entry?.deps ?? []).map((d) => kernel.modules.get(d)?.path ?? ''),
      ];
      await temp.write('usr/lib/firmware/niscrb01.bin.zst', 'firmware');
      for (const suffix of ['.xz', '.zst', '.gz']) {
        const v = `${version}${suffix.replace('.', '-')}`;
        for (const file of files) {
          const data = await readFile(join(root, kernel.dir, file));
          await temp.write(`lib/modules/${v}/${file}${suffix}`, await compressFor(suffix, data));
        }
        const dep = files.map((f) => depLineOf(f).replaceAll('.ko', `.ko${suffix}`)).join('\n');
        await temp.write(`lib/modules/${v}/modules.dep`, `${dep}\n`);

        const compressed = await loadKernelModules(temp.root, v);
        const file = join(
          temp.root,
          compressed.dir,
          compressed.modules.get('ni_pcidio')?.path ?? '',
        );
        expect(file.endsWith(`.ko${suffix}`)).toBe(true);
        expect((await readModuleInfo(file)).fields).toEqual(plain.fields);
        if (suffix !== '.gz') {
          // The host's kmod reads xz and zstd modules (Debian builds it without zlib).
          const r = await execa('modinfo', ['-F', 'firmware', file]);
          expect(r.stdout.split('\n')).toEqual(plain.firmware);
          // A minimal host has kmod (its kernel package needs it) but neither xz nor zstd.
          const viaKmod = await withoutDecompressors(() => readModuleInfo(file));
          expect(viaKmod.fields.has('filename')).toBe(false);
          const { fields: _plainFields, ...plainInfo } = plain;
          const { fields: _kmodFields, ...kmodInfo } = viaKmod;
          expect(kmodInfo).toEqual(plainInfo);
          const selected = await withoutDecompressors(() =>
            selectModules(compressed, { policy: 'all' }),
          );
          expect(selected.files).toHaveLength(4);
          expect(selected.firmware.missing.map((f) => f.name)).toEqual([
            'ni6534a.bin',
            'niscrb02.bin',
          ]);
        }
        const selection = await selectModules(compressed, { policy: 'all' });
        expect(selection.files).toHaveLength(4);
        expect(selection.firmware.found.map((f) => f.path)).toEqual([
          'lib/firmware/niscrb01.bin.zst',
        ]);
        expect(selection.firmware.missing.map((f) => f.name)).toEqual([
          'ni6534a.bin',
          'niscrb02.bin',
        ]);
      }
    } finally {
      await temp.remove();
    }
  });

  let figures: Record<string, unknown> = {};
  it('measures all against needed', { timeout: 60_000 }, async () => {
    const all = await selectModules(kernel, { policy: 'all' });
    const needed = await selectModules(kernel, { policy: 'needed' });
    expect(all.files).toHaveLength(kernel.modules.size);
    expect(needed.files.length).toBeLessThan(all.files.length);
    for (const file of needed.files) expect(all.files).toContain(file);
    const summary = (s: typeof all) => ({
      files: s.files.length,
      bytes: s.bytes,
      firmwareFound: s.firmware.found.length,
      firmwareMissing: s.firmware.missing.length,
    });
    figures = {
      kernel: version,
      all: summary(all),
      needed: summary(needed),
      neededAbsentBase: needed.notFound
        .filter((n) => n.requestedBy.includes('base'))
        .map((n) => n.name),
    };
  });

  afterAll(() => {
    // One line for the bench to pick up.
    console.log(`lifeboat-bench modules ${JSON.stringify(figures)}`);
  });

  it('reports module files that are regular files in the root, with their sizes', async () => {
    const needed = await selectModules(kernel, { policy: 'needed' });
    for (const m of needed.modules) {
      const stat = await lstat(join(root, m.path));
      expect(stat.isFile(), m.path).toBe(true);
      expect(stat.size).toBe(m.size);
    }
  });
});
