/**
 * Shell glob patterns for one path component (`*`, `?`, `[abc]`, `[!a-z]`, `\x`), as glob(3)
 * and fnmatch(3) read them. ld.so.conf `include` lines and the extra-library list use them.
 */

/** True when the component contains glob syntax (otherwise it names one entry literally). */
export function hasGlobMagic(component: string): boolean {
  return /[*?[]/.test(component);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A RegExp matching whole names the way the glob component does. */
export function globToRegExp(component: string): RegExp {
  let source = '';
  for (let i = 0; i < component.length; i++) {
    const char = component[i] as string;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '\\' && i + 1 < component.length)
      source += escapeRegExp(component[++i] as string);
    else if (char === '[') {
      const close = findClassEnd(component, i);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = component.slice(i + 1, close);
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
