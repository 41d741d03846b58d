import { describe, expect, it } from 'vitest';
import { captureFixture, file, LIB } from '../../test/support/capture-fixture.js';
import type { CaptureManifest } from './manifest.js';
import { formatCaptureSummary } from './show.js';
import { fileStats } from './show-files.js';
import { countOf, formatBytes } from './show-units.js';

/** The fixture host with one of every problem a capture can report. */
function withProblems(): CaptureManifest {
  const manifest = captureFixture();
  if (manifest.kernel === null) throw new Error('fixture without kernel');
  manifest.programs.missing.push(
    { name: 'lvm', required: true },
    { name: 'mdadm', required: false },
  );
  manifest.libraries.unresolved.push(
    // Needed by a library: the program it is for is named, the library too.
    { name: 'libidn2.so.0', neededBy: [`${LIB}/libcurl.so.4.8.0`] },
    // Needed by a program directly.
    { name: 'libreadline.so.8', neededBy: ['/usr/bin/bash'] },
  );
  manifest.libraries.extrasNotFound.push('libnss_mdns4_minimal.so.2');
  manifest.copyAsIs.missing.push('/root/.ssh/authorized_keys');
  manifest.kernel.notFound.push({ name: 'zfs', requestedBy: ['rescue.modules'] });
  manifest.kernel.firmware.missing.push({ name: 'i915/tgl_dmc_ver2_12.bin', modules: ['i915'] });
  return manifest;
}

describe('formatCaptureSummary', () => {
  it('prints a small capture exactly', () => {
    expect(formatCaptureSummary(captureFixture(), { bundleBytes: 5_900_000 })).toBe(
      `Capture of web1: live host, module policy "needed"

Host
  hostname          web1
  os                Debian GNU/Linux 12 (bookworm)
  arch              x86_64
  boot mode         uefi

Kernel
  version           6.1.0-18-amd64
  image             /boot/vmlinuz-6.1.0-18-amd64
  modules           3 (1.7 MiB), 1 builtin, 0 not found
  not found         none
  base absent       none
  firmware          0 found, 0 missing
  firmware missing  none

Programs
  found             2 (1 required, 1 optional)
  missing           none

Libraries
  resolved          4 (0 from the dlopen list)
  unresolved        none
  dlopen no match   none

Copied as is
  include           2 paths, 1 exclusion
  missing           none

Network (live)
  eth0              52:54:00:12:34:56, static, 192.0.2.10/24 2001:db8::10/64, mtu 1500, driver virtio_net
  default route     via 192.0.2.1 dev eth0
  other routes      192.0.2.0/24 dev eth0
  dns               192.0.2.53; search example.com

Bootloader
  grub              2.06-13+deb12u1; installed x86_64-efi; available x86_64-efi
  esp               /boot/efi (/dev/vda1)
  efi boot order    0001, 0000
  efi entries         0000 UEFI QEMU HARDDISK
                    * 0001 debian \\EFI\\debian\\shimx64.efi

Files
  entries           16: 11 files, 4 symlinks, 1 directory
  regular files     5.9 MiB, 11 unique contents (5.9 MiB)
  bundle            5.6 MiB

Warnings (0)
  none

Problems: none
`,
    );
  });

  it('marks every missing and unresolved item with "!" and says who needs it', () => {
    const lines = formatCaptureSummary(withProblems()).split('\n');
    const marked = lines.filter((line) => line.startsWith('!'));
    expect(marked).toEqual([
      '! not found         zfs (requested by rescue.modules)',
      '! firmware missing  i915/tgl_dmc_ver2_12.bin (for i915)',
      '! missing           lvm (required)',
      '!                   mdadm (optional)',
      `! unresolved        libidn2.so.0, needed by curl (through ${LIB}/libcurl.so.4.8.0)`,
      '!                   libreadline.so.8, needed by bash',
      '! missing           /root/.ssh/authorized_keys',
    ]);
    // A dlopen default the host lacks is normal: listed, not marked.
    expect(lines).toContain('  dlopen no match   libnss_mdns4_minimal.so.2');
    expect(lines.at(-2)).toBe(
      'Problems (lines marked !): 1 required program missing, 1 optional program missing, ' +
        '2 libraries unresolved, 1 copy-as-is path missing, 1 module not found, ' +
        '1 firmware file missing',
    );
  });

  it('says "none" for every empty list and part', () => {
    const manifest = captureFixture();
    manifest.kernel = null;
    manifest.network.interfaces = [];
    manifest.network.routes = [];
    manifest.network.dns = { servers: [], search: [] };
    manifest.bootloader = { grub: null, esp: null, efi: null };
    manifest.identity.bootMode = null;
    const text = formatCaptureSummary(manifest);
    for (const line of [
      '  version           none (no kernel in this root)',
      '  missing           none',
      '  unresolved        none',
      '  interfaces        none',
      '  default route     none',
      '  other routes      none',
      '  dns               none; search none',
      '  grub              none',
      '  esp               none',
      '  efi               none',
      '  boot mode         unknown (not a live capture)',
      'Problems: none',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('shows the first 20 warnings and counts the rest', () => {
    const manifest = captureFixture();
    manifest.warnings = Array.from({ length: 23 }, (_, i) => `firmware fw${i}.bin not found`);
    const lines = formatCaptureSummary(manifest).split('\n');
    const start = lines.indexOf('Warnings (23)');
    expect(lines[start + 1]).toBe('  firmware fw0.bin not found');
    expect(lines[start + 20]).toBe('  firmware fw19.bin not found');
    expect(lines[start + 21]).toBe('  … and 3 more');
  });

  it('marks an inactive EFI entry and a missing kernel image', () => {
    const manifest = captureFixture();
    if (manifest.kernel === null || manifest.bootloader.efi === null) throw new Error('fixture');
    manifest.kernel.image = null;
    const entry = manifest.bootloader.efi.entries[0];
    if (entry !== undefined) entry.active = false;
    const lines = formatCaptureSummary(manifest).split('\n');
    expect(lines).toContain('! image             not found');
    expect(lines).toContain('  efi entries         0000 UEFI QEMU HARDDISK (inactive)');
    expect(lines.at(-2)).toBe('Problems (lines marked !): 1 kernel image missing');
  });
});

describe('file statistics', () => {
  it('counts a content stored under two names once', () => {
    const files = captureFixture().files;
    const libc = files.find((f) => f.path === `${LIB}/libc.so.6`);
    if (libc?.type !== 'file') throw new Error('no libc');
    files.push(file(`${LIB}/glibc-hwcaps/x86-64-v3/libc.so.6`, libc.size, { sha256: libc.sha256 }));
    const stats = fileStats(files);
    expect(stats.files).toBe(12);
    expect(stats.uniqueContents).toBe(11);
    expect(stats.bytes - stats.uniqueBytes).toBe(libc.size);
  });
});

describe('units', () => {
  it('prints sizes in binary units with one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1260)).toBe('1.2 KiB');
    expect(formatBytes(1048575)).toBe('1.0 MiB');
    expect(formatBytes(47_815_065)).toBe('45.6 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });

  it('counts nouns', () => {
    expect(countOf(1, 'library')).toBe('1 library');
    expect(countOf(2, 'library')).toBe('2 libraries');
    expect(countOf(2, 'EFI entry')).toBe('2 EFI entries');
    expect(countOf(0, 'file')).toBe('0 files');
    expect(countOf(3, 'bootloader setting')).toBe('3 bootloader settings');
  });
});
