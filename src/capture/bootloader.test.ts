import { describe, expect, it } from 'vitest';
import { cleanUpRoots, makeRoot, type Tree } from '../../test/support/capture-roots.js';
import { readBootloader } from './bootloader.js';
import { findEsp, parseMountTable } from './bootloader-esp.js';
import { modinfoVersion, parseModinfo } from './bootloader-grub.js';
import { EFI_GLOBAL_GUID } from './efivars.js';

cleanUpRoots();

const MODINFO = (platform: string) => `#!/bin/sh

# User-controllable options
grub_modinfo_target_cpu=${platform.split('-')[0]}
grub_modinfo_platform=${platform.split('-')[1]}
grub_disk_cache_stats=0
grub_boot_time_stats=0
grub_have_font_source=1

# Autodetected config
grub_have_asm_uscore=0
grub_bss_start_symbol=""
grub_end_symbol=""

# Build environment
grub_target_cc='gcc-12'
grub_target_cc_version='gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0'
grub_version="2.06"
grub_package="grub"
grub_package_name="GRUB"
grub_package_version="2.06-13+deb12u2"
`;

describe('GRUB', () => {
  it('reads the version from modinfo.sh without running it', () => {
    const fields = parseModinfo(MODINFO('x86_64-efi'));
    expect(fields.grub_modinfo_platform).toBe('efi');
    expect(fields.grub_target_cc_version).toBe('gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0');
    expect(modinfoVersion(fields)).toBe('2.06-13+deb12u2');
    expect(modinfoVersion({ grub_version: '2.12', grub_package_version: 'grub2' })).toBe('2.12');
    expect(modinfoVersion({})).toBeNull();
  });

  it('finds available and installed platforms and the config file', async () => {
    const view = await makeRoot({
      '/usr/lib/grub/i386-pc/modinfo.sh': MODINFO('i386-pc'),
      '/usr/lib/grub/i386-pc/normal.mod': '',
      '/usr/lib/grub/x86_64-efi/modinfo.sh': MODINFO('x86_64-efi'),
      '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed': '',
      '/usr/lib/grub/grub-mkconfig_lib': '',
      '/boot/grub/i386-pc/modinfo.sh': MODINFO('i386-pc'),
      '/boot/grub/i386-pc/normal.mod': '',
      '/boot/grub/fonts/unicode.pf2': '',
      '/boot/grub/locale/de.mo': '',
      '/boot/grub/grub.cfg': 'set default=0\n',
    });
    const { section, warnings } = await readBootloader(view, { live: false });
    expect(section.grub).toEqual({
      version: '2.06-13+deb12u2',
      installedTargets: ['i386-pc'],
      availableTargets: ['i386-pc', 'x86_64-efi'],
      configFile: '/boot/grub/grub.cfg',
    });
    expect(section.efi).toBeNull();
    expect(warnings).toEqual([]);
  });

  it('knows Fedora-style /boot/grub2 and says null without any GRUB', async () => {
    const fedora = await makeRoot({
      '/usr/lib/grub/i386-pc/modinfo.sh': 'grub_version="2.06"\n',
      '/boot/grub2/i386-pc/normal.mod': '',
      '/boot/grub2/grub.cfg': '',
    });
    expect((await readBootloader(fedora, { live: false })).section.grub).toEqual({
      version: '2.06',
      installedTargets: ['i386-pc'],
      availableTargets: ['i386-pc'],
      configFile: '/boot/grub2/grub.cfg',
    });
    const none = await makeRoot({ '/boot/vmlinuz-6.1.0': '' });
    expect((await readBootloader(none, { live: false })).section).toEqual({
      grub: null,
      esp: null,
      efi: null,
    });
  });
});

