import { describe, expect, it } from 'vitest';
import { canonicalJson, compareByteOrder } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every level, indents by 2 and ends with a newline', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, 2], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n',
    );
  });

  it('gives the same bytes for the same value, whatever order it was built in', () => {
    const one = { schema: 'x', files: [{ path: '/a', mode: '0644' }], warnings: [] };
    const two = { warnings: [], files: [{ mode: '0644', path: '/a' }], schema: 'x' };
    expect(canonicalJson(two)).toBe(canonicalJson(one));
    expect(canonicalJson(one)).toBe(canonicalJson(JSON.parse(canonicalJson(one))));
  });

  it('sorts integer-like keys as strings, which JSON.stringify does not', () => {
    const text = canonicalJson({ a: 0, '2': 0, '10': 0 });
    expect(text.indexOf('"10"')).toBeLessThan(text.indexOf('"2"'));
    expect(text.indexOf('"2"')).toBeLessThan(text.indexOf('"a"'));
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF61 is EF BD A1 in UTF-8, U+1F600 is F0 9F 98 80; in UTF-16 the emoji (D83D) comes first.
    expect(Object.keys(JSON.parse(canonicalJson({ '\u{1F600}': 1, '\uFF61': 2 })))).toEqual([
      '\uFF61',
      '\u{1F600}',
    ]);
    expect(['\u{1F600}', '\uFF61'].sort(compareByteOrder)).toEqual(['\uFF61', '\u{1F600}']);
  });

  it('drops undefined properties and writes empty containers compactly', () => {
    expect(canonicalJson({ a: undefined, b: [], c: {} })).toBe('{\n  "b": [],\n  "c": {}\n}\n');
    expect(canonicalJson('text')).toBe('"text"\n');
  });

  it('refuses what JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/\$\.n is NaN/);
    expect(() => canonicalJson({ m: new Map() })).toThrow(/not a plain object/);
    expect(() => canonicalJson([1, undefined])).toThrow(/\$\[1\] is undefined/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/bigint/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/cycle/);
  });

  it('allows the same object twice when it is not its own ancestor', () => {
    const shared = { a: 1 };
    expect(canonicalJson([shared, shared])).toBe(
      '[\n  {\n    "a": 1\n  },\n  {\n    "a": 1\n  }\n]\n',
    );
  });
});
