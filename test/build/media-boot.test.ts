import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type BootMedium,
  bootInQemu,
  type Firmware,
  SIDE_BY_SIDE_CPUS,
} from '../../src/boot/qemu.js';
import { ROOT, sandbox } from '../support/cli.js';
import { type BuiltMedia, bootTierHost, mediaBuilds } from '../support/media-builds.js';
import { describeTier } from '../support/tiers.js';

/**
 * The media `lifeboat build` makes of the example host (ISO and RAMDISK) boot to the rescue
 * system in QEMU, on BIOS and UEFI, from CD, USB stick and direct kernel boot, and lifeboat
 * answers there. What the build writes, and that it writes the same bytes again, is
 * test/build/media.test.ts's (no guest: it runs beside the guest files).
 */
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

const { hostRoot, why } = await bootTierHost();
const media = mediaBuilds(sandbox(), hostRoot, ['output.methods=[iso, ramdisk]']);

describeTier('boot', why)('the built media boot to the rescue system (QEMU)', () => {
  let a: BuiltMedia;
  const times: string[] = [];

  beforeAll(async () => {
    a = await media();
  }, 20 * 60_000);

  afterAll(() => {
    if (times.length > 0) console.log(`rescue media, QEMU start to ready: ${times.join(', ')}`);
  });

  async function bootsToReady(what: string, firmware: Firmware, medium: BootMedium) {
    const result = await bootInQemu({
      firmware,
      medium,
      ready: /^lifeboat-rescue: ready/,
      cpus: SIDE_BY_SIDE_CPUS,
      commands: [
        {
          send: 'lifeboat --version',
          expect: new RegExp(`^${VERSION.replace(/\./g, '\\.')}\\s*$`),
        },
      ],
      timeoutMs: 240_000,
    });
    const tail = result.transcript.slice(-3000);
    expect(result.ready, `${what}: no ready line; the console said:\n${tail}`).toBe(true);
    expect(result.answers[0], `${what}: lifeboat --version did not answer:\n${tail}`).toBeDefined();
    times.push(`${what} ${result.readySeconds?.toFixed(1)} s`);
  }

  const iso = () => join(a.out, 'lifeboat.iso');

  // Two boots at a time (it.concurrent, vitest's maxConcurrency), one virtual CPU each.
  it.concurrent(
    'the ISO as a CD on BIOS',
    () => bootsToReady('BIOS CD', 'bios', { kind: 'cdrom', iso: iso() }),
    300_000,
  );

  it.concurrent(
    'the ISO as a CD on UEFI',
    () => bootsToReady('UEFI CD', 'uefi', { kind: 'cdrom', iso: iso() }),
    300_000,
  );

  it.concurrent(
    'the ISO written raw to a USB stick, on BIOS',
    () => bootsToReady('BIOS USB', 'bios', { kind: 'usb', image: iso() }),
    300_000,
  );

  it.concurrent(
    'the RAMDISK output by direct kernel boot, with its cmdline.txt',
    () =>
      bootsToReady('RAMDISK', 'bios', {
        kind: 'kernel',
        kernel: join(a.out, 'vmlinuz'),
        initrd: join(a.out, 'initrd.img'),
        append: readFileSync(join(a.out, 'cmdline.txt'), 'utf8').trim(),
      }),
    300_000,
  );
});
