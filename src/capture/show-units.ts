/**
 * Wording shared by `capture show` and `capture diff`: sizes in binary units and counted nouns,
 * so both commands describe the same bundle the same way.
 */

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 512 B, 1.2 KiB, 45.6 MiB: one decimal, binary units (what `ls -lh` and `du -h` print). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  // Compare the rounded value, so 1048575 bytes reads "1.0 MiB" and not "1024.0 KiB".
  while (Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "1 library", "3 libraries", "2 files". */
export function countOf(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun : pluralOf(noun)}`;
}

/** English plural of the nouns these reports use ("library" → "libraries", "EFI entry" → …). */
export function pluralOf(noun: string): string {
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  return `${noun}s`;
}
