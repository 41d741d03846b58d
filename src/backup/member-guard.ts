import { type ListedMember, parseListingLine } from './tar-listing.js';

/**
 * What verify() refuses in an archive before any disk changes: members that would land outside
 * the restore target, or that GNU tar would refuse halfway through a restore (exit 2, the
 * target left half written).
 */

/** Why a path stored in a member would leave the target, or undefined when it stays inside. */
export function escapeReason(path: string): string | undefined {
  if (path.startsWith('/')) return 'is an absolute path';
  if (path.split('/').includes('..')) return 'has a ".." component';
  return undefined;
}

/** "./etc//zz/" → "etc/zz": the path a member lands at, relative to the target. */
function normalised(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

interface SymlinkMember {
  shownName: string;
  shownLink: string;
}

/**
 * Reads an archive's members in order and says why one must be refused. A symlink's own target
 * may be anything (etc/localtime -> /usr/share/zoneinfo/UTC is normal): it is only written as a
 * link. What is refused is a later member whose path goes through an earlier symlink member
 * (etc/zz -> / then etc/zz/passwd): extracted, it would be written wherever the link points.
 */
export class MemberGuard {
  /** Normalised paths of the symlink members seen so far. Once a link, always refused below. */
  private readonly symlinks = new Map<string, SymlinkMember>();

  /** The rest of the sentence "its member NAME ...", or undefined when the member is safe. */
  refusal(member: ListedMember): string | undefined {
    const outside = escapeReason(member.name);
    if (outside) return `${outside}, it would land outside the target`;
    const path = normalised(member.name);
    const under = this.symlinkAbove(path);
    if (under) {
      return `lies under ${under.shownName}, a symlink to ${under.shownLink} earlier in the archive: restoring it would write through that link`;
    }
    if (member.kind === 'hardlink' && member.link !== undefined) {
      const target = `is a hard link to ${member.shownLink}`;
      const linkEscape = escapeReason(member.link);
      if (linkEscape)
        return `${target}, which ${linkEscape}: it would link to a file outside the target`;
      const linkUnder = this.symlinkAbove(normalised(member.link));
      if (linkUnder) {
        return `${target}, which lies under ${linkUnder.shownName}, a symlink to ${linkUnder.shownLink} earlier in the archive: it would link to a file through that link`;
      }
    }
    if (member.kind === 'symlink' && !this.symlinks.has(path)) {
      this.symlinks.set(path, { shownName: member.shownName, shownLink: member.shownLink ?? '' });
    }
    return undefined;
  }

  /** The symlink member at `path`'s parent, grandparent... or at the root itself. */
  private symlinkAbove(path: string): SymlinkMember | undefined {
    if (this.symlinks.size === 0 || path === '') return undefined;
    let above = '';
    for (const part of path.split('/')) {
      const found = this.symlinks.get(above);
      if (found) return found;
      above = above === '' ? part : `${above}/${part}`;
    }
    return undefined;
  }
}

/**
 * tar's listing of an archive (listArgs()), fed line by line as it comes: counts the members and
 * keeps the first reason to refuse the archive, the rest of "backup ID at URL ...".
 */
export class ListingCheck {
  members = 0;
  refusal: string | undefined;
  private readonly guard = new MemberGuard();

  line(text: string): void {
    this.members += 1;
    if (this.refusal !== undefined) return;
    const member = parseListingLine(text);
    if (!member) {
      // What cannot be read cannot be checked: refused rather than restored unchecked.
      this.refusal = `cannot be checked: tar listed a member as ${JSON.stringify(text)}, which is not a member line lifeboat can read`;
      return;
    }
    const why = this.guard.refusal(member);
    if (why) this.refusal = `is refused: its member ${member.shownName} ${why}`;
  }
}
