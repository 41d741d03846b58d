import { existsSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { expect, it } from 'vitest';
import { RootView } from '../../src/capture/fs-root.js';
import { readIdentity } from '../../src/capture/identity.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/** Identity capture of the machine running the tests (root `/`, live), checked against itself. */
describeTier('host', hostMissing())('readIdentity of this live host', () => {
  it('matches the running system', async () => {
    const { section } = await readIdentity(new RootView('/'), { live: true, arch: 'x86_64' });
    expect(section.hostname).toBe(hostname());
    expect(section.kernelVersion).toBe(release());
    expect(section.bootMode).toBe(existsSync('/sys/firmware/efi') ? 'uefi' : 'bios');
    expect(section.os.id).not.toBe('');
  });
});
