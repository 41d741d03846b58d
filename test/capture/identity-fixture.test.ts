import { expect, it } from 'vitest';
import { readBootloader } from '../../src/capture/bootloader.js';
import { RootView } from '../../src/capture/fs-root.js';
import { findKernelImage, readIdentity } from '../../src/capture/identity.js';
import { captureNetwork } from '../../src/capture/network.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier } from '../support/tiers.js';

/**
 * Identity, bootloader and network of a real Debian bookworm root (ci/fixtures/debian-root:
 * linux-image-cloud-amd64, grub-pc-bin and grub-efi-amd64-bin installed by debootstrap, so
 * GRUB's modules are there but grub-install never ran), captured through a RootView.
 */

const fixture = await debianFixture();
const describeFixture = describeTier('fixture', 'missing' in fixture ? fixture.missing : undefined);
const root = 'root' in fixture ? fixture.root : '';

describeFixture('capture of the Debian fixture root', () => {
  it('reads its identity from its own files', async () => {
    const view = new RootView(root);
    const { section, warnings } = await readIdentity(view, { live: false, arch: 'x86_64' });
    expect(section.hostname).toBe('fixture-host');
    expect(section.os).toMatchObject({
      id: 'debian',
      versionId: '12',
      versionCodename: 'bookworm',
    });
    expect(section.os.prettyName).toContain('Debian GNU/Linux 12');
    expect(section.kernelVersion).toMatch(/^6\.1\.\d+-\d+-cloud-amd64$/);
    expect(section.bootMode).toBeNull();
    expect(warnings).toEqual([]);
    const version = section.kernelVersion ?? '';
    expect(await findKernelImage(view, version)).toBe(`/boot/vmlinuz-${version}`);
    // The configured kernel is checked against the root.
    const configured = await readIdentity(view, {
      live: false,
      arch: 'x86_64',
      kernelVersion: version,
    });
    expect(configured.warnings).toEqual([]);
  });

  it('finds GRUB for BIOS and UEFI, not yet installed', async () => {
    const { section, warnings } = await readBootloader(new RootView(root), { live: false });
    expect(section.grub?.availableTargets).toEqual(
      expect.arrayContaining(['i386-pc', 'x86_64-efi']),
    );
    expect(section.grub?.version).toMatch(/^2\.06-/);
    expect(section.grub?.installedTargets).toEqual([]);
    expect(section.grub?.configFile).toBeNull();
    // debootstrap writes an fstab without entries.
    expect(section.esp).toBeNull();
    expect(section.efi).toBeNull();
    expect(warnings).toEqual([]);
  });

  it('reads what network configuration it has without failing', async () => {
    const { section } = await captureNetwork(new RootView(root), { live: false });
    expect(section.source).toBe('config');
    expect(section.interfaces.every((item) => item.name !== 'lo')).toBe(true);
  });
});
