/**
 * Canonical JSON: one value, one text. Object keys sorted by the bytes of their UTF-8 encoding
 * at every level, 2-space indent, a trailing newline, `undefined` properties dropped; arrays
 * stay in the order given (their callers sort them, since only they know the right key).
 *
 * JSON.stringify is not enough: it writes keys in insertion order, and puts integer-like keys
 * ("10", "2") first in numeric order whatever is done to the object, so two captures of an
 * unchanged host could differ. Values JSON cannot carry faithfully (NaN, Infinity, bigint,
 * functions, Maps, Dates, cycles, `undefined` inside an array) are refused instead of being
 * silently turned into null or {}: they are a bug in the caller.
 */

/** Orders strings by their UTF-8 bytes (JavaScript's `<` orders UTF-16 code units, which differs above U+FFFF). */
export function compareByteOrder(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const INDENT = '  ';

export function canonicalJson(value: unknown): string {
  return `${serialize(value, '', new Set(), '$')}\n`;
}

function serialize(value: unknown, indent: string, ancestors: Set<object>, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${where} is ${value}`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${where} is a ${typeof value}`);
  }
  if (ancestors.has(value)) throw new TypeError(`canonicalJson: ${where} is a cycle`);
  const inner = indent + INDENT;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      const items = value.map((item, index) => {
        if (item === undefined)
          throw new TypeError(`canonicalJson: ${where}[${index}] is undefined`);
        return inner + serialize(item, inner, ancestors, `${where}[${index}]`);
      });
      return `[\n${items.join(',\n')}\n${indent}]`;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(`canonicalJson: ${where} is not a plain object`);
    }
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => compareByteOrder(a, b));
    if (entries.length === 0) return '{}';
    const members = entries.map(
      ([key, item]) =>
        `${inner}${JSON.stringify(key)}: ${serialize(item, inner, ancestors, `${where}.${key}`)}`,
    );
    return `{\n${members.join(',\n')}\n${indent}}`;
  } finally {
    ancestors.delete(value);
  }
}
