/**
 * GNU tar's verbose listing (tar --list --verbose --quoting-style=c --numeric-owner
 * --absolute-names) read back into members: their kind, their name and, for links, what they
 * point at, byte for byte as stored.
 *
 *   lrwxrwxrwx 0/0               0 2026-01-01 00:00 "./etc/zz" -> "/"
 *   hrw-r--r-- 0/0               0 2026-01-01 00:00 "./etc/h" link to "./etc/f"
 *
 * The C quoting makes each name one unambiguous token (a name holding " -> " or a newline stays
 * inside its quotes), --absolute-names keeps tar from stripping "/" and "../" off link targets
 * before it prints them, and --numeric-owner keeps the archive's owner names (which could hold
 * a quote) out of the fields before the name.
 */

export type MemberKind = 'symlink' | 'hardlink' | 'other';

export interface ListedMember {
  kind: MemberKind;
  /** The name as stored, one character a byte (latin1). */
  name: string;
  /** The name as tar printed it between its quotes: for messages, never a raw control byte. */
  shownName: string;
  /** Symlink and hard link members: the stored link target, as `name`. */
  link?: string;
  shownLink?: string;
}

const C_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  '"': 34,
  "'": 39,
  '?': 63,
};

interface Quoted {
  value: string;
  shown: string;
  /** Index just past the closing quote. */
  end: number;
}

/** The C-quoted string starting at `line[start]` (a '"'), or undefined if it does not close. */
function readQuoted(line: string, start: number): Quoted | undefined {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '"') {
      return {
        value: Buffer.from(bytes).toString('latin1'),
        shown: line.slice(start + 1, i),
        end: i + 1,
      };
    }
    if (c !== '\\') {
      // Outside escapes tar prints only printable ASCII in the C locale.
      bytes.push(...Buffer.from(c, 'utf8'));
      i += 1;
      continue;
    }
    const next = line[i + 1];
    if (next === undefined) return undefined;
    const octal = /^[0-7]{1,3}/.exec(line.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(Number.parseInt(octal[0], 8) & 0xff);
      i += 1 + octal[0].length;
    } else if (next in C_ESCAPES) {
      bytes.push(C_ESCAPES[next] as number);
      i += 2;
    } else {
      return undefined;
    }
  }
  return undefined;
}

const LINK_SEPARATOR: Partial<Record<MemberKind, string>> = {
  symlink: ' -> ',
  hardlink: ' link to ',
};

/**
 * One line of the listing as a member, or undefined when the line is not what GNU tar prints
 * for a member (the caller refuses the archive then: what cannot be read cannot be checked).
 */
export function parseListingLine(line: string): ListedMember | undefined {
  // The fields before the name (mode, numeric owner, size, date) never hold a quote.
  const start = line.indexOf('"');
  if (start < 0) return undefined;
  const name = readQuoted(line, start);
  if (!name) return undefined;
  const kind: MemberKind = line[0] === 'l' ? 'symlink' : line[0] === 'h' ? 'hardlink' : 'other';
  const member: ListedMember = { kind, name: name.value, shownName: name.shown };
  const separator = LINK_SEPARATOR[kind];
  if (separator === undefined) return member;
  if (!line.startsWith(`${separator}"`, name.end)) return undefined;
  const link = readQuoted(line, name.end + separator.length);
  if (!link) return undefined;
  return { ...member, link: link.value, shownLink: link.shown };
}
