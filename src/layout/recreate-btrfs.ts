/**
 * A btrfs file system's subvolumes and its default subvolume: without them fstab's subvol=
 * mounts and the boot loader's root (the default subvolume) find nothing. The file system is
 * mounted by its top level under a temporary directory, each missing subvolume is created
 * (parents first), the default is set by the id of its path, and it is unmounted again.
 */
import type { Filesystem } from './model.js';
import { compareIds } from './recreate-graph.js';
import { checkRelativePath, RecreateError, shellQuote } from './recreate-shell.js';

/** btrfs's id of the top-level subvolume: the default of a new file system. */
const TOP_LEVEL_ID = 5;

export function renderBtrfsSubvolumes(fs: Filesystem, id: string): string[] {
  const subvolumes = (fs.subvolumes ?? []).map((path) =>
    checkRelativePath(path, `${id} subvolume`),
  );
  const defaultSubvolume = fs.defaultSubvolume ?? '';
  if (defaultSubvolume !== '' && !subvolumes.includes(defaultSubvolume)) {
    throw new RecreateError(
      `${id}: default subvolume ${JSON.stringify(defaultSubvolume)} is not one of its subvolumes`,
    );
  }
  if (subvolumes.length === 0 && defaultSubvolume === '') return [];

  // Parents first: a shallower path before a deeper one, then byte order.
  const ordered = [...subvolumes].sort(
    (a, b) => a.split('/').length - b.split('/').length || compareIds(a, b),
  );
  // Each subvolume is only created when missing, so a rerun completes a half-done block.
  const lines = [
    `# ${id}: ${subvolumes.length} subvolumes${defaultSubvolume === '' ? '' : ', and the default one'}`,
    'btrfs_tmp=$(mktemp -d -t lifeboat-btrfs.XXXXXX)',
    `run mount -t btrfs -o subvolid=${TOP_LEVEL_ID} ${shellQuote(fs.device)} "$btrfs_tmp"`,
  ];
  for (const path of ordered) {
    const inside = `"$btrfs_tmp"/${shellQuote(path)}`;
    lines.push(`if ! btrfs subvolume show ${inside} >/dev/null 2>&1; then`);
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    // A subvolume can sit in a plain directory of its parent (@/var/lib/machines).
    if (parent !== '') lines.push(`  run mkdir -p "$btrfs_tmp"/${shellQuote(parent)}`);
    lines.push(`  run btrfs subvolume create ${inside}`, 'fi');
  }
  if (defaultSubvolume !== '') {
    lines.push(
      `default_id=$(btrfs inspect-internal rootid "$btrfs_tmp"/${shellQuote(defaultSubvolume)})`,
      'run btrfs subvolume set-default "$default_id" "$btrfs_tmp"',
    );
  }
  lines.push('run umount "$btrfs_tmp"', 'rmdir "$btrfs_tmp"', "btrfs_tmp=''");
  return lines;
}
