import { bashTokens, type Token, type WordPart } from './bash-words.js';

/**
 * ReaR's configuration files (os.conf, site.conf, local.conf) are bash that ReaR sources. lifeboat
 * reads them without running them: plain and array assignments, `+=`, quoting, references to
 * variables set earlier (in these files, in ReaR's order), `export`, comments. Every other
 * statement (a conditional, a loop, a function, a command, command substitution...) and every
 * assignment inside one is left out, by file and line, with the reason.
 */
export type RearValue = string | string[];

export interface RearAssignment {
  name: string;
  value: RearValue;
  /** Whether the first assignment in these files appended (`+=`) to ReaR's default. */
  appends: boolean;
  file: string;
  line: number;
}

export interface NotImported {
  file: string;
  line: number;
  reason: string;
}

export interface RearConfig {
  /** The variables as the files leave them, in the order first set. */
  variables: Map<string, RearAssignment>;
  notImported: NotImported[];
}

const BLOCK_OPENERS = new Set(['if', 'case', 'for', 'while', 'until', 'select', '{', 'function']);
const BLOCK_CLOSERS = new Set(['fi', 'esac', 'done', '}']);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)(\+?=)([\s\S]*)$/;

export function readRearConfig(files: readonly { file: string; text: string }[]): RearConfig {
  const variables = new Map<string, RearAssignment>();
  const notImported: NotImported[] = [];
  for (const { file, text } of files) {
    const blocks: { opener: string; line: number }[] = [];
    for (const statement of statements(bashTokens(text))) {
      const line = statement[0]?.line ?? 0;
      const first = literal(statement[0]);
      const skip = (reason: string) => notImported.push({ file, line, reason });
      if (first !== undefined && BLOCK_CLOSERS.has(first)) {
        blocks.pop();
        continue;
      }
      const inside = blocks[blocks.length - 1];
      if (first !== undefined && BLOCK_OPENERS.has(first)) {
        blocks.push({ opener: first, line });
        skip(inside ? `inside the ${inside.opener} on line ${inside.line}` : describe(first));
        continue;
      }
      if (isFunction(statement)) {
        blocks.push({ opener: 'function', line });
        skip('a function definition');
        continue;
      }
      if (inside) {
        skip(`inside the ${inside.opener} on line ${inside.line}`);
        continue;
      }
      const result = assignment(statement, variables);
      if ('reason' in result) {
        skip(result.reason);
        continue;
      }
      const { name, op, value } = result;
      const before = variables.get(name);
      variables.set(name, {
        name,
        value: op === '+=' && before ? joined(before.value, value) : value,
        appends: before ? before.appends : op === '+=',
        file,
        line,
      });
    }
  }
  return { variables, notImported };
}

/** Statements: tokens up to a newline or `;`, an array's parentheses spanning lines. */
function statements(tokens: Token[]): Token[][] {
  const all: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'op' && token.op === '(') depth++;
    if (token.kind === 'op' && token.op === ')') depth = Math.max(0, depth - 1);
    const ends = token.kind === 'op' && (token.op === '\n' || token.op === ';') && depth === 0;
    if (ends) {
      if (current.length > 0) all.push(current);
      current = [];
    } else if (!(token.kind === 'op' && token.op === '\n')) current.push(token);
  }
  if (current.length > 0) all.push(current);
  return all;
}

function literal(token: Token | undefined): string | undefined {
  if (token?.kind !== 'word') return undefined;
  return token.parts.every((p) => p.text !== undefined && !p.quoted)
    ? token.parts.map((p) => p.text).join('')
    : undefined;
}

function describe(keyword: string): string {
  if (keyword === 'if' || keyword === 'case') return `a conditional (${keyword})`;
  if (keyword === '{' || keyword === 'function') return 'a function definition';
  return `a loop (${keyword})`;
}

/** `name() {` or `name ()`: a word, then `(` and `)`. */
function isFunction(statement: Token[]): boolean {
  const [, open, close] = statement;
  return (
    open?.kind === 'op' &&
    open.op === '(' &&
    close?.kind === 'op' &&
    close.op === ')' &&
    literal(statement[0]) !== undefined
  );
}

