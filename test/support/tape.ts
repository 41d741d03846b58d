import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { closedPort, waitForPort } from './ports.js';

/**
 * An emulated tape drive for the tape tests: the Linux SCSI target daemon (tgt) on 127.0.0.1
 * serves one tape LUN over iSCSI, backed by a file that tgtimg made (a virtual cartridge). A
 * QEMU guest attaches it with QEMU's own iSCSI client as a SCSI generic device on virtio-scsi
 * (bootInQemu's `tapes`): its kernel's st driver makes /dev/st0 and /dev/nst0 of it. This
 * machine's kernel has no st, so the drive is only ever used from a guest.
 *
 * tgt emulates rewind, file marks, fixed and variable blocks (mt setblk, fsf, bsf, eof) and
 * write protection; it does not emulate READ POSITION, compression or a drive's CD-ROM mode.
 */
export interface TapeTarget {
  /** The cartridge's backing file (tgt's ssc format: a header, then each block with its own). */
  cartridge: string;
  /** What QEMU's -drive takes: iscsi://127.0.0.1:PORT/IQN/1 (LUN 1; LUN 0 is tgt's controller). */
  url: string;
  /** Marks the loaded cartridge write-protected (true) or writable (false). */
  writeProtect(on: boolean): void;
  stop(): void;
}

const IQN = 'iqn.2026-12.test.lifeboat:tape';

/** Makes a blank cartridge of `sizeMiB` at `cartridge` and serves it; stop() ends the daemon. */
export async function startTapeTarget(cartridge: string, sizeMiB = 1024): Promise<TapeTarget> {
  execFileSync('tgtimg', [
    '--op',
    'new',
    '--device-type',
    'tape',
    '--barcode',
    'LIFEBOAT01',
    '--size',
    String(sizeMiB),
    '--type',
    'data',
    '--file',
    cartridge,
  ]);
  const port = await closedPort();
  // -C: tgtd's management socket is /var/run/tgtd/socket.N (N at most 32767); the port keeps
  // two tests' daemons apart. -f: in the foreground, so the test owns the process.
  const control = String((port % 32_000) + 1);
  const child = spawn('tgtd', ['-f', '-C', control, '--iscsi', `portal=127.0.0.1:${port}`], {
    stdio: 'ignore',
    detached: true,
  });
  await waitForPort(port, 20_000, () => child.exitCode !== null);
  const admin = (...args: string[]) =>
    execFileSync('tgtadm', ['-C', control, '--lld', 'iscsi', ...args], { stdio: 'pipe' });
  // tgtd ignores SIGTERM: it is told to shut down, and killed if it does not; its management
  // socket and lock file go with it.
  const stop = () => {
    try {
      admin('--mode', 'target', '--op', 'delete', '--force', '--tid', '1');
    } catch {
      // No target yet, or gone already.
    }
    try {
      admin('--mode', 'system', '--op', 'delete');
    } catch {
      child.kill('SIGKILL');
    }
    if (child.exitCode === null) setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    rmSync(`/var/run/tgtd/socket.${control}`, { force: true });
    rmSync(`/var/run/tgtd/socket.${control}.lock`, { force: true });
  };
  try {
    admin('--mode', 'target', '--op', 'new', '--tid', '1', '--targetname', IQN);
    admin(
      '--mode',
      'logicalunit',
      '--op',
      'new',
      '--tid',
      '1',
      '--lun',
      '1',
      '--bstype',
      'ssc',
      '--device-type',
      'tape',
      '--backing-store',
      cartridge,
    );
    admin('--mode', 'target', '--op', 'bind', '--tid', '1', '--initiator-address', 'ALL');
  } catch (error) {
    stop();
    throw error;
  }
  return {
    cartridge,
    url: `iscsi://127.0.0.1:${port}/${IQN}/1`,
    writeProtect: (on) =>
      admin(
        '--mode',
        'logicalunit',
        '--op',
        'update',
        '--tid',
        '1',
        '--lun',
        '1',
        '--params',
        `readonly=${on ? 1 : 0}`,
      ),
    stop,
  };
}