describe('ESP', () => {
  it('parses fstab and mount tables, octal escapes included', () => {
    expect(
      parseMountTable(
        '# comment\nUUID=1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\n',
      ),
    ).toEqual([
      { device: 'UUID=1', mountPoint: '/', fsType: 'ext4' },
      { device: '/dev/sdb1', mountPoint: '/mnt/my disk', fsType: 'vfat' },
    ]);
    expect(
      findEsp(parseMountTable('systemd-1 /efi autofs rw 0 0\n/dev/nvme0n1p1 /efi vfat rw 0 0\n')),
    ).toEqual({ mountPoint: '/efi', device: '/dev/nvme0n1p1' });
    expect(findEsp(parseMountTable('/dev/sda1 /boot vfat rw 0 0\n'))).toEqual({
      mountPoint: '/boot',
      device: '/dev/sda1',
    });
    expect(findEsp(parseMountTable('/dev/sda1 /boot ext4 rw 0 0\n'))).toBeNull();
  });

  const FSTAB = [
    '# /etc/fstab: static file system information.',
    'UUID=0a1b2c3d-0000-4000-8000-000000000001 /         ext4 errors=remount-ro 0 1',
    'UUID=ABCD-1234                            /boot/efi vfat umask=0077        0 1',
    '/swapfile                                 none      swap sw                0 0',
  ].join('\n');

  it('takes the ESP of a root from its fstab, as written', async () => {
    const view = await makeRoot({ '/etc/fstab': FSTAB });
    expect((await readBootloader(view, { live: false })).section.esp).toEqual({
      mountPoint: '/boot/efi',
      device: 'UUID=ABCD-1234',
    });
  });

  it('prefers the mount table on the live host', async () => {
    const view = await makeRoot({
      '/etc/fstab': FSTAB,
      '/proc/self/mounts': '/dev/vda2 / ext4 rw 0 0\n/dev/vda1 /boot/efi vfat rw,relatime 0 0\n',
    });
    expect((await readBootloader(view, { live: true })).section.esp).toEqual({
      mountPoint: '/boot/efi',
      device: '/dev/vda1',
    });
    const unmounted = await makeRoot({
      '/etc/fstab': FSTAB,
      '/proc/self/mounts': '/dev/vda2 / ext4 rw 0 0\n',
    });
    expect((await readBootloader(unmounted, { live: true })).section.esp?.device).toBe(
      'UUID=ABCD-1234',
    );
  });
});

describe('EFI boot entries', () => {
  const variable = (value: Buffer) => Buffer.concat([Buffer.from([0x07, 0, 0, 0]), value]);
  const u16s = (...values: number[]) => {
    const buffer = Buffer.alloc(values.length * 2);
    for (const [i, v] of values.entries()) buffer.writeUInt16LE(v, i * 2);
    return buffer;
  };
  function loadOption(attributes: number, description: string, path: string | null): Buffer {
    const nodes: Buffer[] = [];
    if (path !== null) {
      const data = Buffer.from(`${path}\0`, 'utf16le');
      const header = Buffer.from([4, 4, 0, 0]);
      header.writeUInt16LE(4 + data.length, 2);
      nodes.push(header, data);
    }
    nodes.push(Buffer.from([0x7f, 0xff, 4, 0]));
    const list = Buffer.concat(nodes);
    const head = Buffer.alloc(6);
    head.writeUInt32LE(attributes, 0);
    head.writeUInt16LE(list.length, 4);
    return Buffer.concat([head, Buffer.from(`${description}\0`, 'utf16le'), list]);
  }
  const efivars = (name: string) => `/sys/firmware/efi/efivars/${name}-${EFI_GLOBAL_GUID}`;

  it('reads BootCurrent, BootOrder and the entries of a live UEFI host', async () => {
    const tree: Tree = {
      [efivars('BootCurrent')]: variable(u16s(0x0001)),
      [efivars('BootOrder')]: variable(u16s(0x0001, 0x000a, 0x0002)),
      [efivars('Boot0001')]: variable(loadOption(1, 'debian', '\\EFI\\debian\\shimx64.efi')),
      [efivars('Boot000A')]: variable(loadOption(0, 'UEFI PXEv4', null)),
      [efivars('Boot0002')]: variable(Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0x41])),
      [efivars('Timeout')]: variable(u16s(5)),
      '/sys/firmware/efi/efivars/Boot0003-0123abcd-0000-0000-0000-000000000000': variable(
        Buffer.alloc(2),
      ),
    };
    const view = await makeRoot(tree);
    const { section, warnings } = await readBootloader(view, { live: true });
    expect(section.efi).toEqual({
      bootCurrent: '0001',
      bootOrder: ['0001', '000A', '0002'],
      entries: [
        { id: '0001', description: 'debian', path: '\\EFI\\debian\\shimx64.efi', active: true },
        { id: '000A', description: 'UEFI PXEv4', path: null, active: false },
      ],
    });
    expect(warnings).toEqual([expect.stringContaining('Boot0002 cannot be decoded')]);
    // A root is not the running host: its /sys says nothing about firmware.
    expect((await readBootloader(view, { live: false })).section.efi).toBeNull();
  });

  it('warns when efivarfs is not mounted and leaves BIOS hosts alone', async () => {
    const uefi = await makeRoot({ '/sys/firmware/efi/efivars': { dir: true } });
    const result = await readBootloader(uefi, { live: true });
    expect(result.section.efi).toBeNull();
    expect(result.warnings).toEqual([expect.stringContaining('efivarfs not mounted')]);
    const bios = await makeRoot({ '/sys/firmware': { dir: true } });
    expect(await readBootloader(bios, { live: true })).toEqual({
      section: { grub: null, esp: null, efi: null },
      warnings: [],
    });
  });
});