function assignment(
  statement: Token[],
  variables: ReadonlyMap<string, RearAssignment>,
): { name: string; op: string; value: RearValue } | { reason: string } {
  const bad = statement.find((t) => t.kind === 'bad');
  if (bad?.kind === 'bad') return { reason: bad.reason };
  const joiner = statement.find((t) => t.kind === 'op' && t.op !== '(' && t.op !== ')');
  if (joiner?.kind === 'op') return { reason: `commands joined by ${joiner.op}` };
  const tokens = literal(statement[0]) === 'export' ? statement.slice(1) : statement;
  const head = tokens[0];
  const firstPart = head?.kind === 'word' ? head.parts[0] : undefined;
  const match =
    firstPart?.text !== undefined && !firstPart.quoted ? ASSIGNMENT.exec(firstPart.text) : null;
  if (head?.kind !== 'word' || !match) {
    const command = head?.kind === 'word' ? (literal(head) ?? 'a command') : 'a command';
    return { reason: `a command (${command}), which import never runs` };
  }
  const [, name = '', op = '='] = match;
  const valueParts: WordPart[] = [
    ...(match[3] ? [{ text: match[3], quoted: false }] : []),
    ...head.parts.slice(1),
  ];
  // bash expands a ~ at the start of an assigned value to a home directory.
  if (valueParts[0]?.text?.startsWith('~') && !valueParts[0].quoted)
    return { reason: 'a ~ home directory' };
  const open = tokens[1];
  if (open?.kind === 'op' && open.op === '(' && open.adjacent && valueParts.length === 0) {
    const close = tokens.findIndex((t) => t.kind === 'op' && t.op === ')');
    if (close < 0) return { reason: 'an array without its closing )' };
    if (close !== tokens.length - 1) return { reason: 'more after the array' };
    const elements: string[] = [];
    for (const word of tokens.slice(2, close)) {
      if (word.kind !== 'word') return { reason: 'an array holding more than words' };
      const value = wordValue(word.parts, variables, true);
      if ('reason' in value) return value;
      elements.push(...value.words);
    }
    return { name, op, value: elements };
  }
  if (tokens.length > 1) {
    const command = literal(tokens[1]) ?? 'a command';
    return { reason: `a command (${command}) run with ${name} set, which import never runs` };
  }
  const value = wordValue(valueParts, variables, false);
  return 'reason' in value ? value : { name, op, value: value.words.join(' ') };
}

/** A word's value: one string, or (in an array, unquoted or spliced) several. */
function wordValue(
  parts: readonly WordPart[],
  variables: ReadonlyMap<string, RearAssignment>,
  split: boolean,
): { words: string[] } | { reason: string } {
  // "${NAME[@]}" alone (an opening quote leaves an empty text part before it).
  const solid = parts.filter((p) => p.text !== '');
  if (solid.length === 1 && solid[0]?.splice !== undefined) {
    const value = variables.get(solid[0].splice)?.value;
    if (value === undefined) return unknown(solid[0].splice);
    return { words: typeof value === 'string' ? [value] : [...value] };
  }
  let text = '';
  let unquotedExpansion = false;
  for (const part of parts) {
    if (part.text !== undefined) {
      text += part.text;
      continue;
    }
    const name = (part.variable ?? part.splice) as string;
    const value = variables.get(name)?.value;
    if (value === undefined) return unknown(name);
    text += typeof value === 'string' ? value : value.join(' ');
    if (!part.quoted) unquotedExpansion = true;
  }
  // bash splits what an unquoted reference expands to (in an array: into elements).
  if (split && unquotedExpansion) return { words: text.split(/\s+/).filter((w) => w !== '') };
  return { words: [text] };
}

function unknown(name: string) {
  return { reason: `refers to $${name}, which none of these files sets (ReaR sets it as it runs)` };
}

function joined(before: RearValue, more: RearValue): RearValue {
  if (typeof before === 'string' && typeof more === 'string') return before + more;
  return [
    ...(typeof before === 'string' ? [before] : before),
    ...(typeof more === 'string' ? [more] : more),
  ];
}
