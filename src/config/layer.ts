import { z } from 'zod';
import { UsageError } from '../errors.js';
import { describeValue, explainIssue, suggest } from './explain.js';
import { rearName } from './rear-names.js';
import { configSchema, isSecretSchema } from './schema.js';

/**
 * A layer (one file, one profile, one --set flag) becomes a list of operations on key paths,
 * validated against the schema on the way. Keys may end in `+` (append to a list) or `-`
 * (remove from a list): the way ReaR users write PROGS+=(curl).
 */

export type LayerKind =
  | 'default'
  | 'os profile'
  | 'site'
  | 'local'
  | 'config'
  | 'recipe'
  | 'flag'
  | 'step';

/** Where a value came from, for `lifeboat dump` and for error messages. */
export interface Origin {
  layer: LayerKind;
  /** The file, profile name or flag. */
  source: string;
  line?: number;
  column?: number;
}

export type OperationKind = 'set' | 'append' | 'remove';

export interface Operation {
  /** Key path without the +/- suffix, e.g. ['rescue', 'programs']. */
  path: string[];
  kind: OperationKind;
  value: unknown;
  origin: Origin;
}

/** Finds the line and column of a key path inside the source text, when the format has them. */
export type Locate = (
  rawPath: (string | number)[],
  part: 'key' | 'value',
) => { line: number; column: number } | undefined;

export interface Problem {
  where: string;
  key: string;
  message: string;
}

/** A configuration error: every problem found in a layer, each with file:line:column and key. */
export class ConfigError extends UsageError {
  readonly problems: Problem[];
  constructor(problems: Problem[], hint?: string) {
    super(
      problems.map((p) => `${p.where}: ${p.key ? `${p.key}: ` : ''}${p.message}`).join('\n'),
      hint === undefined ? {} : { hint },
    );
    this.problems = problems;
  }
}

/** A key's schema without optional, default and nullable around it. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const SUFFIX_KIND: Record<string, OperationKind> = { '+': 'append', '-': 'remove' };

function splitKey(rawKey: string): { key: string; kind: OperationKind } {
  const last = rawKey.at(-1) ?? '';
  const kind = SUFFIX_KIND[last];
  return kind && rawKey.length > 1
    ? { key: rawKey.slice(0, -1), kind }
    : { key: rawKey, kind: 'set' };
}

/** The schema of the value at a key path (without suffixes), or undefined if there is no such key. */
export function schemaAt(path: readonly string[]): z.ZodType | undefined {
  let current: z.ZodType = configSchema;
  for (const key of path) {
    const node = unwrap(current);
    if (!(node instanceof z.ZodObject)) return undefined;
    const next = ownValue(node.shape as Record<string, z.ZodType>, key);
    if (!next) return undefined;
    current = next;
  }
  return current;
}

/** Every key path (dotted) whose schema is a secret: redacted in dumps, registered with the log. */
export function secretPaths(schema: z.ZodType = configSchema, prefix: string[] = []): string[] {
  if (isSecretSchema(schema)) return [prefix.join('.')];
  const node = unwrap(schema);
  if (isSecretSchema(node)) return [prefix.join('.')];
  if (!(node instanceof z.ZodObject)) return [];
  return Object.entries(node.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
    secretPaths(child, [...prefix, key]),
  );
}

export function layerOperations(layer: unknown, origin: Origin, locate?: Locate): Operation[] {
  const operations: Operation[] = [];
  const problems: Problem[] = [];
  const where = (rawPath: (string | number)[], part: 'key' | 'value'): Origin => {
    const position = locate?.(rawPath, part);
    return position ? { ...origin, ...position } : origin;
  };
  const place = (o: Origin) =>
    o.line === undefined ? o.source : `${o.source}:${o.line}:${o.column}`;

  const walk = (
    value: unknown,
    schema: z.ZodType,
    path: string[],
    rawPath: (string | number)[],
  ) => {
    const node = unwrap(schema);
    if (!isPlainObject(value)) {
      problems.push({
        where: place(where(rawPath, 'value')),
        key: path.join('.'),
        message: `expected a mapping of keys, got ${describeValue(value)}`,
      });
      return;
    }
    const shape = (node as z.ZodObject).shape as Record<string, z.ZodType>;
    for (const [rawKey, child] of Object.entries(value)) {
      const { key, kind } = splitKey(rawKey);
      const childPath = [...path, key];
      const childRawPath = [...rawPath, rawKey];
      const dotted = childPath.join('.');
      const childSchema = ownValue(shape, key);
      if (!childSchema) {
        problems.push({
          where: place(where(childRawPath, 'key')),
          key: dotted,
          message: unknownKeyMessage(key, path, Object.keys(shape)),
        });
        continue;
      }
      const childNode = unwrap(childSchema);
      if (kind === 'set' && childNode instanceof z.ZodObject) {
        walk(child, childSchema, childPath, childRawPath);
        continue;
      }
      if (kind !== 'set' && !(childNode instanceof z.ZodArray)) {
        problems.push({
          where: place(where(childRawPath, 'key')),
          key: dotted,
          message: `"${rawKey}": a trailing ${rawKey.at(-1)} ${kind === 'append' ? 'appends to' : 'removes from'} a list, but ${dotted} is not a list`,
        });
        continue;
      }
      // `key+: curl` is as good as `key+: [curl]`.
      const normalized = kind !== 'set' && !Array.isArray(child) ? [child] : child;
      const result = childSchema.safeParse(normalized);
      if (!result.success) {
        const secret = isSecretSchema(childSchema) || isSecretSchema(childNode);
        for (const issue of result.error.issues) {
          const issuePath = kind !== 'set' && !Array.isArray(child) ? [] : issue.path;
          problems.push({
            where: place(where([...childRawPath, ...(issuePath as (string | number)[])], 'value')),
            key: dotted + issuePath.map((p) => `[${String(p)}]`).join(''),
            message: explainIssue(issue, normalized, secret),
          });
        }
        continue;
      }
      operations.push({
        path: childPath,
        kind,
        value: result.data,
        origin: where(childRawPath, 'key'),
      });
    }
  };

  walk(layer ?? {}, configSchema, [], []);
  if (problems.length > 0) {
    throw new ConfigError(
      problems,
      'Fix the key or value named above; `lifeboat dump` shows every key and its value.',
    );
  }
  return operations;
}

/**
 * `record[key]` only when the key is the record's own: a key named like an Object built-in
 * (`constructor`, `__proto__`, `toString`) is an unknown key like any other, never the built-in.
 */
function ownValue<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function unknownKeyMessage(key: string, parent: string[], known: string[]): string {
  const rear = parent.length === 0 ? rearName(key.replace(/\+$/, '')) : undefined;
  if (rear) return `unknown key; ${key} is ReaR's name, lifeboat's is ${rear.key}`;
  const close = suggest(key, known);
  const scope = parent.length === 0 ? 'top-level keys' : `keys of ${parent.join('.')}`;
  return close
    ? `unknown key (did you mean "${close}"?)`
    : `unknown key; the ${scope} are: ${known.join(', ')}`;
}
