import type { Mount } from './model.js';
import { parseJson, ToolOutputError, textOf } from './parse-util.js';

/**
 * `findmnt --json --real --output SOURCE,TARGET,FSTYPE,OPTIONS`: real file systems and where
 * they are mounted. A btrfs subvolume's source reads DEVICE[/subvolume]: the device is kept, the
 * subvolume is in the options (subvol=). Any other DEVICE[/path] is a bind mount, left out.
 */
export function parseFindmnt(text: string): Mount[] {
  const json = parseJson('findmnt', text) as { filesystems?: unknown[] };
  if (!Array.isArray(json.filesystems)) throw new ToolOutputError('findmnt', 'no "filesystems"');
  const mounts: Mount[] = [];
  const visit = (raw: unknown) => {
    const fs = raw as Record<string, unknown>;
    const source = textOf(fs.source);
    const target = textOf(fs.target);
    const fstype = textOf(fs.fstype) ?? '';
    // DEVICE[/path] is a bind mount, except on btrfs, where it names the subvolume.
    const bind = source?.endsWith(']') === true && fstype !== 'btrfs';
    if (source !== undefined && target !== undefined && source.startsWith('/dev/') && !bind) {
      mounts.push({
        device: source.replace(/\[.*\]$/, ''),
        mountpoint: target,
        type: fstype,
        options: textOf(fs.options) ?? '',
      });
    }
    if (Array.isArray(fs.children)) fs.children.forEach(visit);
  };
  json.filesystems.forEach(visit);
  return mounts.sort((a, b) => (a.mountpoint < b.mountpoint ? -1 : 1));
}
