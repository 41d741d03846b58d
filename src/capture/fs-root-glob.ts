/**
 * Shell glob patterns (`*`, `?`, `[abc]`, `[!a-z]`, `[^a-z]`, `\x`) as fnmatch(3) without flags
 * reads them: `*` and `?` match any character, `/` and a leading `.` included. Path globs
 * (ld.so.conf `include` lines, the extra-library list) apply them one component at a time and
 * add glob(3)'s leading-dot rule themselves (RootView.glob). kmod matches modules.alias patterns
 * against whole modaliases with fnmatch(3) (`*` crossing `/`), and firmware wildcards are matched
 * against file names: both take these functions as they are.
 */

/** True when the pattern contains glob syntax (otherwise it names one entry literally). */
export function hasGlobMagic(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** The part of the pattern before its first wildcard or escape: a cheap filter before the RegExp. */
export function literalPrefix(pattern: string): string {
  const at = pattern.search(/[*?[\\]/);
  return at === -1 ? pattern : pattern.slice(0, at);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A RegExp matching whole strings the way the pattern does. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '\\' && i + 1 < pattern.length)
      source += escapeRegExp(pattern[++i] as string);
    else if (char === '[') {
      const close = findClassEnd(pattern, i);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      // Inside a class only `\`, `]` and `^` need escaping for a RegExp; `-` keeps its range meaning.
      const escaped = body.replace(/[\\\]^]/g, '\\$&');
      source += `[${negate ? '^' : ''}${escaped}]`;
      i = close;
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, 's');
}

/** Index of the `]` closing the class opened at `open` (a `]` right after `[` or `[!` is literal). */
function findClassEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  const close = pattern.indexOf(']', i);
  return close;
}
