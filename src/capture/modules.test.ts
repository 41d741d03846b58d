import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compressFor,
  elfWithModinfo,
  makeTempRoot,
  type TempRoot,
} from '../../test/support/kernel-modules.js';
import { findFirmware } from './firmware.js';
import { globToRegExp } from './fs-root-glob.js';
import {
  listKernelVersions,
  loadKernelModules,
  normalizeAlias,
  readRootText,
  resolveInRoot,
  resolveModuleName,
} from './kmod.js';
import { parseSoftdep, readModuleInfo, readModuleSection as readSection } from './kmod-modinfo.js';
import { BASE_RESCUE_MODULES, parseProcModules, selectModules } from './modules.js';

const VERSION = '6.1.0-test';
const MODDIR = `lib/modules/${VERSION}`;
const REAL_MODDIR = `usr/lib/modules/${VERSION}`;

/** path (relative to the modules dir) → modinfo entries; deps come from MODULES_DEP. */
const MODULE_FILES: Record<string, string[]> = {
  'kernel/fs/xfs/xfs.ko': ['name=xfs', 'depends=libcrc32c', 'alias=fs-xfs'],
  'kernel/lib/libcrc32c.ko': ['name=libcrc32c', 'softdep=pre: crc32c'],
  'kernel/arch/x86/crypto/crc32c-intel.ko.xz': ['name=crc32c_intel', 'alias=crc32c'],
  'kernel/drivers/net/ethernet/intel/e1000/e1000.ko.zst': ['name=e1000'],
  'kernel/drivers/net/wireless/foo/foo-wifi.ko.gz': [
    'name=foo_wifi',
    'firmware=foo/fw-1.bin',
    'firmware=foo/fw-2.bin',
    'firmware=foo/opt-*.bin',
    'softdep=post: foo-extra',
    // Unmarked, as cifs declares them: one this kernel has, one no kernel has.
    'softdep=ccm aead2',
  ],
  'kernel/drivers/foo/foo_extra.ko': ['name=foo_extra'],
  'kernel/drivers/md/dm-crypt.ko': ['name=dm_crypt', 'depends=dm-mod'],
  'kernel/drivers/md/dm-mod.ko': ['name=dm_mod'],
  'kernel/fs/isofs/isofs.ko': ['name=isofs', 'depends=cdrom', 'alias=fs-iso9660'],
  'kernel/drivers/cdrom/cdrom.ko': ['name=cdrom'],
  'kernel/crypto/ccm.ko': ['name=ccm'],
};

const MODULES_DEP = `kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/arch/x86/crypto/crc32c-intel.ko.xz:
kernel/drivers/net/ethernet/intel/e1000/e1000.ko.zst:
kernel/drivers/net/wireless/foo/foo-wifi.ko.gz:
kernel/drivers/foo/foo_extra.ko:
kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko
kernel/drivers/md/dm-mod.ko:
kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko
kernel/drivers/cdrom/cdrom.ko:
kernel/crypto/ccm.ko:
kernel/drivers/ghost.ko:
`;

const MODULES_ALIAS = `# Aliases extracted from modules themselves.
alias fs-xfs xfs
alias crc32c crc32c_intel
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
alias fs-iso9660 isofs
`;

let temp: TempRoot;

beforeAll(async () => {
  temp = await makeTempRoot();
  for (const [path, entries] of Object.entries(MODULE_FILES)) {
    const file = `${MODDIR}/${path}`;
    await temp.write(file, await compressFor(file, elfWithModinfo(entries)));
  }
  await temp.write(`${MODDIR}/modules.dep`, MODULES_DEP);
  await temp.write(`${MODDIR}/modules.alias`, MODULES_ALIAS);
  await temp.write(`${MODDIR}/modules.softdep`, 'softdep dm_crypt pre: xts\n');
  await temp.write(
    `${MODDIR}/modules.builtin`,
    'kernel/fs/ext4/ext4.ko\nkernel/drivers/nvme/host/nvme.ko\n',
  );
  await temp.write(
    `${MODDIR}/modules.builtin.modinfo`,
    'ext4.alias=fs-ext4\0ext4.alias=fs-ext3\0nvme.firmware=nvme/builtin.fw\0',
  );
  await temp.write('etc/modprobe.d/local.conf', '# local\nalias my-disk dm-crypt\nblacklist foo\n');
  // Firmware: updates/ beats the main directory, the plain file beats compressed ones, and an
  // absolute symlink points inside the root.
  await temp.write('usr/lib/firmware/foo/fw-1.bin', 'main');
  await temp.write('usr/lib/firmware/updates/foo/fw-1.bin.zst', 'update');
  await temp.write('usr/lib/firmware/foo/opt-a.bin.xz', 'a');
  await temp.write('usr/lib/firmware/foo/opt-b.bin', 'b');
  await temp.write('usr/lib/firmware/real/builtin.fw', 'nvme');
  await temp.link('usr/lib/firmware/nvme/builtin.fw', '/lib/firmware/real/builtin.fw');
});

