import { describe, expect, it } from 'vitest';
import {
  captureFixture,
  dir,
  file,
  KERNEL_VERSION,
  LIB,
  link,
  sha,
} from '../../test/support/capture-fixture.js';
import { diffCaptures, formatCaptureDiff, summarizeCaptureDiff } from './diff.js';
import type { CaptureManifest, FileRecord } from './manifest.js';

/** Two captures of the fixture host; the test changes the second. */
function pair(): [CaptureManifest, CaptureManifest] {
  return [captureFixture(), captureFixture()];
}

function byPath(files: FileRecord[]): FileRecord[] {
  return files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

function regular(manifest: CaptureManifest, path: string) {
  const record = manifest.files.find((f) => f.path === path);
  if (record?.type !== 'file') throw new Error(`no regular file ${path} in the fixture`);
  return record;
}

function report(a: CaptureManifest, b: CaptureManifest): string[] {
  return formatCaptureDiff(diffCaptures(a, b)).split('\n');
}

/** The section's lines, heading excluded, up to the next blank line. */
function section(lines: string[], title: string): string[] {
  const start = lines.indexOf(title);
  if (start === -1) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** libz upgraded the Debian way: the soname symlink points to a new versioned file. */
function upgradeZlib(b: CaptureManifest): void {
  const curl = b.programs.found.find((p) => p.name === 'curl');
  if (curl === undefined) throw new Error('no curl');
  curl.libraries = curl.libraries.map((l) => l.replace('libz.so.1.2.13', 'libz.so.1.3.1'));
  for (const library of b.libraries.resolved) {
    if (library.path === `${LIB}/libz.so.1`) library.realPath = `${LIB}/libz.so.1.3.1`;
  }
  b.files = byPath([
    ...b.files.filter((f) => !f.path.startsWith(`${LIB}/libz.so.1`)),
    link(`${LIB}/libz.so.1`, 'libz.so.1.3.1'),
    file(`${LIB}/libz.so.1.3.1`, 125376),
  ]);
}

describe('diffCaptures', () => {
  it('finds nothing between two captures of an unchanged host', () => {
    const [a, b] = pair();
    const diff = diffCaptures(a, b);
    expect(diff).toEqual({ changed: false, sections: [] });
    expect(formatCaptureDiff(diff)).toBe('Captures are identical.\n');
    expect(summarizeCaptureDiff(diff)).toBe('no changes');
  });

  it('ignores the order of every keyed list', () => {
    const [a, b] = pair();
    const kernel = b.kernel;
    const efi = b.bootloader.efi;
    if (kernel === null || efi === null) throw new Error('fixture without kernel or efi');
    b.programs.found.reverse();
    b.libraries.resolved.reverse();
    b.libraries.resolved[0]?.neededBy.reverse();
    b.programs.found[0]?.libraries.reverse();
    b.copyAsIs.include.reverse();
    kernel.modules.reverse();
    b.network.interfaces[0]?.addresses.reverse();
    b.network.routes.reverse();
    efi.entries.reverse();
    b.files.reverse();
    expect(diffCaptures(a, b).changed).toBe(false);
  });

  it('shows a package added as its program, libraries and files', () => {
    const [a, b] = pair();
    b.programs.found.push({
      name: 'rsync',
      path: '/usr/bin/rsync',
      realPath: '/usr/bin/rsync',
      kind: 'elf',
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      libraries: [`${LIB}/libc.so.6`, `${LIB}/libpopt.so.0.0.2`],
      required: false,
    });
    b.libraries.resolved.push({
      path: `${LIB}/libpopt.so.0`,
      realPath: `${LIB}/libpopt.so.0.0.2`,
      soname: 'libpopt.so.0',
      neededBy: ['/usr/bin/rsync'],
      extra: false,
    });
    // libc gains a user: a back reference, which must not make libc look changed.
    b.libraries.resolved[0]?.neededBy.push('/usr/bin/rsync');
    b.files = byPath([
      ...b.files,
      file('/usr/bin/rsync', 531464, { mode: '0755' }),
      link(`${LIB}/libpopt.so.0`, 'libpopt.so.0.0.2'),
      file(`${LIB}/libpopt.so.0.0.2`, 52656),
    ]);

    const diff = diffCaptures(a, b);
    expect(diff.changed).toBe(true);
    const lines = report(a, b);
    expect(section(lines, 'Programs')).toEqual(['  + rsync (/usr/bin/rsync, optional)']);
    expect(section(lines, 'Libraries')).toEqual([
      `  + ${LIB}/libpopt.so.0 (real path ${LIB}/libpopt.so.0.0.2)`,
    ]);
    expect(section(lines, 'Files')).toEqual([
      '  + /usr/bin/rsync (file 0755, 519.0 KiB)',
      `  + ${LIB}/libpopt.so.0 (symlink to libpopt.so.0.0.2)`,
      `  + ${LIB}/libpopt.so.0.0.2 (file 0644, 51.4 KiB)`,
    ]);
    expect(summarizeCaptureDiff(diff)).toBe('1 program, 1 library, 3 files changed');
  });

  it('shows a library upgrade as changed, with the files that are its root cause', () => {
    const [a, b] = pair();
    upgradeZlib(b);
    const lines = report(a, b);
    expect(section(lines, 'Programs')).toEqual([
      `  ~ curl: libraries -${LIB}/libz.so.1.2.13 +${LIB}/libz.so.1.3.1`,
    ]);
    expect(section(lines, 'Libraries')).toEqual([
      `  ~ ${LIB}/libz.so.1: realPath ${LIB}/libz.so.1.2.13 → ${LIB}/libz.so.1.3.1`,
    ]);
    expect(section(lines, 'Files')).toEqual([
      `  - ${LIB}/libz.so.1.2.13 (file 0644, 118.4 KiB)`,
      `  + ${LIB}/libz.so.1.3.1 (file 0644, 122.4 KiB)`,
      `  ~ ${LIB}/libz.so.1: target libz.so.1.2.13 → libz.so.1.3.1`,
    ]);
  });

  it('shows a library rebuilt in place (same real path, new bytes) in the files section', () => {
    const [a, b] = pair();
    const libc = regular(b, `${LIB}/libc.so.6`);
    libc.sha256 = sha('libc 2.36-9+deb12u4');
    const diff = diffCaptures(a, b);
    expect(diff.sections.map((s) => s.section)).toEqual(['files']);
    expect(diff.sections[0]?.changes).toEqual([
      {
        kind: 'changed',
        item: 'file',
        subject: `${LIB}/libc.so.6`,
        details: [
          {
            kind: 'content',
            from: { sha256: sha(`${LIB}/libc.so.6`), size: 1922136 },
            to: { sha256: sha('libc 2.36-9+deb12u4'), size: 1922136 },
          },
        ],
      },
    ]);
    expect(section(report(a, b), 'Files')).toEqual([
      `  ~ ${LIB}/libc.so.6: content changed (1.8 MiB, same size)`,
    ]);
  });

  it('shows a module removed, and firmware that went missing', () => {
    const [a, b] = pair();
    if (b.kernel === null) throw new Error('fixture without kernel');
    b.kernel.modules = b.kernel.modules.filter((m) => m.name !== 'virtio_net');
    b.kernel.firmware.missing.push({ name: 'i915/tgl_dmc_ver2_12.bin', modules: ['i915'] });
    expect(section(report(a, b), 'Kernel')).toEqual([
      `  - module virtio_net (/lib/modules/${KERNEL_VERSION}/kernel/drivers/net/virtio_net.ko)`,
      '  + firmware i915/tgl_dmc_ver2_12.bin (missing)',
    ]);
    expect(summarizeCaptureDiff(diffCaptures(a, b))).toBe('1 module, 1 firmware file changed');
  });

  it('reports a kernel upgrade once, not once per module path', () => {
    const [a, b] = pair();
    const next = '6.1.0-20-amd64';
    if (b.kernel === null) throw new Error('fixture without kernel');
    b.kernel.version = next;
    b.kernel.image = `/boot/vmlinuz-${next}`;
    for (const module of b.kernel.modules) module.path = module.path.replace(KERNEL_VERSION, next);
    expect(section(report(a, b), 'Kernel')).toEqual([
      `  ~ version: ${KERNEL_VERSION} → ${next}`,
      `  ~ image: /boot/vmlinuz-${KERNEL_VERSION} → /boot/vmlinuz-${next}`,
    ]);
  });

  it('shows a program that went missing as one change', () => {
    const [a, b] = pair();
    b.programs.found = b.programs.found.filter((p) => p.name !== 'curl');
    b.programs.missing.push({ name: 'curl', required: false });
    expect(section(report(a, b), 'Programs')).toEqual([
      '  ~ curl: found at /usr/bin/curl → missing',
    ]);
  });

  it('shows an interface whose address changed', () => {
    const [a, b] = pair();
    const eth0 = b.network.interfaces[0];
    if (eth0 === undefined) throw new Error('fixture without interface');
    eth0.addresses = ['192.0.2.11/24', '2001:db8::10/64'];
    eth0.mtu = 9000;
    b.network.dns.servers.push('192.0.2.54');
    expect(section(report(a, b), 'Network')).toEqual([
      '  ~ interface eth0: addresses -192.0.2.10/24 +192.0.2.11/24, mtu 1500 → 9000',
      '  + dns server 192.0.2.54',
    ]);
  });

  it('shows mode, owner and xattr changes of a file', () => {
    const [a, b] = pair();
    regular(a, '/usr/bin/curl').xattrs = { 'security.selinux': 'Ymlu', 'user.backup': 'eWVz' };
    const curl = regular(b, '/usr/bin/curl');
    curl.mode = '4755';
    curl.uid = 1000;
    curl.xattrs = { 'security.capability': 'AQAAAgAgAAA=', 'security.selinux': 'Y3VybA==' };
    expect(section(report(a, b), 'Files')).toEqual([
      '  ~ /usr/bin/curl: mode 0755 → 4755, owner 0:0 → 1000:0, ' +
        'xattrs -user.backup +security.capability ~security.selinux',
    ]);
  });

  it('shows a file that became a symlink as a type change only', () => {
    const [a, b] = pair();
    b.files = b.files.map((f) => (f.path === '/usr/bin/bash' ? link(f.path, 'bash5') : f));
    expect(section(report(a, b), 'Files')).toEqual(['  ~ /usr/bin/bash: type file → symlink']);
  });

  it('shows the first 50 files of a kind and counts the rest', () => {
    const [a, b] = pair();
    const extra = Array.from({ length: 60 }, (_, i) =>
      file(`/usr/share/zoneinfo/Zone${String(i).padStart(2, '0')}`, 1024),
    );
    b.files = byPath([...b.files, dir('/usr/share/zoneinfo'), ...extra]);
    const lines = section(report(a, b), 'Files');
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe('  + /usr/share/zoneinfo (directory 0755)');
    expect(lines[49]).toBe('  + /usr/share/zoneinfo/Zone48 (file 0644, 1.0 KiB)');
    expect(lines[50]).toBe('    … and 11 more files added');
    expect(summarizeCaptureDiff(diffCaptures(a, b))).toBe('61 files changed');
  });

  it('prints a small diff exactly', () => {
    const [a, b] = pair();
    upgradeZlib(b);
    b.identity.hostname = 'web2';
    regular(b, '/etc/ssh/sshd_config').mode = '0600';
    const config = regular(b, '/etc/ssh/sshd_config');
    config.size = 3301;
    config.sha256 = sha('sshd_config, PermitRootLogin no');
    b.bootloader.grub = null;
    b.warnings.push('optional program mdadm not found');
    expect(formatCaptureDiff(diffCaptures(a, b))).toBe(
      `Captures differ: 1 identity field, 1 program, 1 library, 1 bootloader setting, 4 files, 1 warning changed.

Identity
  ~ hostname: web1 → web2

Programs
  ~ curl: libraries -${LIB}/libz.so.1.2.13 +${LIB}/libz.so.1.3.1

Libraries
  ~ ${LIB}/libz.so.1: realPath ${LIB}/libz.so.1.2.13 → ${LIB}/libz.so.1.3.1

Bootloader
  - grub (2.06-13+deb12u1, installed x86_64-efi)

Files
  - ${LIB}/libz.so.1.2.13 (file 0644, 118.4 KiB)
  + ${LIB}/libz.so.1.3.1 (file 0644, 122.4 KiB)
  ~ /etc/ssh/sshd_config: mode 0644 → 0600, content changed (3.1 KiB → 3.2 KiB)
  ~ ${LIB}/libz.so.1: target libz.so.1.2.13 → libz.so.1.3.1

Warnings
  + optional program mdadm not found
`,
    );
  });
});
