import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaptureManifest } from '../capture/manifest.js';
import { emptyLayout, type Layout } from '../layout/model.js';
import type { LayoutPlan } from '../layout/plan.js';
import { decideInitramfs, hostDriverModules, type InitramfsFacts } from './initramfs-decision.js';
import { driversHere, idDifferences, kernelsIn, resizedDisks } from './initramfs-facts.js';

const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-initramfs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A recovery onto the captured disks: nothing the initramfs depends on changed. */
function asCaptured(): InitramfsFacts {
  return {
    layout: { renames: new Map(), resized: [], ids: [] },
    drivers: {
      uses: [
        { module: 'virtio_blk', device: '/dev/vda' },
        { module: 'virtio_pci', device: '/dev/vda' },
        { module: 'virtio_net', device: 'network card eth0' },
      ],
      unreadable: [],
    },
    hostDrivers: new Set(['virtio_blk', 'virtio_pci', 'virtio_net', 'ata_piix']),
    kernels: [{ version: '6.1.0-28-amd64', initramfs: true }],
  };
}

const auto = (change: (facts: InitramfsFacts) => void) => {
  const facts = asCaptured();
  change(facts);
  return decideInitramfs('auto', facts);
};

describe('decideInitramfs', () => {
  it('keeps the initramfs when disks, ids, drivers and kernels are as captured', () => {
    expect(decideInitramfs('auto', asCaptured())).toEqual({
      regenerate: false,
      because:
        'disk names, sizes and ids, and the drivers of the disks and network cards are as captured, and every kernel has its initramfs',
    });
  });

  it('regenerates when a disk has another name here', () => {
    const decision = auto((f) => {
      f.layout = { renames: new Map([['/dev/sda', '/dev/vdb']]), resized: [], ids: [] };
    });
    expect(decision.regenerate).toBe(true);
    expect(decision.because).toBe('disks have other names here (/dev/sda → /dev/vdb)');
  });

  it('regenerates when the layout was migrated to another disk size', () => {
    const decision = auto((f) => {
      f.layout = {
        renames: new Map(),
        resized: ['/dev/vda: 4.0 GiB captured, 6.0 GiB here'],
        ids: [],
      };
    });
    expect(decision).toEqual({
      regenerate: true,
      because:
        'the layout was migrated to other disk sizes (/dev/vda: 4.0 GiB captured, 6.0 GiB here)',
    });
  });

  it('regenerates when an id is not the captured one, or cannot be read', () => {
    const changed = auto((f) => {
      f.layout = {
        renames: new Map(),
        resized: [],
        ids: [
          {
            what: 'the UUID of file system /dev/mapper/vg-root (/)',
            captured: 'aaaa',
            here: 'bbbb',
          },
        ],
      };
    });
    expect(changed).toEqual({
      regenerate: true,
      because: 'the UUID of file system /dev/mapper/vg-root (/) changed (aaaa captured, bbbb here)',
    });
    const missing = auto((f) => {
      f.layout = {
        renames: new Map(),
        resized: [],
        ids: [{ what: 'the UUID of RAID /dev/md0', captured: 'a:b:c:d', here: undefined }],
      };
    });
    expect(missing.regenerate).toBe(true);
    expect(missing.because).toBe(
      'the UUID of RAID /dev/md0 cannot be read here (captured: a:b:c:d)',
    );
  });

  it('regenerates when this recovery did not recreate the disks (restoreonly)', () => {
    const decision = auto((f) => {
      delete f.layout;
    });
    expect(decision).toEqual({
      regenerate: true,
      because: 'this recovery did not recreate the disks, so their ids are unknown',
    });
  });

  it('regenerates when a disk or card here uses a driver the captured host did not', () => {
    const decision = auto((f) => {
      f.drivers = {
        uses: [
          { module: 'ahci', device: '/dev/sda' },
          { module: 'sd_mod', device: '/dev/sda' },
          { module: 'virtio_net', device: 'network card eth0' },
        ],
        unreadable: [],
      };
    });
    expect(decision).toEqual({
      regenerate: true,
      because: '/dev/sda uses ahci, /dev/sda uses sd_mod here, which the captured host did not',
    });
  });

  it('regenerates when the drivers here or the host’s cannot be known', () => {
    expect(auto((f) => (f.drivers = { uses: [], unreadable: ['/dev/vda'] }))).toEqual({
      regenerate: true,
      because: 'the drivers of /dev/vda cannot be read here',
    });
    const unknown =
      'the capture took every module (rescue.modules all), so the drivers the host used are unknown';
    expect(auto((f) => (f.hostDrivers = unknown))).toEqual({ regenerate: true, because: unknown });
  });

  it('regenerates when a kernel in /boot has no initramfs, or /boot has no kernel', () => {
    expect(
      auto((f) => {
        f.kernels = [
          { version: '6.1.0-27-amd64', initramfs: true },
          { version: '6.1.0-28-amd64', initramfs: false },
        ];
      }),
    ).toEqual({
      regenerate: true,
      because: 'the restored /boot has no initramfs for 6.1.0-28-amd64',
    });
    expect(auto((f) => (f.kernels = [])).regenerate).toBe(true);
  });

  it('does as recovery.regenerateInitramfs says when it is always or never', () => {
    expect(decideInitramfs('always', asCaptured())).toEqual({
      regenerate: true,
      because: 'recovery.regenerateInitramfs is always',
    });
    const facts = asCaptured();
    facts.kernels = [{ version: '6.1.0-28-amd64', initramfs: false }];
    expect(decideInitramfs('never', facts)).toEqual({
      regenerate: false,
      because:
        'recovery.regenerateInitramfs is never, though the restored /boot has no initramfs for 6.1.0-28-amd64',
    });
  });
});

