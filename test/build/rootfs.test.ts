import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeTrackedContainers } from '../../src/engine/container.js';
import { debianFixture } from '../support/fixtures.js';
import { buildRescueRootfs, EPOCH, type RescueRootfs, VERSION } from '../support/rescue-rootfs.js';
import { describeTier, engineMissing } from '../support/tiers.js';

/**
 * The rescue rootfs from a real capture, assembled in the real builder image and looked at
 * there: what it holds, what it leaves out, and the same archive from the same inputs. That it
 * boots is test/build/rootfs-boot.test.ts's.
 */
const engineWhy = await engineMissing();
const fixture = await debianFixture();
const fixtureWhy = 'missing' in fixture ? fixture.missing : undefined;
const hostRoot = 'root' in fixture ? fixture.root : '';

let building: Promise<RescueRootfs> | undefined;
afterAll(async () => {
  await removeTrackedContainers();
  const built = await building?.catch(() => undefined);
  if (built) rmSync(built.scratch, { recursive: true, force: true });
});

describeTier('engine', engineWhy ?? fixtureWhy)('the rescue rootfs (builder container)', () => {
  let built: RescueRootfs;
  beforeAll(async () => {
    building = buildRescueRootfs(hostRoot, 'checks');
    built = await building;
  }, 40 * 60_000);

  it('runs lifeboat inside the rootfs, on Debian’s Node.js', () => {
    expect(built.checks.version?.stderr).toBe('');
    expect(built.checks.version?.stdout.trim()).toBe(VERSION);
  });

  it('carries no ssh host keys, machine-id or resolv.conf; its own hostname', () => {
    expect(built.checks.hostKeys?.stdout).toBe('');
    const identity = built.checks.identity?.stdout ?? '';
    expect(identity).toMatch(/machine-id'?: No such file/);
    expect(identity).toMatch(/resolv\.conf'?: No such file/);
    expect(identity.trim().split('\n').at(-1)).toBe('lifeboat-rescue');
  });

  it('has the captured modules indexed by depmod, and the facts /init reads', () => {
    expect(Number(built.checks.modulesDep?.stdout.trim())).toBeGreaterThan(0);
    expect(built.checks.facts?.stdout.split('\n')).toEqual([built.kernelVersion, 'virtio_net', '']);
    expect(built.checks.init?.stdout.trim()).toBe('755 0 0');
  });

  it('leaves out documentation, manual pages and translations', () => {
    expect(built.checks.docs?.stdout).toBe('');
  });

  it('leaves out what packages dragged in (Python, Perl, packaging state, hwdb, time zones, gconv), keeps every recovery tool, and gives back what rescue.keep names', () => {
    expect(built.checks.pruned?.stdout).toBe('');
    expect(built.checks.tools?.stdout).toBe('1/1/1970');
    expect(built.checks.kept?.stdout.trim().split('\n')).toEqual([
      'usr/bin/python3',
      'usr/lib/udev/hwdb.bin',
    ]);
  });

  it('dates every file SOURCE_DATE_EPOCH, and assembles the same archive twice', () => {
    expect(built.checks.mtimes?.stdout.trim()).toBe(`${EPOCH}.0000000000`);
    const [first, second] = (built.checks.reproducible?.stdout ?? '').trim().split('\n');
    expect(first).toMatch(/^[0-9a-f]{64} {2}-$/);
    expect(second).toBe(first);
  });
});
