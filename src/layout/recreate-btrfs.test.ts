import { describe, expect, it } from 'vitest';
import { blockOf, btrfsLayout, linesOf } from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: btrfs with subvolumes', () => {
  const { script } = recreateScript(btrfsLayout());
  const lines = linesOf(blockOf(script, 'fs:/dev/vda1'));

  it('makes the file system with its UUID and label', () => {
    expect(lines).toContain(
      "run mkfs.btrfs -f -U '55555555-0000-4000-8000-000000000001' -L 'system' '/dev/vda1'",
    );
  });

  it('creates the missing subvolumes parents first under the top level, sets the default, unmounts', () => {
    const commands = lines.filter((line) => /^(run |default_id=|btrfs_tmp=)/.test(line));
    expect(commands).toEqual([
      "run mkfs.btrfs -f -U '55555555-0000-4000-8000-000000000001' -L 'system' '/dev/vda1'",
      'btrfs_tmp=$(mktemp -d -t lifeboat-btrfs.XXXXXX)',
      `run mount -t btrfs -o subvolid=5 '/dev/vda1' "$btrfs_tmp"`,
      `run btrfs subvolume create "$btrfs_tmp"/'@'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@home'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@snapshots'`,
      `run mkdir -p "$btrfs_tmp"/'@/var/lib'`,
      `run btrfs subvolume create "$btrfs_tmp"/'@/var/lib/machines'`,
      `default_id=$(btrfs inspect-internal rootid "$btrfs_tmp"/'@')`,
      'run btrfs subvolume set-default "$default_id" "$btrfs_tmp"',
      'run umount "$btrfs_tmp"',
      "btrfs_tmp=''",
    ]);
    expect(lines).toContain(`if ! btrfs subvolume show "$btrfs_tmp"/'@home' >/dev/null 2>&1; then`);
  });

  it('refuses a subvolume path that leads out of the file system', () => {
    const layout = btrfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { subvolumes: ['@', '@/../../etc'] });
    expect(() => recreateScript(layout)).toThrow(/fs:\/dev\/vda1 subvolume: path "@\/..\/..\/etc"/);
  });

  it('refuses a default subvolume that is not one of them', () => {
    const layout = btrfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { defaultSubvolume: '@root' });
    expect(() => recreateScript(layout)).toThrow(/default subvolume "@root"/);
  });
});
