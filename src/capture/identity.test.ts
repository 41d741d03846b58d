import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cleanUpRoots, makeRoot } from '../../test/support/capture-roots.js';
import { RootView } from './fs-root.js';
import { findKernelImage, readIdentity } from './identity.js';
import { compareVersions } from './identity-version.js';

cleanUpRoots();

const DEBIAN_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
`;

describe('compareVersions', () => {
  it('orders like sort -V', async () => {
    const versions = [
      '6.1.0-9-amd64',
      '6.1.0-10-amd64',
      '6.1.0-50-cloud-amd64',
      '5.10.0-28-amd64',
      '6.1.0-10-amd64~rc1',
      '6.10.0',
      '6.9.12',
      '6.1.0-010-amd64',
      '4.18.0-513.5.1.el8_9.x86_64',
      '4.18.0-513.24.1.el8_9.x86_64',
      '6.1.0a',
      '6.1.0',
    ];
    const ours = [...versions].sort(compareVersions);
    const sortV = await execa('sort', ['-V'], { input: `${versions.join('\n')}\n` });
    // sort -V breaks ties (010 vs 10) by plain text; ours calls them equal, so compare numbers.
    const canonical = (list: string[]) => list.map((v) => v.replace(/\b0+(\d)/g, '$1'));
    expect(canonical(ours)).toEqual(canonical(sortV.stdout.split('\n')));
  });

  it('puts ~ before the end of the string and numbers by value', () => {
    expect(compareVersions('6.1~rc1', '6.1')).toBeLessThan(0);
    expect(compareVersions('6.1.0-50', '6.1.0-9')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0')).toBe(0);
    expect(compareVersions('1.0a', '1.0')).toBeGreaterThan(0);
  });
});

describe('readIdentity of a root', () => {
  it('reads hostname, os-release through an absolute symlink, and the newest kernel in /boot', async () => {
    const view = await makeRoot({
      '/etc/hostname': '# set by the installer\nbackup-01\n',
      '/etc/os-release': { link: '/usr/lib/os-release' },
      '/usr/lib/os-release': `${DEBIAN_OS_RELEASE}ID_LIKE="rhel fedora"\n`,
      '/boot/vmlinuz-6.1.0-9-amd64': 'kernel',
      '/boot/vmlinuz-6.1.0-10-amd64': 'kernel',
      '/boot/vmlinuz-6.1.0-8-amd64': 'kernel',
      '/boot/vmlinuz-0-rescue-0123456789abcdef': 'rescue kernel',
      '/boot/vmlinuz-linux': 'arch-style name',
      '/usr/lib/modules/6.2.0-1-amd64': { dir: true },
    });
    const { section, warnings } = await readIdentity(view, { live: false, arch: 'x86_64' });
    expect(section).toEqual({
      hostname: 'backup-01',
      os: {
        id: 'debian',
        versionId: '12',
        idLike: ['rhel', 'fedora'],
        prettyName: 'Debian GNU/Linux 12 (bookworm)',
        versionCodename: 'bookworm',
      },
      arch: 'x86_64',
      kernelVersion: '6.1.0-10-amd64',
      bootMode: null,
    });
    expect(warnings).toEqual([]);
  });

  it('falls back to /usr/lib/os-release and to the module trees', async () => {
    const view = await makeRoot({
      '/usr/lib/os-release': 'ID=arch\nPRETTY_NAME="Arch Linux"\n',
      '/usr/lib/modules/6.9.1-arch1-1/vmlinuz': 'kernel',
      '/usr/lib/modules/6.10.2-arch1-1/vmlinuz': 'kernel',
      '/usr/lib/modules/extramodules-6.9-arch1': { dir: true },
    });
    const { section } = await readIdentity(view, { live: false, arch: 'x86_64' });
    expect(section.hostname).toBe('');
    expect(section.os).toEqual({
      id: 'arch',
      versionId: '',
      idLike: [],
      prettyName: 'Arch Linux',
      versionCodename: '',
    });
    expect(section.kernelVersion).toBe('6.10.2-arch1-1');
  });

  it('takes the configured kernel, warning when the root does not have it', async () => {
    const view = await makeRoot({
      '/etc/os-release': DEBIAN_OS_RELEASE,
      '/boot/vmlinuz-6.1.0-10-amd64': 'kernel',
      '/lib/modules/6.1.0-9-amd64': { dir: true },
    });
    const present = await readIdentity(view, {
      live: false,
      arch: 'x86_64',
      kernelVersion: '6.1.0-9-amd64',
    });
    expect(present.section.kernelVersion).toBe('6.1.0-9-amd64');
    expect(present.warnings).toEqual([]);
    const absent = await readIdentity(view, { live: false, arch: 'x86_64', kernelVersion: '7.0' });
    expect(absent.section.kernelVersion).toBe('7.0');
    expect(absent.warnings).toEqual([expect.stringContaining('kernel 7.0')]);
  });

  it('says null and warns when there is no kernel and no os-release', async () => {
    const view = await makeRoot({ '/etc/hostname': 'container\n' });
    const { section, warnings } = await readIdentity(view, { live: false, arch: 'aarch64' });
    expect(section.kernelVersion).toBeNull();
    expect(section.os.id).toBe('linux');
    expect(warnings).toHaveLength(2);
  });

  it('is deterministic', async () => {
    const view = await makeRoot({
      '/etc/os-release': DEBIAN_OS_RELEASE,
      '/boot/vmlinuz-6.1.0-10-amd64': 'kernel',
    });
    const first = await readIdentity(view, { live: false, arch: 'x86_64' });
    const second = await readIdentity(new RootView(view.root), { live: false, arch: 'x86_64' });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });
});

describe('findKernelImage', () => {
  it('finds /boot/vmlinuz-V, the module tree image, then a bare /boot/vmlinuz', async () => {
    const view = await makeRoot({
      '/boot/vmlinuz-6.1.0-10-amd64': 'kernel',
      '/usr/lib/modules/6.8.9-300.fc40.x86_64/vmlinuz': 'kernel',
      '/lib': { link: 'usr/lib' },
    });
    expect(await findKernelImage(view, '6.1.0-10-amd64')).toBe('/boot/vmlinuz-6.1.0-10-amd64');
    expect(await findKernelImage(view, '6.8.9-300.fc40.x86_64')).toBe(
      '/usr/lib/modules/6.8.9-300.fc40.x86_64/vmlinuz',
    );
    expect(await findKernelImage(view, '5.0')).toBeNull();
    expect(await findKernelImage(view, '../../etc/passwd')).toBeNull();

    const suse = await makeRoot({
      '/boot/vmlinuz': { link: 'vmlinuz-6.4.0-150600.23.25-default' },
      '/boot/vmlinuz-6.4.0-150600.23.25-default': 'kernel',
    });
    expect(await findKernelImage(suse, '6.4.0-150600.23.25-default')).toBe(
      '/boot/vmlinuz-6.4.0-150600.23.25-default',
    );
    expect(await findKernelImage(suse, '6.4.0-1-default')).toBe('/boot/vmlinuz');
  });

  it('does not follow a symlink out of the root', async () => {
    // /etc/os-release exists on the host running the test, not in this root.
    expect(existsSync('/etc/os-release')).toBe(true);
    const view = await makeRoot({ '/boot/vmlinuz-1.0': { link: '/etc/os-release' } });
    expect(await findKernelImage(view, '1.0')).toBeNull();
  });
});
