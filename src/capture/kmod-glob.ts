/**
 * Shell-style patterns as kmod matches them (fnmatch(3) without flags: `*` and `?` also match `/`,
 * `[...]` and `[!...]` are character classes). Used for modules.alias and for firmware names.
 */

const GLOB_CHARS = /[*?[]/;

export function hasGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** The part of the pattern before its first wildcard: a cheap filter before the RegExp. */
export function literalPrefix(pattern: string): string {
  const at = pattern.search(GLOB_CHARS);
  return at === -1 ? pattern : pattern.slice(0, at);
}

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2); // a `]` right after `[` or `[!` is a member
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
