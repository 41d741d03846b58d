import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountedUnder, networkerTime } from './networker.js';

describe('networker', () => {
  it('a point in time as NetWorker reads it: MM/DD/YYYY HH:MM:SS', () => {
    expect(networkerTime('2026-12-01 02:00:00')).toBe('12/01/2026 02:00:00');
  });

  it('the save sets of a recovery: the file systems mounted at and under the target, as host paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mounts-'));
    const mounts = join(dir, 'mounts');
    writeFileSync(
      mounts,
      [
        '/dev/mapper/vg-root /mnt/local ext4 rw 0 0',
        '/dev/vda1 /mnt/local/boot ext4 rw 0 0',
        '/dev/vda2 /mnt/local/boot/efi vfat rw 0 0',
        '/dev/vdb1 /mnt/local/srv/with\\040blank xfs rw 0 0',
        '/dev/vdc1 /mnt/localother ext4 rw 0 0',
        'proc /proc proc rw 0 0',
        '',
      ].join('\n'),
    );
    expect(await mountedUnder('/mnt/local', mounts)).toEqual([
      '/',
      '/boot',
      '/boot/efi',
      '/srv/with blank',
    ]);
    // A rehearsal into a directory that is no mount point: its root alone.
    expect(await mountedUnder('/tmp/rehearsal', mounts)).toEqual(['/']);
    rmSync(dir, { recursive: true, force: true });
  });
});
