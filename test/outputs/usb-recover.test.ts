import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { toolsMissing } from '../support/backup.js';
import { sandbox } from '../support/cli.js';
import { backUpHostFiles, expectRestored, recoverIntoScript } from '../support/host-files.js';
import { bootTierHost, mediaBuilds } from '../support/media-builds.js';
import { runInRescueGuest } from '../support/rescue-guest.js';
import { formattedStick, withStickData } from '../support/stick.js';
import { describeTier } from '../support/tiers.js';

/**
 * A stick rescues its host alone: the rescue system (the usb output) and the host's backup on the
 * same stick, booted as a USB stick on UEFI with no server anywhere (the guest has QEMU's user
 * network, which nothing uses), and `lifeboat recover --into` restores the backup from
 * usb:///dev/disk/by-label/LIFEBOAT-000/lifeboat. The host is the `usb`
 * fixture, Debian's generic kernel: the cloud kernel of the other tests has no USB drivers, so
 * its rescue system would not see the stick once running.
 *
 * The backup is made on this machine through file:// into the stick's data partition, mounted at
 * its offset: this machine has no udev, so no /dev/disk/by-label; a usb:// destination is that
 * same mount and the same directory destination (src/backup/destination-mount.ts).
 */
const LABEL = 'LIFEBOAT-000';
const HOST = 'fixture-usb';

const { hostRoot, why } = await bootTierHost('usb', () =>
  toolsMissing(['sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'blkid', 'mount']),
);
const box = sandbox();

describeTier('boot', why)('usb output: recovering from the stick alone (QEMU)', () => {
  it(
    'the stick boots on UEFI, sees itself, and its rescue system restores the backup beside it',
    async () => {
      const stick = await formattedStick(box, join(box.dir, 'stick.img'), '2G');
      const source = await withStickData(stick, box.dir, (lifeboatDir) =>
        backUpHostFiles(box, join(box.dir, 'host-files'), HOST, lifeboatDir),
      );

      const built = await mediaBuilds(box, hostRoot, [
        'output.methods=[usb]',
        `output.url=usb://${stick}`,
        'backup.method=netfs',
        `backup.url=usb:///dev/disk/by-label/${LABEL}/lifeboat`,
        'boot.timeout=0',
      ])();
      expect(built.log).not.toContain('has no xhci_pci');
      expect(built.log).toMatch(new RegExp(`usb: written to usb://\\S+ \\(lifeboat/${HOST}/`));
      // The rescue system and the backup side by side under the host's directory.
      const entries = await withStickData(stick, box.dir, async (lifeboatDir) =>
        readdir(join(lifeboatDir, HOST)),
      );
      expect(entries.filter((e) => /^\d{8}\.\d{6}$/.test(e))).toHaveLength(1);
      expect(entries.filter((e) => /^\d{8}T\d{6}Z$/.test(e))).toHaveLength(1);

      const guest = await runInRescueGuest({
        boot: { firmware: 'uefi', medium: { kind: 'usb', image: stick } },
        // USB disks show up a moment after the rescue system is ready.
        script: recoverIntoScript(
          `for i in $(seq 60); do [ -e /dev/disk/by-label/${LABEL} ] && break; sleep 1; done
lsblk -o PATH,LABEL,TRAN >disks.txt`,
        ),
        disks: [],
        cpus: SIDE_BY_SIDE_CPUS,
        timeoutMs: 15 * 60_000,
      });
      try {
        expect(guest.exitCode, guest.console.slice(-3000)).toBe(0);
        const disks = readFileSync(join(guest.out, 'disks.txt'), 'utf8');
        const stickDisk = /^(\/dev\/sd[a-z]+)\s+usb\s*$/m.exec(disks)?.[1];
        expect(stickDisk, disks).toBeDefined();
        expect(disks).toMatch(new RegExp(`^${stickDisk}3\\s+${LABEL}`, 'm'));
        expectRestored(guest.out, `usb:///dev/disk/by-label/${LABEL}/lifeboat`, source);
      } finally {
        guest.dispose();
      }
    },
    30 * 60_000,
  );
});
