import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { diffLayouts, formatLayoutChanges } from '../../src/layout/diff.js';
import { migrateLayout } from '../../src/layout/migrate.js';
import type { Layout } from '../../src/layout/model.js';
import { type GuestResult, type GuestRun, runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';
import { SCENARIOS } from './scenarios.js';

/**
 * The layout round trip on real disks, in the real rescue system under QEMU (a Debian kernel:
 * LVM, MD, dm-crypt, btrfs and vfat need one; the host's has none). For each scenario of
 * scenarios.ts: build the layout on blank disks, `lifeboat savelayout`, zero every disk,
 * `lifeboat layoutonly --unattended`, `lifeboat savelayout` again, and compare component by
 * component (ids, sizes within alignment, file system parameters). The guest also records what
 * the tools said (tools/), for the parsers' unit tests.
 */
const KEY = 'lifeboat-test-luks-key';

/** The guest's part: one script, the same for every scenario. */
function guestScript(setup: string, serials: readonly string[]): string {
  // With LUKS in the layout: unattended without a key is refused before any write; then the key
  // comes the way recovery gives it, from the configuration (layout.luksKey, a secret).
  const luks = setup.includes('luksFormat');
  const keyRefused = luks
    ? `set +e
lifeboat layoutonly --unattended --layout /tmp/out/before.json --target /mnt/local >nokey.log 2>&1
echo $? >nokey.exit
set -e
lifeboat savelayout --out /tmp/out/nokey.json
`
    : '';
  const disks = serials.map((s) => `d${s.slice(1)}=$(readlink -f /dev/disk/by-id/virtio-${s})`);
  return `set -euo pipefail
${disks.join('\n')}
printf %s '${KEY}' >/tmp/key
printf 'layout:\n  luksKey: ${KEY}\n' >/tmp/luks.yaml
(set -x; ${setup.trim().replace(/\n/g, '\n')}
) >setup.log 2>&1
started=$(date +%s%N)
lifeboat savelayout --out /tmp/out/before.json
echo "savelayout $(( ($(date +%s%N) - started) / 1000000 ))" >>timings
bash /tmp/in/dump-tools.sh /tmp/out/tools >/dev/null 2>&1 || true
# Lose everything: unmount, stop what is assembled, zero each disk from end to end.
swapoff -a
unmount_under() { findmnt --list --noheadings --output TARGET | grep "^$1/" | sort -r | xargs -r umount; }
unmount_under /mnt/t
vgchange -an >/dev/null 2>&1 || true
for m in $(lsblk --list --noheadings --output NAME,TYPE | awk '$2 == "crypt" { print $1 }' | sort -u); do
  cryptsetup close "$m"
done
mdadm --stop --scan 2>/dev/null || true
for d in ${serials.map((s) => `"$d${s.slice(1)}"`).join(' ')}; do
  dd if=/dev/zero of="$d" bs=1M oflag=direct status=none || true
  blockdev --rereadpt "$d"
done
udevadm settle
lifeboat savelayout --out /tmp/out/zeroed.json
${keyRefused}started=$(date +%s%N)
lifeboat layoutonly --unattended --layout /tmp/out/before.json ${luks ? '--config /tmp/luks.yaml ' : ''}--target /mnt/local >layoutonly.log 2>&1
echo "layoutonly $(( ($(date +%s%N) - started) / 1000000 ))" >>timings
findmnt --json --real --output SOURCE,TARGET,FSTYPE >mounted.json
# Captured while mounted: a btrfs file system's subvolumes can only be listed then.
lifeboat savelayout --out /tmp/out/after.json
unmount_under /mnt/local
`;
}

/**
 * Prints what the guest measured (milliseconds). When bench/layout.mjs runs this file for its
 * figures, $LIFEBOAT_BENCH_OUT names a directory: the timings go to timings.jsonl, one JSON line
 * a scenario, and the captured layout beside them, for the script generation figure.
 */
function recordTimings(scenario: string, text: string, layout: Layout): void {
  const timings = Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([what, ms]) => [what, Number(ms)]),
  );
  console.log(`layout timings, ${scenario}: ${JSON.stringify(timings)}`);
  const out = process.env.LIFEBOAT_BENCH_OUT;
  if (!out) return;
  appendFileSync(join(out, 'timings.jsonl'), `${JSON.stringify({ scenario, ...timings })}\n`);
  writeFileSync(
    join(out, `${scenario.replace(/[^A-Za-z0-9]+/g, '-')}.json`),
    JSON.stringify(layout),
  );
}

const why = (await engineMissing()) ?? qemuMissing();
const results: GuestResult[] = [];
afterAll(() => {
  for (const r of results) r.dispose();
});

// The guests run two at a time (it.concurrent, vitest's maxConcurrency), one virtual CPU each;
// for bench/layout.mjs's figures, one at a time on two, as each recovery runs.
const benchRun = process.env.LIFEBOAT_BENCH_OUT !== undefined;
const itGuest = benchRun ? it : it.concurrent;
const runGuest = (run: GuestRun) =>
  runInRescueGuest({ cpus: benchRun ? undefined : SIDE_BY_SIDE_CPUS, ...run });

/** The LVM scenario's layout, built and captured once on a first machine, for the migrations. */
let lvmCaptured: Promise<string> | undefined;
function lvmScenarioCaptured(): Promise<string> {
  lvmCaptured ??= (async () => {
    const lvm = SCENARIOS.find((s) => s.name.startsWith('LVM'));
    if (lvm === undefined) throw new Error('no LVM scenario');
    const first = await runGuest({
      script: `set -euo pipefail
d1=$(readlink -f /dev/disk/by-id/virtio-d1)
(set -x; ${lvm.setup.trim()}
) >setup.log 2>&1
lifeboat savelayout --out /tmp/out/before.json
`,
      disks: lvm.disks,
    });
    results.push(first);
    expect(first.exitCode, readFileSync(join(first.out, 'run.log'), 'utf8')).toBe(0);
    return readFileSync(join(first.out, 'before.json'), 'utf8');
  })();
  return lvmCaptured;
}

