import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GUEST_TREE } from '../support/host-files.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { startTapeTarget, type TapeTarget } from '../support/tape.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * tape:// backups, on emulated tape drives: tgt serves two cartridges over iSCSI on this
 * machine's loopback (test/support/tape.ts), one of them write-protected; QEMU attaches both to
 * the rescue system, whose st driver makes /dev/nst0 and /dev/nst1 of them. In the rescue system,
 * `lifeboat mkbackuponly` writes a small tree's backup to the writable tape and `lifeboat recover
 * --into` restores it from there, every file the same; the tape starts with the lifeboat label
 * (20 blocks of 512 bytes). A drive another program holds, a drive that is not there and a
 * write-protected cartridge are one sentence naming the device, and exit 1, with nothing written;
 * a tape holding another host's backup has no backup of this host.
 */
const why =
  (await engineMissing()) ??
  qemuMissing() ??
  (existsSync('/usr/sbin/tgtd') ? undefined : 'tgt is not installed (ci/setup installs it)');

const GUEST_SCRIPT = `set -uo pipefail
for i in $(seq 30); do [ -e /dev/nst0 ] && [ -e /dev/nst1 ] && break; sleep 1; done
# Two drives: the writable cartridge's and the write-protected one's (whichever st named first).
for d in /dev/nst0 /dev/nst1; do
  if mt -f $d status 2>&1 | grep -q WR_PROT; then wp=$d; else rw=$d; fi
done
mt -f $rw status >status.txt 2>&1
mt -f $wp status >wp-status.txt 2>&1
echo "$rw $wp" >devices.txt
${GUEST_TREE}
tape() { lifeboat "$@" --set backup.method=netfs --set backup.url=tape://$rw; }
# What each tape file holds (read in whole 64 KiB records): compared before and after what must
# write nothing.
tape_files() {
  mt -f $rw setblk 0
  for f in 0 1 2 3 4; do
    mt -f $rw rewind; mt -f $rw fsf $f 2>&1 || true
    echo "file $f: $(dd if=$rw bs=64k status=none 2>&1 | sha256sum)"
  done
}

tape mkbackuponly --root $tree >backup.log 2>&1; echo $? >backup.exit
mt -f $rw rewind && mt -f $rw setblk 512 && dd if=$rw bs=512 count=20 status=none >label.bin
tape_files >tape-files.txt 2>&1
tape recover --into /tmp/restored --unattended >recover.log 2>&1; echo $? >recover.exit
fingerprint /tmp/restored >restored.fp

# Another program holds the drive (st lets one open it at a time): nothing is written.
exec 3<$rw
tape mkbackuponly --root $tree >busy.log 2>&1; echo $? >busy.exit
exec 3<&-
tape_files >tape-files-after-busy.txt 2>&1
lifeboat mkbackuponly --root $tree --set backup.method=netfs --set backup.url=tape:///dev/nst7 >absent.log 2>&1
echo $? >absent.exit
# A write-protected cartridge: refused before anything is written.
lifeboat mkbackuponly --root $tree --set backup.method=netfs --set backup.url=tape://$wp >wp.log 2>&1
echo $? >wp.exit

# Another host's backup on the tape: this host's recovery finds none of its own.
other=/tmp/other
mkdir -p $other/etc && echo otherhost >$other/etc/hostname && echo data >$other/etc/data
tape mkbackuponly --root $other >other-backup.log 2>&1; echo $? >other-backup.exit
tape recover --into /tmp/restored-other --unattended >other.log 2>&1; echo $? >other.exit
exit 0
`;

const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-tape-'));
let tape: TapeTarget | undefined;
let protectedTape: TapeTarget | undefined;
let protectedBefore = '';
let result: GuestResult | undefined;
afterAll(() => {
  tape?.stop();
  protectedTape?.stop();
  result?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});
const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const out = (name: string) => readFileSync(join((result as GuestResult).out, name), 'utf8');

describeTier('boot', why)('tape:// backups on an emulated tape drive (QEMU, tgt)', () => {
  beforeAll(async () => {
    tape = await startTapeTarget(join(scratch, 'cartridge.img'), 256);
    protectedTape = await startTapeTarget(join(scratch, 'protected.img'), 64);
    protectedTape.writeProtect(true);
    protectedBefore = sha256Of(protectedTape.cartridge);
    result = await runInRescueGuest({
      tapes: [tape.url, protectedTape.url],
      disks: [],
      script: GUEST_SCRIPT,
    });
    expect(result.exitCode, result.console.slice(-3000)).toBe(0);
  }, 900_000);

  it('the rescue system has the drive as /dev/nstN, online and writable', () => {
    expect(out('status.txt')).toMatch(/\bONLINE\b/);
    expect(out('status.txt')).not.toMatch(/\bWR_PROT\b/);
  });

  it('mkbackuponly writes the backup to the tape, recover --into restores every file the same', () => {
    expect(out('backup.exit').trim(), out('backup.log')).toBe('0');
    expect(out('recover.exit').trim(), `${out('tape-files.txt')}\n${out('recover.log')}`).toBe('0');
    expect(out('source.fp')).toContain('usr/blob f 644');
    expect(out('restored.fp')).toBe(out('source.fp'));
  });

  it('the tape starts with the lifeboat label, zero bytes to 20 blocks of 512', () => {
    const label = readFileSync(join((result as GuestResult).out, 'label.bin'));
    expect(label.length).toBe(10_240);
    expect(label.subarray(0, 8).toString('latin1')).toBe('LIFEBOAT');
    expect(label.subarray(8).every((byte) => byte === 0)).toBe(true);
  });

  it('a drive another program holds, and one that is not there: one sentence naming it, exit 1, nothing written', () => {
    const [rw] = out('devices.txt').trim().split(' ') as [string];
    expect(out('busy.exit').trim()).toBe('1');
    expect(out('busy.log')).toContain(`backup.url tape://${rw}: ${rw} `);
    expect(out('busy.log')).toMatch(/busy/i);
    expect(out('tape-files-after-busy.txt')).toBe(out('tape-files.txt'));
    expect(out('absent.exit').trim()).toBe('1');
    expect(out('absent.log')).toMatch(/backup\.url tape:\/\/\/dev\/nst7: \/dev\/nst7 /);
    expect(out('absent.log')).not.toMatch(/internal error|\n\s+at /);
  });

  it('a write-protected cartridge: one sentence naming the drive, exit 1, the cartridge unchanged', () => {
    expect(out('wp-status.txt')).toMatch(/\bWR_PROT\b/);
    const [, wp] = out('devices.txt').trim().split(' ') as [string, string];
    expect(out('wp.exit').trim(), out('wp.log')).toBe('1');
    expect(out('wp.log')).toContain(
      `backup.url tape://${wp}: ${wp} holds a write-protected cartridge`,
    );
    expect(sha256Of((protectedTape as TapeTarget).cartridge)).toBe(protectedBefore);
  });

  it("a tape holding another host's backup: recovery finds no backup of this host there, exit 1", () => {
    expect(out('other-backup.exit').trim(), out('other-backup.log')).toBe('0');
    expect(out('other.exit').trim()).toBe('1');
    expect(out('other.log')).toMatch(/no complete backup of \S+ at tape:\/\/\/dev\/nst\d/);
  });
});
