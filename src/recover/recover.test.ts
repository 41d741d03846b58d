import { describe, expect, it } from 'vitest';
import { type Disk, emptyLayout, type Layout } from '../layout/model.js';
import { deviceRenames } from '../layout/plan.js';
import { BIOS_BOOT_TYPE, bootloaderId, ESP_TYPE, grubTargets } from './finalize-grub.js';
import { rewriteDeviceNames } from './finalize-ids.js';
import { chooseInitramfsTool } from './finalize-initramfs.js';
import { continueState } from './state.js';

describe('rewriteDeviceNames', () => {
  const renames = new Map([
    ['/dev/sda', '/dev/vdb'],
    ['/dev/sda1', '/dev/vdb1'],
    ['/dev/sda2', '/dev/vdb2'],
    ['/dev/vdb', '/dev/sda'],
    ['/dev/vdb1', '/dev/sda1'],
  ]);

  it('rewrites fstab device names, leaving UUID entries and longer names alone', () => {
    const fstab = [
      '# /etc/fstab',
      '/dev/sda2  /      ext4  errors=remount-ro 0 1',
      'UUID=1234-ABCD  /boot/efi  vfat  umask=0077 0 1',
      '/dev/sda10 /data ext4 defaults 0 2',
      '/dev/sda1\tnone swap sw 0 0',
      '',
    ].join('\n');
    expect(rewriteDeviceNames(fstab, renames)).toBe(
      [
        '# /etc/fstab',
        '/dev/vdb2  /      ext4  errors=remount-ro 0 1',
        'UUID=1234-ABCD  /boot/efi  vfat  umask=0077 0 1',
        '/dev/sda10 /data ext4 defaults 0 2',
        '/dev/vdb1\tnone swap sw 0 0',
        '',
      ].join('\n'),
    );
  });

  it('swaps two disks in one pass (not there and back again)', () => {
    expect(rewriteDeviceNames('a /dev/sda1 b /dev/vdb1', renames)).toBe('a /dev/vdb1 b /dev/sda1');
  });

  it('rewrites crypttab sources and GRUB kernel arguments', () => {
    expect(rewriteDeviceNames('cryptroot /dev/sda2 none luks,discard\n', renames)).toBe(
      'cryptroot /dev/vdb2 none luks,discard\n',
    );
    expect(
      rewriteDeviceNames('GRUB_CMDLINE_LINUX="root=/dev/sda2 resume=/dev/sda1"', renames),
    ).toBe('GRUB_CMDLINE_LINUX="root=/dev/vdb2 resume=/dev/vdb1"');
    expect(rewriteDeviceNames('linux /vmlinuz root=/dev/sda2 ro', renames)).toBe(
      'linux /vmlinuz root=/dev/vdb2 ro',
    );
  });

  it('changes nothing without renames, nor inside /dev/disk/by-* paths', () => {
    expect(rewriteDeviceNames('/dev/sda1 /', new Map())).toBe('/dev/sda1 /');
    expect(rewriteDeviceNames('/dev/disk/by-id/x/dev/sda1', renames)).toBe(
      '/dev/disk/by-id/x/dev/sda1',
    );
  });
});

describe('chooseInitramfsTool', () => {
  const has =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);

  it('auto picks the tool the restored system has', () => {
    expect(chooseInitramfsTool('auto', has('usr/sbin/update-initramfs'))?.argv).toEqual([
      'update-initramfs',
      '-u',
      '-k',
      'all',
    ]);
    expect(chooseInitramfsTool('auto', has('usr/bin/dracut'))?.argv).toEqual([
      'dracut',
      '--force',
      '--regenerate-all',
    ]);
    expect(chooseInitramfsTool('auto', has('sbin/mkinitrd'))?.tool).toBe('mkinitrd');
    expect(chooseInitramfsTool('auto', has())).toBeUndefined();
  });

  it('takes the configured tool, and refuses it when the system lacks it', () => {
    expect(
      chooseInitramfsTool('dracut', has('usr/sbin/update-initramfs', 'usr/bin/dracut'))?.tool,
    ).toBe('dracut');
    expect(() => chooseInitramfsTool('dracut', has('usr/sbin/update-initramfs'))).toThrow(
      /recovery.initramfsTool is dracut, and the restored system has no dracut/,
    );
  });
});

function disk(device: string, type: 'gpt' | 'dos', parts: [number, string, boolean?][]): Disk {
  return {
    device,
    size: 10 * 2 ** 30,
    logicalSectorSize: 512,
    physicalSectorSize: 512,
    table: {
      type,
      id: 'x',
      partitions: parts.map(([n, t, bootable]) => ({
        device: `${device}${n}`,
        number: n,
        start: 2048 * n,
        size: 2048,
        type: t,
        ...(bootable === undefined ? {} : { bootable }),
      })),
    },
  };
}

