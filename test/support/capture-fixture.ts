import { createHash } from 'node:crypto';
import {
  CAPTURE_SCHEMA,
  type CaptureManifest,
  type DirectoryRecord,
  type RegularFileRecord,
  type SymlinkRecord,
} from '../../src/capture/manifest.js';

/**
 * A small but complete capture of a Debian 12 VM, for the show and diff tests: two programs with
 * their libraries (versioned real files behind soname symlinks, as Debian ships them), a kernel
 * with three modules under /lib/modules (/lib being a symlink to usr/lib, as on a merged-/usr
 * root), one static interface, GRUB for UEFI with two firmware boot entries. A fresh object on
 * every call, so a test can change it freely.
 */

export const LIB = '/usr/lib/x86_64-linux-gnu';
export const KERNEL_VERSION = '6.1.0-18-amd64';
const MODULES = `/lib/modules/${KERNEL_VERSION}/kernel`;

/** A stable, realistic-looking sha256 for a piece of content named by `label`. */
export function sha(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export function file(
  path: string,
  size: number,
  options: Partial<Omit<RegularFileRecord, 'path' | 'size' | 'type'>> = {},
): RegularFileRecord {
  return { path, type: 'file', mode: '0644', uid: 0, gid: 0, size, sha256: sha(path), ...options };
}

export function link(path: string, target: string): SymlinkRecord {
  return { path, type: 'symlink', target, uid: 0, gid: 0 };
}

export function dir(path: string, mode = '0755'): DirectoryRecord {
  return { path, type: 'dir', mode, uid: 0, gid: 0 };
}

export function captureFixture(): CaptureManifest {
  return {
    schema: CAPTURE_SCHEMA,
    source: { live: true, modulePolicy: 'needed' },
    identity: {
      hostname: 'web1',
      os: {
        id: 'debian',
        versionId: '12',
        idLike: [],
        prettyName: 'Debian GNU/Linux 12 (bookworm)',
        versionCodename: 'bookworm',
      },
      arch: 'x86_64',
      kernelVersion: KERNEL_VERSION,
      bootMode: 'uefi',
    },
    programs: {
      found: [
        {
          name: 'bash',
          path: '/usr/bin/bash',
          realPath: '/usr/bin/bash',
          kind: 'elf',
          interpreter: '/lib64/ld-linux-x86-64.so.2',
          libraries: [`${LIB}/libc.so.6`, `${LIB}/libtinfo.so.6.4`],
          required: true,
        },
        {
          name: 'curl',
          path: '/usr/bin/curl',
          realPath: '/usr/bin/curl',
          kind: 'elf',
          interpreter: '/lib64/ld-linux-x86-64.so.2',
          libraries: [`${LIB}/libc.so.6`, `${LIB}/libcurl.so.4.8.0`, `${LIB}/libz.so.1.2.13`],
          required: false,
        },
      ],
      missing: [],
    },
    libraries: {
      resolved: [
        library('libc.so.6', 'libc.so.6', [
          '/usr/bin/bash',
          '/usr/bin/curl',
          `${LIB}/libcurl.so.4.8.0`,
          `${LIB}/libtinfo.so.6.4`,
          `${LIB}/libz.so.1.2.13`,
        ]),
        library('libcurl.so.4', 'libcurl.so.4.8.0', ['/usr/bin/curl']),
        library('libtinfo.so.6', 'libtinfo.so.6.4', ['/usr/bin/bash']),
        library('libz.so.1', 'libz.so.1.2.13', [`${LIB}/libcurl.so.4.8.0`]),
      ],
      unresolved: [],
      extrasNotFound: [],
    },
    copyAsIs: {
      include: ['/etc/ssh', '/root/.ssh/authorized_keys'],
      exclude: ['/etc/ssh/ssh_host_*_key'],
      missing: [],
    },
    kernel: {
      version: KERNEL_VERSION,
      image: `/boot/vmlinuz-${KERNEL_VERSION}`,
      modules: [
        { name: 'ext4', path: `${MODULES}/fs/ext4/ext4.ko`, requestedBy: ['/'] },
        {
          name: 'virtio_blk',
          path: `${MODULES}/drivers/block/virtio_blk.ko`,
          requestedBy: ['/dev/vda'],
        },
        { name: 'virtio_net', path: `${MODULES}/drivers/net/virtio_net.ko`, requestedBy: ['eth0'] },
      ],
      builtin: ['virtio_pci'],
      notFound: [],
      firmware: { found: [], missing: [] },
    },
    network: {
      source: 'live',
      configFiles: [],
      interfaces: [
        {
          name: 'eth0',
          mac: '52:54:00:12:34:56',
          addresses: ['192.0.2.10/24', '2001:db8::10/64'],
          dhcp: false,
          mtu: 1500,
          driver: 'virtio_net',
        },
      ],
      routes: [
        { destination: '192.0.2.0/24', gateway: null, device: 'eth0' },
        { destination: 'default', gateway: '192.0.2.1', device: 'eth0' },
      ],
      dns: { servers: ['192.0.2.53'], search: ['example.com'] },
    },
    bootloader: {
      grub: {
        version: '2.06-13+deb12u1',
        installedTargets: ['x86_64-efi'],
        availableTargets: ['x86_64-efi'],
        configFile: '/boot/grub/grub.cfg',
      },
      esp: { mountPoint: '/boot/efi', device: '/dev/vda1' },
      efi: {
        bootCurrent: '0001',
        bootOrder: ['0001', '0000'],
        entries: [
          { id: '0000', description: 'UEFI QEMU HARDDISK', path: null, active: true },
          { id: '0001', description: 'debian', path: '\\EFI\\debian\\shimx64.efi', active: true },
        ],
      },
    },
    layout: null,
    files: [
      dir('/etc/ssh'),
      file('/etc/ssh/sshd_config', 3223),
      link('/lib', 'usr/lib'),
      file('/root/.ssh/authorized_keys', 402, { mode: '0600' }),
      file('/usr/bin/bash', 1265648, { mode: '0755' }),
      file('/usr/bin/curl', 264960, { mode: '0755' }),
      file(`/usr${MODULES}/drivers/block/virtio_blk.ko`, 48360),
      file(`/usr${MODULES}/drivers/net/virtio_net.ko`, 110672),
      file(`/usr${MODULES}/fs/ext4/ext4.ko`, 1572352),
      file(`${LIB}/libc.so.6`, 1922136),
      link(`${LIB}/libcurl.so.4`, 'libcurl.so.4.8.0'),
      file(`${LIB}/libcurl.so.4.8.0`, 675416),
      link(`${LIB}/libtinfo.so.6`, 'libtinfo.so.6.4'),
      file(`${LIB}/libtinfo.so.6.4`, 200136),
      link(`${LIB}/libz.so.1`, 'libz.so.1.2.13'),
      file(`${LIB}/libz.so.1.2.13`, 121280),
    ],
    warnings: [],
  };
}

function library(name: string, real: string, neededBy: string[]) {
  return {
    path: `${LIB}/${name}`,
    realPath: `${LIB}/${real}`,
    soname: name,
    neededBy,
    extra: false,
  };
}
