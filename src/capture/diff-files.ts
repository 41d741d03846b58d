import { type Change, type Detail, diffKeyed, valueDetail } from './diff-model.js';
import type { FileRecord } from './manifest.js';
import { formatBytes } from './show-units.js';

/**
 * File records compared by path. This is where the root cause of most drift shows: a program
 * whose libraries were upgraded changes only in its `libraries` list, while the library's
 * symlink target and bytes change here.
 */
export function diffFiles(a: readonly FileRecord[], b: readonly FileRecord[]): Change[] {
  return diffKeyed(a, b, {
    item: 'file',
    key: (file) => file.path,
    note: describeFile,
    compare: compareFiles,
  });
}

export function describeFile(file: FileRecord): string {
  const owner = file.uid === 0 && file.gid === 0 ? '' : `, owner ${file.uid}:${file.gid}`;
  switch (file.type) {
    case 'file':
      return `file ${file.mode}, ${formatBytes(file.size)}${owner}`;
    case 'symlink':
      return `symlink to ${file.target}${owner}`;
    case 'dir':
      return `directory ${file.mode}${owner}`;
  }
}

function compareFiles(from: FileRecord, to: FileRecord): Detail[] {
  // A different type is a different thing: its other fields do not compare.
  if (from.type !== to.type) return valueDetail('type', from.type, to.type);
  // In the order a person asks: who may use it, what it points to, what it holds.
  const details: Detail[] = [];
  if (from.type !== 'symlink' && to.type !== 'symlink') {
    details.push(...valueDetail('mode', from.mode, to.mode));
  }
  details.push(...valueDetail('owner', `${from.uid}:${from.gid}`, `${to.uid}:${to.gid}`));
  if (from.type === 'symlink' && to.type === 'symlink') {
    details.push(...valueDetail('target', from.target, to.target));
  }
  if (from.type === 'file' && to.type === 'file') {
    if (from.sha256 !== to.sha256 || from.size !== to.size) {
      details.push({
        kind: 'content',
        from: { sha256: from.sha256, size: from.size },
        to: { sha256: to.sha256, size: to.size },
      });
    }
  }
  if (from.type !== 'symlink' && to.type !== 'symlink') {
    details.push(...xattrDetail(from.xattrs ?? {}, to.xattrs ?? {}));
  }
  return details;
}

/** Attribute names added, removed, or with another value (values are opaque base64). */
function xattrDetail(from: Record<string, string>, to: Record<string, string>): Detail[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const added = names.filter((name) => !Object.hasOwn(from, name));
  const removed = names.filter((name) => !Object.hasOwn(to, name));
  const changed = names.filter(
    (name) => Object.hasOwn(from, name) && Object.hasOwn(to, name) && from[name] !== to[name],
  );
  if (added.length + removed.length + changed.length === 0) return [];
  return [{ kind: 'set', field: 'xattrs', added, removed, changed }];
}
