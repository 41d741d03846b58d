/**
 * Version order as `sort -V` and dpkg have it (Debian's verrevcmp): the strings are compared as
 * alternating runs of non-digits and digits; digit runs numerically (so 6.1.0-50 > 6.1.0-9),
 * other runs character by character with letters before other characters and `~` before
 * everything, even the end of the string (so 6.1~rc1 < 6.1). Kernel versions are all this
 * needs, and plain string order gets them wrong as soon as an ABI number gains a digit.
 */

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

/** Weight of one non-digit character: `~` < end of string < letters < everything else. */
function order(char: string | undefined): number {
  if (char === undefined || isDigit(char)) return 0;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

/** Negative when `a` sorts before `b`, positive after, 0 when equal. */
export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // A run of non-digits, compared character by character.
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = order(a[i]) - order(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    // A run of digits, compared as numbers without leading zeros (any length: no overflow).
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1; // a's number has more digits
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** The greatest of `versions` in version order, or undefined for an empty list. */
export function newestVersion(versions: readonly string[]): string | undefined {
  return [...versions].sort(compareVersions).at(-1);
}
