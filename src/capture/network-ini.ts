/**
 * The INI dialect of systemd unit files (systemd.syntax(7)) and NetworkManager keyfiles (GLib
 * key files): `[Section]` headers, `Key=Value` lines, `#`/`;` comment lines. Sections and keys
 * repeat (networkd has one [Address] section per address), so the result is a list of sections,
 * each a list of entries, in file order.
 */

export interface IniSection {
  name: string;
  entries: { key: string; value: string }[];
}

/** Thrown for a line that is neither a section, an assignment nor a comment. */
export class IniSyntaxError extends Error {}

export function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    let line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // systemd joins a line ending in a backslash with the next one.
    while (line.endsWith('\\') && index + 1 < lines.length) {
      index++;
      line = `${line.slice(0, -1)} ${(lines[index] ?? '').trim()}`;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      current = { name: header[1].trim(), entries: [] };
      sections.push(current);
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0 || current === undefined) {
      throw new IniSyntaxError(
        `line ${index + 1}: not a [section] or key=value: ${line.slice(0, 60)}`,
      );
    }
    current.entries.push({
      key: line.slice(0, equals).trim(),
      value: line.slice(equals + 1).trim(),
    });
  }
  return sections;
}

/**
 * The values of `key` in a section, as systemd reads lists: each assignment adds, and an empty
 * assignment (`Address=`) drops what came before.
 */
export function iniValues(section: IniSection, key: string): string[] {
  let values: string[] = [];
  for (const entry of section.entries) {
    if (entry.key !== key) continue;
    values = entry.value === '' ? [] : [...values, entry.value];
  }
  return values;
}

/** The last value of `key` in a section (later assignments override), or undefined. */
export function iniValue(section: IniSection, key: string): string | undefined {
  return iniValues(section, key).at(-1);
}

/** The sections called `name`, in file order. */
export function iniSections(sections: readonly IniSection[], name: string): IniSection[] {
  return sections.filter((section) => section.name === name);
}
