import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { bootInQemu, SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { toolsMissing } from '../support/backup.js';
import { sandbox } from '../support/cli.js';
import { bootTierHost, mediaBuilds } from '../support/media-builds.js';
import { formattedStick } from '../support/stick.js';
import { describeTier } from '../support/tiers.js';

/**
 * The usb output on an image file `lifeboat format` made: two hosts' rescue systems written to
 * it, two runs each with usb.retain=1, so one each is left; the stick boots as a USB stick on
 * BIOS and on UEFI, its one menu shows both hosts, and the chosen entry reaches the rescue
 * system. The second host is the example host's root with another /etc/hostname (a hard-linked
 * copy: capture only reads it).
 *
 * The example host's kernel (Debian's cloud kernel) has no USB drivers: its rescue system does
 * not see the stick once running, so usb:// backups on the stick are not recovered here.
 */
const READY = /^lifeboat-rescue: ready/;
const SECOND_HOST = 'second-host';

const { hostRoot, why } = await bootTierHost(() =>
  toolsMissing(['sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'blkid', 'mount']),
);

const box = sandbox();
const stick = join(box.dir, 'stick.img');
const sets = [
  'output.methods=[usb]',
  `output.url=usb://${stick}`,
  'usb.retain=1',
  // Long enough for the test to choose an entry; the default boots after it.
  'boot.timeout=10',
];
const first = mediaBuilds(box, hostRoot, sets);
const secondBox = sandbox();
const secondRoot = join(secondBox.dir, 'root');
const second = mediaBuilds(secondBox, secondRoot, sets);

/** What a build wrote to the stick: lifeboat/HOST/RUN, from its log. */
function writtenRun(log: string): string {
  const run = /usb: written to usb:\/\/\S+ \((lifeboat\/[^)]+)\)/.exec(log)?.[1];
  expect(run, log).toBeDefined();
  return run as string;
}

/** The runs' times as the menu on the console shows them, by host. */
function menuRuns(transcript: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: GRUB draws its menu with escapes.
  const plain = transcript.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const runs = [...plain.matchAll(/([a-z-]+-host) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)];
  return [...new Set(runs.map((m) => `${m[1]} ${m[2]}`))].sort();
}

/** 20261207.081502 as the menu shows it. */
function shown(run: string): string {
  const [host, name] = run.split('/').slice(1) as [string, string];
  return `${host} ${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)} ${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}`;
}

describeTier('boot', why)('usb output: one stick, two hosts (QEMU)', () => {
  const runs: Record<string, string> = {};

  it(
    'two hosts, two runs each, usb.retain=1: each write names what it removed, one run per host is left',
    async () => {
      await formattedStick(box, stick, '1G');
      await execa('cp', ['-al', hostRoot, secondRoot]);
      // A new file, not a write through the hard link into the example host's root.
      rmSync(join(secondRoot, 'etc/hostname'));
      writeFileSync(join(secondRoot, 'etc/hostname'), `${SECOND_HOST}\n`);

      const a1 = await first('run-1');
      expect(a1.log).toContain(
        "output usb: the host's kernel has no xhci_pci, usb_storage: the stick boots, but the running rescue system does not see it",
      );
      const b1 = await second('run-1');
      // The second runs: the same builds again, up to date, writing the stick all the same.
      const a2 = await first.again('run-1');
      const b2 = await second.again('run-1');
      expect(a2.log).toContain('up to date');
      for (const [name, built] of Object.entries({ a1, b1, a2, b2 }))
        runs[name] = writtenRun(built.log);
      expect(runs.a1).toMatch(/^lifeboat\/fixture-host\/\d{8}\.\d{6}$/);
      expect(runs.b1).toMatch(/^lifeboat\/second-host\/\d{8}\.\d{6}$/);
      expect(a2.log).toContain(`output usb: removed ${runs.a1} (usb.retain)`);
      expect(b2.log).toContain(`output usb: removed ${runs.b1} (usb.retain)`);
      expect(b1.log).not.toContain('removed');
      // The manifest names the tree, not the stick: the same build makes the same tree.
      expect(a2.manifest.artifacts.map((a) => a.name)).toEqual(
        a1.manifest.artifacts.map((a) => a.name),
      );
    },
    30 * 60_000,
  );

  const ptuuid = async () =>
    (
      JSON.parse((await execa('sfdisk', ['--json', stick])).stdout).partitiontable.id as string
    ).toLowerCase();

  it.concurrent(
    'BIOS: the menu shows both hosts, one run each; the entry chosen (the other host) boots',
    async () => {
      expect(runs.b2, 'the stick was written').toBeDefined();
      const booted = await bootInQemu({
        firmware: 'bios',
        // GRUB draws its BIOS menu's entries only with a video card there.
        videoCard: true,
        cpus: SIDE_BY_SIDE_CPUS,
        medium: { kind: 'usb', image: stick },
        ready: READY,
        // The newest run (the second host's) is first; two entries down is the first host's
        // rescue system. Ctrl-N moves down in GRUB's menu, redrawing the entries it leaves and
        // reaches. Typed at the countdown, which GRUB prints every second: GRUB's BIOS serial
        // driver drops characters when the port is slow to drain (a busy machine), so no single
        // line of the menu is sure to arrive.
        keys: [{ when: /automatically in \d+s/, send: '\x0e\x0e\r' }],
        commands: [{ send: 'cat /proc/cmdline', expect: /BOOT_IMAGE=/ }],
        timeoutMs: 10 * 60_000,
      });
      expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
      expect(menuRuns(booted.transcript)).toEqual(
        [shown(runs.a2 as string), shown(runs.b2 as string)].sort(),
      );
      expect(booted.answers[0]).toContain(`BOOT_IMAGE=/${runs.a2}/vmlinuz`);
      expect(booted.answers[0]).toContain(`lifeboat.medium=${await ptuuid()}`);
    },
    15 * 60_000,
  );

  it.concurrent(
    'UEFI: the menu shows both hosts; the default, the run written last, boots',
    async () => {
      expect(runs.b2, 'the stick was written').toBeDefined();
      const booted = await bootInQemu({
        firmware: 'uefi',
        cpus: SIDE_BY_SIDE_CPUS,
        medium: { kind: 'usb', image: stick },
        ready: READY,
        commands: [{ send: 'cat /proc/cmdline', expect: /BOOT_IMAGE=/ }],
        timeoutMs: 10 * 60_000,
      });
      expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
      expect(menuRuns(booted.transcript)).toEqual(
        [shown(runs.a2 as string), shown(runs.b2 as string)].sort(),
      );
      expect(booted.answers[0]).toContain(`BOOT_IMAGE=/${runs.b2}/vmlinuz`);
    },
    15 * 60_000,
  );
});
