import { describe, expect, it } from 'vitest';
import { jsonSyntaxError } from './json-syntax.js';

describe('where a text stops being JSON', () => {
  it('is nothing for JSON', () => {
    expect(jsonSyntaxError('{\n  "a": [1, 2]\n}\n')).toBeUndefined();
  });

  it('turns the position JSON.parse gives into a line and column', () => {
    expect(jsonSyntaxError('{\n  "a": 1\n  "b": 2\n}\n')).toEqual({
      line: 3,
      column: 3,
      reason: "expected ',' or '}' after property value",
    });
  });

  it('finds the unexpected character JSON.parse quotes the whole text for', () => {
    const text = '{\n  "a": [1,]\n}\n';
    expect(() => JSON.parse(text)).toThrow(/is not valid JSON/);
    expect(jsonSyntaxError(text)).toEqual({ line: 2, column: 11, reason: "unexpected ']'" });
  });

  it('says a text ends early at its end', () => {
    expect(jsonSyntaxError('{\n  "a": [1,')).toEqual({
      line: 2,
      column: 11,
      reason: 'it ends early',
    });
    expect(jsonSyntaxError('  \n')?.reason).toBe('the file is empty');
  });

  it('quotes nothing of the text, so the reason stays on one line', () => {
    const reason = jsonSyntaxError('not json\nat all\n')?.reason ?? '';
    expect(reason).toBe("unexpected 'o'");
  });
});