describe('hostDriverModules', () => {
  const capture = (source: CaptureManifest['source']) =>
    ({
      source,
      kernel: {
        modules: [
          { name: 'virtio_blk', path: 'x', requestedBy: ['device virtio:d00000002v00001AF4'] },
          { name: 'ahci', path: 'x', requestedBy: ['base'] },
          { name: 'e1000', path: 'x', requestedBy: ['loaded'] },
        ],
      },
      network: { interfaces: [{ name: 'eth0', driver: 'virtio_net' }] },
    }) as unknown as CaptureManifest;

  it('takes the modules of the host’s devices, not the rescue system’s base set', () => {
    const modules = hostDriverModules(capture({ live: true, modulePolicy: 'needed' }));
    expect(modules).toEqual(new Set(['virtio_blk', 'e1000', 'virtio_net']));
  });

  it('says why when the capture cannot tell', () => {
    expect(hostDriverModules(undefined)).toMatch(/^no capture on this system/);
    expect(hostDriverModules(capture({ live: true, modulePolicy: 'all' }))).toMatch(
      /rescue.modules all/,
    );
    expect(hostDriverModules(capture({ live: false, modulePolicy: 'needed' }))).toMatch(
      /a root, not a running host/,
    );
  });
});

describe('the facts, read from this machine', () => {
  it('finds the modules under a disk and a network card in sysfs, not built-in drivers', () => {
    const sys = join(scratch, 'sys');
    const pci = join(sys, 'devices', 'pci0000:00');
    const link = (at: string, to: string) => {
      mkdirSync(dirname(at), { recursive: true });
      mkdirSync(to, { recursive: true });
      // Two devices share one driver: its module link is made once.
      if (!existsSync(at)) symlinkSync(relative(dirname(at), to), at);
    };
    const driver = (device: string, bus: string, name: string, module?: string) => {
      const dir = join(sys, 'bus', bus, 'drivers', name);
      link(join(device, 'driver'), dir);
      if (module) link(join(dir, 'module'), join(sys, 'module', module));
    };
    const disk = join(pci, '0000:00:04.0', 'virtio2', 'block', 'vda');
    const card = join(pci, '0000:00:03.0', 'virtio0', 'net', 'eth0');
    link(join(sys, 'class', 'block', 'vda'), disk);
    link(join(sys, 'class', 'net', 'eth0'), card);
    link(join(sys, 'class', 'net', 'lo'), join(sys, 'devices', 'virtual', 'net', 'lo'));
    driver(join(pci, '0000:00:04.0', 'virtio2'), 'virtio', 'virtio_blk', 'virtio_blk');
    driver(join(pci, '0000:00:04.0'), 'pci', 'virtio-pci', 'virtio_pci');
    driver(join(pci, '0000:00:03.0', 'virtio0'), 'virtio', 'virtio_net', 'virtio_net');
    driver(join(pci, '0000:00:03.0'), 'pci', 'virtio-pci', 'virtio_pci');
    // A built-in driver (no module link): the same kernel the host ran, nothing to compare.
    driver(join(pci, '0000:00:04.0', 'virtio2', 'block'), 'none', 'builtin');
    return driversHere(['/dev/vda', '/dev/lifeboat-no-such-disk'], sys).then((found) => {
      expect(found.uses).toEqual([
        { module: 'virtio_blk', device: '/dev/vda' },
        { module: 'virtio_pci', device: '/dev/vda' },
        { module: 'virtio_net', device: 'network card eth0' },
        { module: 'virtio_pci', device: 'network card eth0' },
      ]);
      expect(found.unreadable).toEqual(['/dev/lifeboat-no-such-disk']);
    });
  });

  it('reads this machine’s own sysfs without error', async () => {
    const found = await driversHere([], '/sys');
    expect(found.unreadable).toEqual([]);
  });

  it('finds which kernels of a restored /boot have an initramfs', async () => {
    const boot = join(scratch, 'boot');
    mkdirSync(boot);
    for (const [name, text] of [
      ['vmlinuz-6.1.0-27-amd64', 'k'],
      ['initrd.img-6.1.0-27-amd64', 'i'],
      ['vmlinuz-6.1.0-28-amd64', 'k'],
      ['initrd.img-6.1.0-28-amd64', ''],
      ['vmlinuz-6.8.5-301.fc40.x86_64', 'k'],
      ['initramfs-6.8.5-301.fc40.x86_64.img', 'i'],
      ['config-6.1.0-27-amd64', 'c'],
    ] as const)
      writeFileSync(join(boot, name), text);
    expect(await kernelsIn(boot)).toEqual([
      { version: '6.1.0-27-amd64', initramfs: true },
      // An empty file is no initramfs (a backup that kept the name, not the content).
      { version: '6.1.0-28-amd64', initramfs: false },
      { version: '6.8.5-301.fc40.x86_64', initramfs: true },
    ]);
    expect(await kernelsIn(join(scratch, 'no-boot'))).toEqual([]);
  });

  it('probes the ids of the recreated layout and names those that are not the captured ones', async () => {
    const fs = join(scratch, 'root.img');
    const swap = join(scratch, 'swap.img');
    await execa('truncate', ['-s', '32M', fs, swap]);
    await execa('mkfs.ext4', ['-q', '-F', '-U', '0b5bd1e6-6f7c-4c8e-9d0a-6d9b1f0e2a11', fs]);
    await execa('mkswap', ['-U', '5a1f0c3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b', swap]);
    const layout: Layout = {
      ...emptyLayout(),
      filesystems: [
        { device: fs, type: 'ext4', uuid: '0B5BD1E6-6F7C-4C8E-9D0A-6D9B1F0E2A11', options: {} },
      ],
      swaps: [{ device: swap, uuid: '5a1f0c3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b' }],
      mounts: [{ device: fs, mountpoint: '/', type: 'ext4', options: 'rw' }],
    };
    expect(await idDifferences(layout)).toEqual([]);

    const other = structuredClone(layout);
    other.swaps = [{ device: swap, uuid: '11111111-2222-3333-4444-555555555555' }];
    other.filesystems.push({
      device: join(scratch, 'no-such.img'),
      type: 'xfs',
      uuid: 'c0ffee00-0000-0000-0000-000000000000',
      options: {},
    });
    expect(await idDifferences(other)).toEqual([
      {
        what: `the UUID of file system ${join(scratch, 'no-such.img')}`,
        captured: 'c0ffee00-0000-0000-0000-000000000000',
        here: undefined,
      },
      {
        what: `the UUID of swap ${swap}`,
        captured: '11111111-2222-3333-4444-555555555555',
        here: '5a1f0c3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b',
      },
    ]);
  });

  it('names the disks the layout was scaled onto', () => {
    const GiB = 2 ** 30;
    const disk = (device: string, size: number) => ({
      device,
      size,
      logicalSectorSize: 512,
      physicalSectorSize: 512,
      table: null,
    });
    const captured: Layout = {
      ...emptyLayout(),
      disks: [disk('/dev/sda', 4 * GiB), disk('/dev/sdb', 2 * GiB)],
    };
    const plan = {
      migration: {
        disks: new Map([
          ['/dev/sda', '/dev/vda'],
          ['/dev/sdb', '/dev/vdb'],
        ]),
      },
      layout: { ...emptyLayout(), disks: [disk('/dev/vda', 6 * GiB), disk('/dev/vdb', 2 * GiB)] },
    } as unknown as LayoutPlan;
    expect(resizedDisks(captured, plan)).toEqual(['/dev/vda: 4.0 GiB captured, 6.0 GiB here']);
    expect(
      resizedDisks(captured, {
        ...plan,
        layout: { ...emptyLayout(), disks: [disk('/dev/vda', 4 * GiB)] },
      } as LayoutPlan),
    ).toEqual([]);
  });
});
