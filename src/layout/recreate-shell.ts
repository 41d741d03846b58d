/**
 * What makes a value from the layout safe to put into a generated script. The layout comes from
 * a host that may be compromised or simply odd (a label with a quote, a name with a newline), so
 * every value goes through `shellQuote`, and device paths and LVM names are checked before any
 * script is written at all.
 */
import { UsageError } from '../errors.js';

/**
 * The layout cannot be turned into a script: a bad device path, a missing dependency, a cycle,
 * an unsupported component. Nothing was run; the hint says how to get past it.
 */
export class RecreateError extends UsageError {}

/** Code points that end a line or hide text on a terminal: never allowed in a path or name. */
function hasControlCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) return true;
  }
  return false;
}

/**
 * The one quoting rule of every generated script: single quotes, and '\'' for a single quote in
 * the value. Inside single quotes bash expands nothing, so `$(...)`, backticks and globs stay
 * text. A NUL cannot be part of a bash word at all, so it is refused.
 */
export function shellQuote(value: string | number): string {
  const text = String(value);
  if (text.includes('\0')) throw new RecreateError(`Cannot quote a value with a NUL byte for bash`);
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Layout text shown in a comment: a newline there would end the comment and start a command. */
export function commentText(text: string): string {
  return [...text].map((char) => (hasControlCharacter(char) ? '?' : char)).join('');
}

/**
 * A device path the script may open: /dev/..., no whitespace, no control characters, no `.` or
 * `..` segment (which would leave /dev), no empty segment. Returns the path; throws naming
 * `owner` (the component) otherwise.
 */
export function checkDevicePath(device: unknown, owner: string): string {
  const problem = devicePathProblem(device);
  if (problem !== undefined) {
    throw new RecreateError(
      `${commentText(owner)}: device path ${JSON.stringify(device)} ${problem}`,
      { hint: 'Fix the layout (or exclude the component) before recreating it.' },
    );
  }
  return device as string;
}

function devicePathProblem(device: unknown): string | undefined {
  if (typeof device !== 'string') return 'is not a string';
  if (!device.startsWith('/dev/') || device.length === '/dev/'.length)
    return 'does not start with /dev/';
  if (/\s/u.test(device) || hasControlCharacter(device))
    return 'contains whitespace or control characters';
  const segments = device.slice('/dev/'.length).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..'))
    return 'has an empty, "." or ".." segment';
  return undefined;
}

/**
 * A VG or LV name as LVM allows it (letters, digits, + _ . -, not starting with -). Checked
 * because it becomes part of /dev/VG/LV and of the VG/LV argument the LVM tools parse.
 */
export function checkLvmName(name: unknown, owner: string): string {
  if (
    typeof name !== 'string' ||
    !/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    throw new RecreateError(
      `${commentText(owner)}: LVM name ${JSON.stringify(name)} is not valid`,
      {
        hint: 'LVM names are letters, digits and + _ . - (not starting with -).',
      },
    );
  }
  return name;
}

/** A name that becomes one path segment (a device-mapper name under /dev/mapper). */
export function checkPathSegment(name: unknown, owner: string): string {
  if (
    typeof name !== 'string' ||
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    /\s/u.test(name) ||
    hasControlCharacter(name)
  ) {
    throw new RecreateError(`${commentText(owner)}: name ${JSON.stringify(name)} is not valid`, {
      hint: 'It must be one path segment without whitespace or control characters.',
    });
  }
  return name;
}

/**
 * A relative path inside a file system (a btrfs subvolume, a mount point below TARGET): no
 * leading or trailing slash, no empty, `.` or `..` segment, so it cannot point outside.
 */
export function checkRelativePath(path: unknown, owner: string): string {
  if (
    typeof path !== 'string' ||
    path === '' ||
    hasControlCharacter(path) ||
    path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
  ) {
    throw new RecreateError(`${commentText(owner)}: path ${JSON.stringify(path)} is not valid`, {
      hint: 'It must be relative, without empty, "." or ".." segments or control characters.',
    });
  }
  return path;
}

/** Sizes and counts from the layout: whole, positive, exact in a double. */
export function checkPositiveInteger(value: unknown, what: string, owner: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RecreateError(`${commentText(owner)}: ${what} ${JSON.stringify(value)} is not valid`);
  }
  return value;
}
