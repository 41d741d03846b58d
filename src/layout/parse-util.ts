/**
 * Small helpers the tool-output parsers share. Every parser takes the text a standard tool
 * printed and returns plain data; a text that is not what the tool prints is an Error naming the
 * tool, so a changed tool version fails loudly instead of giving a wrong layout.
 */
export class ToolOutputError extends Error {
  constructor(tool: string, what: string) {
    super(`${tool}: ${what}`);
    this.name = 'ToolOutputError';
  }
}

export function parseJson(tool: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ToolOutputError(tool, `not JSON (${(error as Error).message})`);
  }
}

/** `KEY: value` (or `KEY = value`) lines, keys as written, first occurrence wins. */
export function keyValueLines(text: string, separator: RegExp = /:\s*/): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = separator.exec(line);
    if (!match || match.index === 0) continue;
    const key = line.slice(0, match.index).trim();
    const value = line.slice(match.index + match[0].length).trim();
    if (key !== '' && !values.has(key)) values.set(key, value);
  }
  return values;
}

/** `KEY=value` lines (blkid -o export, mdadm --export). */
export function exportLines(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}

/** A number from a tool's text (LVM's JSON reports give strings); undefined when it is none. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** A non-empty string, or undefined. */
export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The object without its undefined properties (canonical JSON has no place for them). */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