function layoutOf(disks: Disk[], mounts: [string, string][]): Layout {
  return {
    ...emptyLayout(),
    disks,
    mounts: mounts.map(([device, mountpoint]) => ({
      device,
      mountpoint,
      type: 'ext4',
      options: '',
    })),
  };
}

describe('grubTargets', () => {
  it('a GPT disk with a BIOS boot partition and an ESP gets both', () => {
    const layout = layoutOf(
      [
        disk('/dev/vda', 'gpt', [
          [1, BIOS_BOOT_TYPE],
          [2, ESP_TYPE],
          [3, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
        ]),
      ],
      [
        ['/dev/vda3', '/'],
        ['/dev/vda2', '/boot/efi'],
      ],
    );
    expect(grubTargets(layout)).toEqual([
      { kind: 'bios', disk: '/dev/vda' },
      { kind: 'efi', disk: '/dev/vda', partition: 2, mountpoint: '/boot/efi' },
    ]);
  });

  it('an MBR disk holding /boot gets i386-pc; a data disk nothing', () => {
    const layout = layoutOf(
      [
        disk('/dev/sda', 'dos', [
          [1, '83'],
          [2, '8e'],
        ]),
        disk('/dev/sdb', 'dos', [[1, '83']]),
      ],
      [
        ['/dev/sda1', '/boot'],
        ['/dev/mapper/vg-root', '/'],
        ['/dev/sdb1', '/srv'],
      ],
    );
    expect(grubTargets(layout)).toEqual([{ kind: 'bios', disk: '/dev/sda' }]);
  });

  it('a GPT disk without a BIOS boot partition boots by UEFI only; an unmounted ESP uses the captured mount point', () => {
    const layout = layoutOf([disk('/dev/nvme0n1p', 'gpt', [[1, ESP_TYPE.toLowerCase()]])], []);
    expect(grubTargets(layout, '/efi')).toEqual([
      { kind: 'efi', disk: '/dev/nvme0n1p', partition: 1, mountpoint: '/efi' },
    ]);
    expect(grubTargets(layout)).toEqual([]);
  });
});

describe('bootloaderId', () => {
  const efi = {
    bootCurrent: '0001',
    bootOrder: ['0001'],
    entries: [
      { id: '0001', description: 'debian', path: '\\EFI\\debian\\shimx64.efi', active: true },
    ],
  };
  it('takes the directory the host booted from, else the OS id', () => {
    expect(bootloaderId(efi, 'ubuntu')).toBe('debian');
    expect(bootloaderId(null, 'ubuntu')).toBe('ubuntu');
    expect(bootloaderId(undefined, undefined)).toBe('lifeboat');
  });
});

describe('deviceRenames', () => {
  it('maps a migrated disk and its partitions, nvme naming included', () => {
    const captured = layoutOf(
      [
        disk('/dev/sda', 'gpt', [
          [1, ESP_TYPE],
          [2, '83'],
        ]),
      ],
      [],
    );
    const renames = deviceRenames(captured, {
      disks: new Map([['/dev/sda', '/dev/nvme0n1']]),
      layout: captured,
      notes: [],
      shrunk: [],
    });
    expect([...renames]).toEqual([
      ['/dev/sda', '/dev/nvme0n1'],
      ['/dev/sda1', '/dev/nvme0n1p1'],
      ['/dev/sda2', '/dev/nvme0n1p2'],
    ]);
  });
});

describe('continueState', () => {
  const now = new Date('2026-12-02T05:00:00Z');
  it('starts fresh, then says on a rerun what it redoes', () => {
    const first = continueState(undefined, 'recover', '/mnt/local', now);
    expect(first.rerun).toBeUndefined();
    first.state.done.config = 'x';
    first.state.done.verify = 'y';
    first.state.failed = { stage: 'recreate', message: 'mkfs failed', at: 'z' };
    const again = continueState(first.state, 'recover', '/mnt/local', now);
    expect(again.rerun).toBe(
      'recover run 2: the last run failed in recreate (mkfs failed); redoing config, verify (safe: each is idempotent)',
    );
    expect(again.state.failed).toBeUndefined();
    expect(
      continueState({ ...again.state, completed: 'w' }, 'recover', '/mnt/local', now).rerun,
    ).toBeUndefined();
    expect(continueState(again.state, 'recover', '/mnt/other', now).rerun).toBeUndefined();
  });
});
