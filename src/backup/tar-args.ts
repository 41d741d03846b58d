import { isAbsolute, relative } from 'node:path';

/**
 * GNU tar's command lines for the NETFS archive, one comment per flag (mkosi's archive.py style):
 * the flags are the backup's guarantees, so each says which one it keeps.
 */

export interface CreateOptions {
  hostRoot: string;
  /** Mount points, as host paths ("/", "/boot"), in archive order. */
  filesystems: readonly string[];
  /** backup.exclude: absolute paths are host paths, others tar patterns. */
  excludes: readonly string[];
  /** Host paths never archived (output, work and local destination directories). */
  alwaysExclude: readonly string[];
  /** Where tar writes the member names (the listing). */
  indexFile: string;
  selinux: boolean;
}

/** A host path as the member name tar gives it under -C hostRoot: "/" → ".", "/boot" → "./boot". */
export function memberName(hostPath: string): string {
  const rel = hostPath.replace(/^\/+/, '').replace(/\/+$/, '');
  return rel === '' ? '.' : `./${rel}`;
}

/** `path` (on the machine) as a member name, if it lies inside hostRoot. */
function insideRoot(hostRoot: string, path: string): string | undefined {
  const rel = relative(hostRoot, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return `./${rel}`;
}

export function createArgs(options: CreateOptions): string[] {
  const excludes: string[] = [];
  for (const pattern of options.excludes) {
    excludes.push(
      ...(pattern.startsWith('/')
        ? // A host path ("/tmp/*", ReaR's BACKUP_PROG_EXCLUDE form): matched from the root only.
          ['--anchored', `--exclude=${memberName(pattern)}`]
        : // Anything else is a tar pattern matched against any tail of a member name ("*.o").
          ['--no-anchored', `--exclude=${pattern}`]),
    );
  }
  for (const path of options.alwaysExclude) {
    const member = insideRoot(options.hostRoot, path);
    // The directory and everything in it: an archive that holds the backup being written, or
    // the rescue media, grows with every run.
    if (member) excludes.push('--anchored', `--exclude=${member}`);
  }
  return [
    // Create an archive on stdout; the compressor reads it from the pipe.
    '--create',
    '--file=-',
    // Member names relative to the host root ("./etc/fstab"): restore puts them under any target.
    `--directory=${options.hostRoot}`,
    // POSIX pax format: long names, big files, sub-second times and xattrs without GNU's limits.
    '--format=posix',
    // Each named mount point on its own: tar does not wander into /proc, /sys, a tmpfs, or a
    // network mount below it; the other file systems are named in the list themselves.
    '--one-file-system',
    // Holes stay holes (VM images, databases): they take no space in the archive or when restored.
    '--sparse',
    // Extended attributes, every namespace (security.capability of ping, user.* of applications).
    '--xattrs',
    '--xattrs-include=*',
    // POSIX ACLs, which live in system.posix_acl_* and some file systems keep apart.
    '--acls',
    // SELinux contexts, only where the host uses SELinux (recovery relabels otherwise).
    ...(options.selinux ? ['--selinux'] : []),
    // uid/gid numbers, not names: the rescue system's /etc/passwd is not the host's.
    '--numeric-owner',
    // Member names, one a line, into the listing; the archive on stdout stays untouched.
    '--verbose',
    `--index-file=${options.indexFile}`,
    // Names tar cannot represent in a line (a newline in a file name) escaped, not split.
    '--quoting-style=escape',
    // A file that vanishes while tar runs (a lock, a temp file) is not a failure.
    '--ignore-failed-read',
    '--warning=no-file-changed',
    '--warning=no-file-removed',
    '--warning=no-file-ignored',
    ...excludes,
    // The mount points last, as member names under --directory.
    '--',
    ...options.filesystems.map(memberName),
  ];
}

/** `tar -tv` of the decompressed stream on stdin: one member a line, read by tar-listing.ts. */
export function listArgs(): string[] {
  return [
    '--list',
    '--file=-',
    // Each member's kind and, for links, its target: verify() checks where links lead.
    '--verbose',
    // Names and link targets in C quotes: one token each, whatever bytes they hold.
    '--quoting-style=c',
    // Link targets as stored: without it tar strips "/" and "../" off them before printing.
    '--absolute-names',
    // uid/gid numbers: the archive's owner names could hold a quote, before the name.
    '--numeric-owner',
  ];
}

export function extractArgs(target: string, selinux: boolean): string[] {
  return [
    '--extract',
    '--file=-',
    `--directory=${target}`,
    // Each member's name on stdout as it is extracted: the count restore() reports.
    '--verbose',
    '--quoting-style=escape',
    // Owners as the numbers stored: the rescue system's user names are not the host's.
    '--numeric-owner',
    // Modes exactly as stored (no umask), and owners (tar does this as root; said outright).
    '--preserve-permissions',
    '--same-owner',
    // xattrs of every namespace, ACLs, and holes, as they were archived.
    '--xattrs',
    '--xattrs-include=*',
    '--acls',
    ...(selinux ? ['--selinux'] : []),
    // A rerun after a power cut: GNU tar's default (no --overwrite, which would write through a
    // symlink) removes a file already there before extracting the member, and keeps directories,
    // fixing their modes and owners. Members with a leading "/" or ".." are refused (the default
    // too, no --absolute-names): nothing lands outside the target. verify() refuses such an
    // archive before restore is reached, and one whose members go through its own symlinks or
    // hard-link outside it (member-guard.ts).
  ];
}