afterAll(() => temp.remove());

describe('paths inside a root', () => {
  it('follows merged-/usr and absolute symlinks inside the root', async () => {
    expect(await resolveInRoot(temp.root, '/lib/modules')).toBe('usr/lib/modules');
    expect(await resolveInRoot(temp.root, 'lib/firmware/nvme/builtin.fw')).toBe(
      'usr/lib/firmware/real/builtin.fw',
    );
  });

  it('never leaves the root', async () => {
    await temp.link('etc/escape', '../../../../etc');
    await temp.link('etc/abs-escape', '/../../etc/modprobe.d');
    expect(await resolveInRoot(temp.root, 'etc/escape/modprobe.d')).toBe('etc/modprobe.d');
    expect(await resolveInRoot(temp.root, 'etc/abs-escape/local.conf')).toBe(
      'etc/modprobe.d/local.conf',
    );
    expect(await resolveInRoot(temp.root, '../../../etc/passwd')).toBe('etc/passwd');
    expect(await readRootText(temp.root, '../../etc/passwd')).toBeUndefined();
  });

  it('gives up on symlink loops', async () => {
    await temp.link('loop/a', 'b');
    await temp.link('loop/b', 'a');
    await expect(resolveInRoot(temp.root, 'loop/a')).rejects.toThrow(/too many symlinks/);
  });
});

describe('module metadata', () => {
  it('reads .modinfo from plain, xz, zstd and gzip modules', async () => {
    for (const [path, entries] of Object.entries(MODULE_FILES)) {
      const info = await readModuleInfo(`${temp.root}/${REAL_MODDIR}/${path}`);
      expect(info.name).toBe(entries[0]?.slice('name='.length));
    }
    const wifi = await readModuleInfo(
      `${temp.root}/${REAL_MODDIR}/kernel/drivers/net/wireless/foo/foo-wifi.ko.gz`,
    );
    expect(wifi.firmware).toEqual(['foo/fw-1.bin', 'foo/fw-2.bin', 'foo/opt-*.bin']);
    expect(wifi.softdep).toEqual({ pre: [], post: ['foo_extra'], unmarked: ['ccm', 'aead2'] });
  });

  it('finds sections only in ELF64 LE objects', () => {
    const elf = elfWithModinfo(['license=GPL']);
    expect(readSection(elf, '.modinfo')?.toString()).toBe('license=GPL\0');
    expect(readSection(elf, '.modinf')).toBeUndefined();
    expect(
      readSection(Buffer.from('not an elf file at all, but long enough to be read'), '.modinfo'),
    ).toBeUndefined();
  });

  it('parses softdeps as kmod writes them, keeping unmarked names', () => {
    expect(parseSoftdep('pre: a-b c post: d')).toEqual({
      pre: ['a_b', 'c'],
      post: ['d'],
      unmarked: [],
    });
    expect(parseSoftdep('ccm aead2')).toEqual({ pre: [], post: [], unmarked: ['ccm', 'aead2'] });
  });

  it('matches shell-style alias patterns', () => {
    const pci = globToRegExp('pci:v00008086d0000100Esv*sd*bc*sc*i*');
    expect(pci.test('pci:v00008086d0000100Esv00008086sd00001376bc02sc00i00')).toBe(true);
    expect(pci.test('pci:v00008086d0000100Fsv00008086sd00001376bc02sc00i00')).toBe(false);
    expect(globToRegExp('usb:v[0-9]?').test('usb:v7x')).toBe(true);
    expect(globToRegExp('a[!b]c').test('abc')).toBe(false);
    expect(globToRegExp('x.y+(z)').test('x.y+(z)')).toBe(true);
    expect(normalizeAlias('of:N*T*Cfsl,imx-uart[-_]')).toBe('of:N*T*Cfsl,imx_uart[-_]');
  });

  it('loads a kernel through the merged-/usr symlink', async () => {
    expect(await listKernelVersions(temp.root)).toEqual([VERSION]);
    const kernel = await loadKernelModules(temp.root, VERSION);
    expect(kernel.dir).toBe(REAL_MODDIR);
    expect(kernel.modules.get('crc32c_intel')?.path).toBe(
      'kernel/arch/x86/crypto/crc32c-intel.ko.xz',
    );
    expect(kernel.modules.get('xfs')?.deps).toEqual(['libcrc32c']);
    expect([...kernel.builtin].sort()).toEqual(['ext4', 'nvme']);
    expect(resolveModuleName(kernel, 'dm-crypt')).toEqual({
      kind: 'module',
      modules: ['dm_crypt'],
    });
    expect(resolveModuleName(kernel, 'my-disk')).toEqual({ kind: 'module', modules: ['dm_crypt'] });
    expect(resolveModuleName(kernel, 'fs-ext3')).toEqual({ kind: 'builtin', name: 'ext4' });
    expect(resolveModuleName(kernel, 'nosuch')).toEqual({ kind: 'absent' });
  });

  it('refuses a kernel version that is a path', async () => {
    await expect(loadKernelModules(temp.root, '../../etc')).rejects.toThrow(/bad kernel version/);
  });
});

