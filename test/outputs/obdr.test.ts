import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cartridgeFiles } from '../support/cartridge.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianRoot } from '../support/fixtures.js';
import { expectRestored, GUEST_TREE, recoverIntoScript } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { startTapeTarget, type TapeTarget } from '../support/tape.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * OBDR, on an emulated tape drive (tgt over iSCSI on loopback, test/support/tape.ts):
 *
 * 1. `lifeboat build` makes the obdr output of the example host (its rescue ISO), as a build
 *    machine does for a host with no container engine.
 * 2. That ISO boots in QEMU with the tape attached, standing in for the protected host: the ISO
 *    (given as a second disk) and manifest.json go into its output.dir, and `lifeboat
 *    mkbackuponly` writes the OBDR tape in one run: label, ISO, backup, with a copy of
 *    backup.json left in output.dir.
 * 3. On this machine, the cartridge's backing file is read block by block: the label, the ISO
 *    byte for byte as built, ReaR's extra file mark, and an archive whose sha256 is the one its
 *    backup.json records.
 * 4. The "one button": a drive's CD-ROM emulation cannot be emulated here, so the ISO read from
 *    the tape's second file boots as a CD, with the tape still attached, and `lifeboat recover
 *    --into` restores from the tape by its file marks: every file the same.
 */
const why =
  (await engineMissing()) ??
  qemuMissing() ??
  (existsSync('/usr/sbin/tgtd') ? undefined : 'tgt is not installed (ci/setup installs it)');

const TAPE_SETS = [
  '--set',
  'output.methods=[obdr]',
  '--set',
  'backup.method=netfs',
  '--set',
  'backup.url=tape:///dev/nst0',
];
const GUEST_TAPE_SETS = TAPE_SETS.join(' ').replace('=[obdr]', "='[obdr]'");

const WRITE_SCRIPT = `set -uo pipefail
for i in $(seq 30); do [ -e /dev/nst0 ] && break; sleep 1; done
# output.dir as a build machine's copy leaves it: the ISO (given as a disk) and manifest.json.
mkdir -p /tmp/media
cp /tmp/in/manifest.json /tmp/media/
head -c "$(cat /tmp/in/iso-bytes)" /dev/disk/by-id/virtio-media >/tmp/media/lifeboat.iso
${GUEST_TREE}
lifeboat mkbackuponly --root $tree --set output.dir=/tmp/media ${GUEST_TAPE_SETS} >backup.log 2>&1
echo $? >backup.exit
cp /tmp/media/backup.json kept-backup.json
exit 0
`;

// The rescue system's own configuration (the build's) names the tape and the obdr output.
const RECOVER_SCRIPT = recoverIntoScript(
  'for i in $(seq 30); do [ -e /dev/nst0 ] && break; sleep 1; done',
);

const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-obdr-'));
const media = join(scratch, 'media');
let tape: TapeTarget | undefined;
const guests: GuestResult[] = [];
let files: Buffer[] = [];
afterAll(() => {
  tape?.stop();
  for (const guest of guests) guest.dispose();
  rmSync(scratch, { recursive: true, force: true });
});
const out = (guest: number, name: string) =>
  readFileSync(join((guests[guest] as GuestResult).out, name), 'utf8');
/** A text file as it was written: the tape file pads its last record with zero bytes. */
const withoutPadding = (data: Buffer) => data.toString('utf8').replace(/\0+$/, '');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describeTier('boot', why)('OBDR tapes on an emulated tape drive (QEMU, tgt)', () => {
  beforeAll(async () => {
    const box = sandbox();
    const capture = join(box.dir, 'capture');
    const captured = await lifeboat(
      ['capture', '--root', await debianRoot(), '--out', capture, ...box.sets, '--quiet'],
      { env: box.env },
    );
    expect(captured.exitCode, captured.all).toBe(0);
    const built = await lifeboat(
      ['build', '--capture', capture, '--out', media, ...box.sets, ...TAPE_SETS],
      { env: box.env },
    );
    expect(built.exitCode, built.all).toBe(0);
    rmSync(box.dir, { recursive: true, force: true });
    const iso = join(media, 'lifeboat.iso');

    tape = await startTapeTarget(join(scratch, 'cartridge.img'), 512);
    const isoDisk = join(scratch, 'iso-disk.img');
    copyFileSync(iso, isoDisk);
    guests.push(
      await runInRescueGuest({
        boot: { medium: { kind: 'cdrom', iso }, firmware: 'bios' },
        tapes: [tape.url],
        disks: [{ serial: 'media', sizeMiB: 0, file: isoDisk }],
        files: {
          'manifest.json': readFileSync(join(media, 'manifest.json'), 'utf8'),
          'iso-bytes': String(statSync(iso).size),
        },
        script: WRITE_SCRIPT,
        timeoutMs: 600_000,
      }),
    );
    expect(guests[0]?.exitCode, guests[0]?.console.slice(-3000)).toBe(0);
    files = cartridgeFiles(tape.cartridge);

    // The one button, simulated: the ISO as the tape's second file holds it, booted as a CD.
    const fromTape = join(scratch, 'from-tape.iso');
    writeFileSync(fromTape, files[1] ?? Buffer.alloc(0));
    guests.push(
      await runInRescueGuest({
        boot: { medium: { kind: 'cdrom', iso: fromTape }, firmware: 'bios' },
        tapes: [tape.url],
        disks: [],
        script: RECOVER_SCRIPT,
      }),
    );
    expect(guests[1]?.exitCode, guests[1]?.console.slice(-3000)).toBe(0);
  }, 1_800_000);

  it('mkbackuponly writes the OBDR tape in one run: label, ISO, backup', () => {
    expect(out(0, 'backup.exit').trim(), out(0, 'backup.log')).toBe('0');
    expect(out(0, 'backup.log')).toMatch(
      /obdr: \/dev\/nst0: label LIFEBOAT, lifeboat\.iso in 2048-byte blocks/,
    );
  });

  it("the cartridge holds the label, the ISO as built, ReaR's extra file mark, then the backup", () => {
    expect(files.map((file) => file.length).slice(0, 3)).toEqual([
      10_240,
      statSync(join(media, 'lifeboat.iso')).size,
      0,
    ]);
    const [label, iso, , archive, listing, manifestBytes] = files as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    expect(label.subarray(0, 8).toString('latin1')).toBe('LIFEBOAT');
    expect(label.subarray(8).every((byte) => byte === 0)).toBe(true);
    expect(sha256(iso)).toBe(sha256(readFileSync(join(media, 'lifeboat.iso'))));
    const manifest = JSON.parse(withoutPadding(manifestBytes)) as {
      archive: { sha256: string; bytes: number };
    };
    // Records of 64 KiB (tape.blockSize 0), the last one padded with zero bytes.
    const { bytes } = manifest.archive;
    expect(archive.length).toBe(Math.ceil(bytes / 65_536) * 65_536);
    expect(sha256(archive.subarray(0, bytes))).toBe(manifest.archive.sha256);
    expect(archive.subarray(bytes).every((byte) => byte === 0)).toBe(true);
    expect(listing.toString('utf8')).toContain('usr/blob');
    expect(files).toHaveLength(6);
  });

  it("a copy of the tape's backup.json stays in output.dir", () => {
    expect(out(0, 'kept-backup.json')).toBe(withoutPadding(files[5] ?? Buffer.alloc(0)));
  });

  it('the ISO read back from the tape boots, and recover --into restores from the tape: every file the same', () => {
    const guest = guests[1] as GuestResult;
    expectRestored(guest.out, 'tape:///dev/nst0', out(0, 'source.fp'));
  });
});
