import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootInQemu } from '../../src/boot/qemu.js';
import { removeTrackedContainers } from '../../src/engine/container.js';
import { debianFixture } from '../support/fixtures.js';
import {
  buildRescueRootfs,
  type RescueRootfs,
  SSH_OPTIONS,
  VERSION,
} from '../support/rescue-rootfs.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * The rescue rootfs from a real capture, assembled in the real builder image, packed into an
 * initrd and booted in QEMU with the captured kernel: the path every rescue medium takes. What
 * the rootfs holds is test/build/rootfs.test.ts's.
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

describeTier('boot', engineWhy ?? fixtureWhy ?? qemuMissing())(
  'the rescue initrd boots (QEMU, BIOS, captured kernel)',
  () => {
    let built: RescueRootfs;
    beforeAll(async () => {
      building = buildRescueRootfs(hostRoot, 'boot');
      built = await building;
    }, 40 * 60_000);

    it('reaches ready, runs lifeboat, loads virtio modules, gets a DHCP address, lets root in by key only', async () => {
      const result = await bootInQemu({
        firmware: 'bios',
        medium: {
          kind: 'kernel',
          kernel: built.kernel,
          initrd: built.initrd,
          append: 'console=ttyS0',
        },
        ready: /^lifeboat-rescue: network ready/,
        commands: [
          {
            send: 'lifeboat --version',
            expect: new RegExp(`^${VERSION.replace(/\./g, '\\.')}\\s*$`),
          },
          { send: 'lsmod | grep ^virtio_net', expect: /^virtio_net\s+\d+/ },
          { send: 'ip -br addr', expect: /^\S+\s+UP\s+10\.0\.2\.15\/24/ },
          // sshd: the recipe's key lets root in; a password never does (no hash is set).
          {
            send: `ssh ${SSH_OPTIONS} -i /root/test-key root@127.0.0.1 echo ssh-$((6*7))`,
            expect: /^ssh-42/,
          },
          {
            send: `ssh ${SSH_OPTIONS} -o PubkeyAuthentication=no root@127.0.0.1 true`,
            expect: /Permission denied \(publickey\)/,
          },
        ],
        timeoutMs: 180_000,
      });
      const tail = result.transcript.slice(-4000);
      expect(result.ready, `no ready line; the console said:\n${tail}`).toBe(true);
      const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
      console.log(
        `rescue initrd ${mib(built.initrdBytes)} MiB (zstd -12; rootfs ${mib(built.rootfsBytes)} MiB), ` +
          `ready ${/^lifeboat-rescue: ready in ([\d.]+) s/m.exec(result.transcript)?.[1]} s and ` +
          `network ready ${/^lifeboat-rescue: network ready in ([\d.]+) s/m.exec(result.transcript)?.[1]} s ` +
          `after the kernel started, ${result.readySeconds?.toFixed(1)} s after QEMU did`,
      );
      // Ready (a shell) comes first, once; the network-ready line once, after it.
      const statusLines = result.transcript.match(/^lifeboat-rescue: (ready|network ready)/gm);
      expect(statusLines).toEqual(['lifeboat-rescue: ready', 'lifeboat-rescue: network ready']);
      expect(result.answers, `the console said:\n${tail}`).toEqual([
        expect.any(String),
        expect.any(String),
        expect.any(String),
        expect.any(String),
        expect.any(String),
      ]);
      expect(built.initrdBytes).toBeLessThan(100 * 1000 * 1000);
    }, 300_000);
  },
);