describe('module selection', () => {
  const mod = (path: string) => `${REAL_MODDIR}/${path}`;

  it('needed: devices, file systems, storage and extras, closed over deps and softdeps', async () => {
    const kernel = await loadKernelModules(temp.root, VERSION);
    const selection = await selectModules(kernel, {
      policy: 'needed',
      base: [],
      modaliases: [
        'pci:v00008086d0000100Esv00008086sd00001376bc02sc00i00',
        'pci:v0000DEADd0000BEEFsv00000000sd00000000bc02sc00i00',
      ],
      filesystems: ['xfs', 'iso9660', 'ext3'],
      storage: ['dm-crypt'],
      extra: ['foo-wifi', 'nvme', 'nosuch', 'ghost'],
    });
    expect(selection.files).toEqual(
      [
        'kernel/arch/x86/crypto/crc32c-intel.ko.xz',
        'kernel/crypto/ccm.ko',
        'kernel/drivers/cdrom/cdrom.ko',
        'kernel/drivers/foo/foo_extra.ko',
        'kernel/drivers/md/dm-crypt.ko',
        'kernel/drivers/md/dm-mod.ko',
        'kernel/drivers/net/ethernet/intel/e1000/e1000.ko.zst',
        'kernel/drivers/net/wireless/foo/foo-wifi.ko.gz',
        'kernel/fs/isofs/isofs.ko',
        'kernel/fs/xfs/xfs.ko',
        'kernel/lib/libcrc32c.ko',
      ].map(mod),
    );
    expect(selection.modules.find((m) => m.name === 'crc32c_intel')?.requestedBy).toEqual([
      'softdep of libcrc32c',
    ]);
    // An unmarked softdep that exists is taken; one that does not (aead2) is no problem.
    expect(selection.modules.find((m) => m.name === 'ccm')?.requestedBy).toEqual([
      'softdep of foo_wifi',
    ]);
    expect(selection.modules.find((m) => m.name === 'e1000')?.requestedBy).toEqual([
      'device pci:v00008086d0000100Esv00008086sd00001376bc02sc00i00',
    ]);
    expect(selection.builtin).toEqual([
      { name: 'ext4', requestedBy: ['filesystem ext3'] },
      { name: 'nvme', requestedBy: ['extra'] },
    ]);
    expect(selection.notFound).toEqual([
      {
        name: 'ghost',
        requestedBy: ['extra (modules.dep lists kernel/drivers/ghost.ko, not in the root)'],
      },
      { name: 'nosuch', requestedBy: ['extra'] },
      { name: 'xts', requestedBy: ['softdep of dm_crypt'] },
    ]);
    expect(selection.unmatchedModaliases).toEqual([
      'pci:v0000DEADd0000BEEFsv00000000sd00000000bc02sc00i00',
    ]);
    expect(selection.bytes).toBe(selection.modules.reduce((sum, m) => sum + m.size, 0));

    expect(selection.firmware.found.map((f) => [f.name, f.path, f.realPath, f.modules])).toEqual([
      [
        'foo/opt-a.bin',
        'lib/firmware/foo/opt-a.bin.xz',
        'usr/lib/firmware/foo/opt-a.bin.xz',
        ['foo_wifi'],
      ],
      [
        'foo/opt-b.bin',
        'lib/firmware/foo/opt-b.bin',
        'usr/lib/firmware/foo/opt-b.bin',
        ['foo_wifi'],
      ],
      [
        'nvme/builtin.fw',
        'lib/firmware/nvme/builtin.fw',
        'usr/lib/firmware/real/builtin.fw',
        ['nvme'],
      ],
      [
        'foo/fw-1.bin',
        'lib/firmware/updates/foo/fw-1.bin.zst',
        'usr/lib/firmware/updates/foo/fw-1.bin.zst',
        ['foo_wifi'],
      ],
    ]);
    expect(selection.firmware.missing).toEqual([{ name: 'foo/fw-2.bin', modules: ['foo_wifi'] }]);
  });

  it('needed: the base set by default, with absent names reported', async () => {
    const kernel = await loadKernelModules(temp.root, VERSION);
    const selection = await selectModules(kernel, { policy: 'needed' });
    expect(selection.builtin.map((b) => b.name)).toEqual(['ext4', 'nvme']);
    expect(selection.files).toEqual(
      [
        'kernel/drivers/cdrom/cdrom.ko',
        'kernel/drivers/md/dm-crypt.ko',
        'kernel/drivers/md/dm-mod.ko',
      ]
        .concat([
          'kernel/drivers/net/ethernet/intel/e1000/e1000.ko.zst',
          'kernel/fs/isofs/isofs.ko',
        ])
        .concat(['kernel/fs/xfs/xfs.ko', 'kernel/lib/libcrc32c.ko'])
        .concat(['kernel/arch/x86/crypto/crc32c-intel.ko.xz'])
        .map(mod)
        .sort(),
    );
    const absent = selection.notFound.filter((n) => n.requestedBy.includes('base'));
    expect(absent.map((n) => n.name)).toContain('ahci');
    expect(absent.length).toBe(BASE_RESCUE_MODULES.length - 7 /* found or built in */);
  });

  it('loaded: the modules of a /proc/modules text', async () => {
    const proc =
      'isofs 61440 1 - Live 0x0000000000000000\ndm_crypt 65536 0 - Live 0x0000000000000000\n';
    expect(parseProcModules(proc)).toEqual(['isofs', 'dm_crypt']);
    const kernel = await loadKernelModules(temp.root, VERSION);
    const selection = await selectModules(kernel, { policy: 'loaded', procModules: proc });
    expect(selection.modules.map((m) => m.name).sort()).toEqual([
      'cdrom',
      'dm_crypt',
      'dm_mod',
      'isofs',
    ]);
    expect(selection.notFound.map((n) => n.name)).toEqual(['xts']);
  });

  it('all: every module file the kernel lists', async () => {
    const kernel = await loadKernelModules(temp.root, VERSION);
    const selection = await selectModules(kernel, { policy: 'all' });
    expect(selection.files).toEqual(Object.keys(MODULE_FILES).map(mod).sort());
    expect(selection.notFound.map((n) => n.name)).toEqual(['ghost', 'xts']);
    expect(selection.builtin.map((b) => b.name)).toEqual(['ext4', 'nvme']);
    expect(selection.firmware.found).toHaveLength(4);
  });

  it('reports firmware that is nowhere as missing', async () => {
    const lookup = await findFirmware(
      temp.root,
      VERSION,
      new Map([['../escape.bin', new Set(['x'])]]),
    );
    expect(lookup).toEqual({ found: [], missing: [{ name: '../escape.bin', modules: ['x'] }] });
  });
});