describeTier('boot', why)(
  'disk layout: capture, zero, recreate, compare (QEMU, real disks)',
  () => {
    for (const scenario of SCENARIOS) {
      itGuest(
        scenario.name,
        async () => {
          const result = await runGuest({
            script: guestScript(
              scenario.setup,
              scenario.disks.map((d) => d.serial),
            ),
            files: {
              'dump-tools.sh': readFileSync(join(import.meta.dirname, 'dump-tools.sh'), 'utf8'),
            },
            disks: scenario.disks,
            timeoutMs: 600_000,
          });
          results.push(result);
          const log = (name: string) =>
            existsSync(join(result.out, name)) ? readFileSync(join(result.out, name), 'utf8') : '';
          const tell = `run.log:\n${log('run.log').slice(-2500)}\nsetup.log:\n${log('setup.log').slice(-1500)}\nlayoutonly.log:\n${log('layoutonly.log').slice(-2500)}\nconsole:\n${result.console.slice(-1500)}`;
          expect(result.exitCode, tell).toBe(0);
          const read = (name: string) =>
            JSON.parse(readFileSync(join(result.out, name), 'utf8')) as Layout;
          const before = read('before.json');
          const zeroed = read('zeroed.json');
          const after = read('after.json');
          // The scenario built something, and zeroing really lost it.
          expect(before.disks.length).toBe(scenario.disks.length);
          expect(zeroed.disks).toEqual([]);
          if (existsSync(join(result.out, 'nokey.exit'))) {
            expect(log('nokey.exit').trim()).toBe('2');
            expect(log('nokey.log')).toContain(
              'LUKS volume(s) and no key was given; nothing was touched',
            );
            expect(read('nokey.json').disks).toEqual([]);
          }
          recordTimings(scenario.name, log('timings'), before);
          const changes = diffLayouts(before, after, { recreated: true });
          expect(formatLayoutChanges(changes), tell).toBe('');
          // Every captured mount came back under the target.
          const mounted = log('mounted.json');
          for (const mount of before.mounts) {
            expect(mounted).toContain(`"/mnt/local${mount.mountpoint}"`);
          }
        },
        700_000,
      );
    }

    itGuest(
      'the LVM scenario onto a disk too small: refused with what does not fit, no disk written',
      async () => {
        const before = await lvmScenarioCaptured();
        const result = await runGuest({
          script: `set -euo pipefail
small=$(readlink -f /dev/disk/by-id/virtio-small)
sha256sum "$small" >before.sum
set +e
lifeboat layoutonly --unattended --layout /tmp/in/before.json >refused.log 2>&1
echo $? >refused.exit
set -e
sha256sum "$small" >after.sum
`,
          files: { 'before.json': before },
          disks: [{ serial: 'small', sizeMiB: 256 }],
        });
        results.push(result);
        const out = (name: string) => readFileSync(join(result.out, name), 'utf8');
        expect(result.exitCode, out('run.log')).toBe(0);
        expect(out('refused.exit').trim()).toBe('2');
        expect(out('refused.log')).toMatch(
          /the layout does not fit the disks here: .*\/dev\/vg0\/home \(xfs\) would be \d+ MiB, under its 300 MiB minimum/,
        );
        expect(out('refused.log')).toContain('Nothing was written.');
        expect(out('after.sum')).toBe(out('before.sum'));
      },
      400_000,
    );

    itGuest(
      'the LVM scenario onto a larger disk with another name, leaving the other disk alone',
      async () => {
        const before = await lvmScenarioCaptured();
        // Second machine: a small disk first (so the new one is /dev/vdb) and a bigger new disk.
        const second = await runGuest({
          script: `set -euo pipefail
other=$(readlink -f /dev/disk/by-id/virtio-other)
sha256sum "$other" >other-before.sum
lifeboat layoutonly --unattended --layout /tmp/in/before.json --target /mnt/local >layoutonly.log 2>&1
lifeboat savelayout --out /tmp/out/after.json
findmnt --list --noheadings --output TARGET | grep "^/mnt/local/" | sort -r | xargs -r umount
sha256sum "$other" >other-after.sum
`,
          files: { 'before.json': before },
          disks: [
            { serial: 'other', sizeMiB: 64 },
            { serial: 'new', sizeMiB: 2048 },
          ],
        });
        results.push(second);
        const out = (name: string) => readFileSync(join(second.out, name), 'utf8');
        expect(second.exitCode, `${out('run.log')}\n${out('layoutonly.log')}`).toBe(0);
        expect(out('layoutonly.log')).toContain('migration: /dev/vda → /dev/vdb');
        // What came out is what migration planned for these disks, component by component.
        const planned = migrateLayout(JSON.parse(before) as Layout, [
          { device: '/dev/vda', size: 64 * 2 ** 20, logicalSectorSize: 512, serial: 'other' },
          { device: '/dev/vdb', size: 2048 * 2 ** 20, logicalSectorSize: 512, serial: 'new' },
        ]).layout;
        const after = JSON.parse(out('after.json')) as Layout;
        expect(formatLayoutChanges(diffLayouts(planned, after, { recreated: true }))).toBe('');
        const lvmPart = after.disks.find((d) => d.device === '/dev/vdb')?.table?.partitions[1];
        expect((lvmPart?.size ?? 0) * 512).toBeGreaterThan(1900 * 2 ** 20);
        expect(out('other-after.sum')).toBe(out('other-before.sum'));
      },
      700_000,
    );
  },
);
