import type { z } from 'zod';

/**
 * Sentences for what is wrong with a value, and "did you mean" suggestions. Kept apart from the
 * walker so the wording of every configuration error lives in one place.
 */

export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(shown);
  }
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const EXPECTED_TYPE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** One zod issue as "expected X, got Y". `secret` values are never echoed. */
export function explainIssue(issue: z.core.$ZodIssue, value: unknown, secret: boolean): string {
  const actual = valueAt(value, issue.path);
  const got = secret ? 'a value that is not' : `got ${describeValue(actual)}`;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED_TYPE[issue.expected] ?? issue.expected}, ${got}`;
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const suggestion =
        typeof actual === 'string' ? suggest(actual, issue.values.map(String)) : undefined;
      return `expected one of ${options}, ${got}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s), ${got}`;
      if (issue.origin === 'string') return `expected a non-empty string, ${got}`;
      return `expected a number ${issue.inclusive ? '≥' : '>'} ${issue.minimum}, ${got}`;
    case 'too_big':
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters, ${got}`;
      if (issue.origin === 'array') return `expected at most ${issue.maximum} item(s), ${got}`;
      return `expected a number ${issue.inclusive ? '≤' : '<'} ${issue.maximum}, ${got}`;
    case 'invalid_format':
      return issue.format === 'regex'
        ? `expected ${issue.message}, ${got}`
        : `expected a valid ${issue.format}, ${got}`;
    default:
      return `${issue.message}, ${got}`;
  }
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest candidate when it is close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}
