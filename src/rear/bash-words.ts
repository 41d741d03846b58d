/**
 * The words of a ReaR configuration file (bash), read without running anything: quoting ('...',
 * "...", backslashes), `$NAME`, `${NAME}` and `${NAME[@]}` references, comments, and the few
 * operators that end or join statements. Whatever bash would compute or run here (command
 * substitution, arithmetic, parameter operations, redirections, a ~ home directory) becomes a
 * `bad` token that says what it is: the statement holding it is not imported.
 */

export interface WordPart {
  /** Literal text. */
  text?: string;
  /** `$NAME` or `${NAME}`: the variable's value (an array's is its elements joined by spaces). */
  variable?: string;
  /** `${NAME[@]}` or `${NAME[*]}`: an array's elements, each its own word. */
  splice?: string;
  /** Inside quotes: not an assignment's name, and not split. */
  quoted: boolean;
}

export type Token =
  | { kind: 'word'; parts: WordPart[]; line: number }
  /** `(` or `)` (arrays), `;` `&&` `||` `|` `&` (statements joined), a newline. */
  | { kind: 'op'; op: string; line: number; adjacent: boolean }
  | { kind: 'bad'; reason: string; line: number };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function bashTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let parts: WordPart[] | undefined;
  let wordLine = 1;
  const part = (p: WordPart) => {
    if (parts === undefined) {
      parts = [];
      wordLine = line;
    }
    const last = parts[parts.length - 1];
    if (p.text !== undefined && last?.text !== undefined && last.quoted === p.quoted)
      last.text += p.text;
    else parts.push(p);
  };
  const endWord = () => {
    if (parts !== undefined) tokens.push({ kind: 'word', parts, line: wordLine });
    parts = undefined;
  };
  const bad = (reason: string) => tokens.push({ kind: 'bad', reason, line });

  /** A `$` at text[i]: a reference, or something import does not evaluate. Returns the new i. */
  const dollar = (quoted: boolean): number => {
    const rest = text.slice(i + 1);
    if (rest.startsWith('((')) {
      bad('arithmetic $((...))');
      return i + 3;
    }
    if (rest.startsWith('(')) {
      bad('command substitution $(...)');
      return i + 2;
    }
    if (rest.startsWith('{')) {
      const close = rest.indexOf('}');
      const inner = close < 0 ? rest.slice(1) : rest.slice(1, close);
      const array = /^([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]$/.exec(inner);
      if (array) part({ splice: array[1] as string, quoted });
      else if (NAME.test(inner) && NAME.exec(inner)?.[0] === inner)
        part({ variable: inner, quoted });
      else bad(`the parameter operation \${${inner}}`);
      return close < 0 ? text.length : i + close + 2;
    }
    const name = NAME.exec(rest)?.[0];
    if (name !== undefined) {
      part({ variable: name, quoted });
      return i + 1 + name.length;
    }
    if (/^[0-9#?$!@*-]/.test(rest)) {
      bad(`the special parameter $${rest[0]}`);
      return i + 2;
    }
    part({ text: '$', quoted });
    return i + 1;
  };

  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      endWord();
      tokens.push({ kind: 'op', op: '\n', line, adjacent: false });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
    } else if (c === '#' && parts === undefined) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\\') {
      if (text[i + 1] === '\n') {
        line++;
      } else if (i + 1 < text.length) part({ text: text[i + 1] as string, quoted: false });
      i += 2;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      const body = close < 0 ? text.slice(i + 1) : text.slice(i + 1, close);
      part({ text: body, quoted: true });
      line += body.split('\n').length - 1;
      i = close < 0 ? text.length : close + 1;
    } else if (c === '"') {
      i++;
      if (parts === undefined) part({ text: '', quoted: true });
      while (i < text.length && text[i] !== '"') {
        const d = text[i] as string;
        if (d === '\\' && '"\\$`\n'.includes(text[i + 1] ?? '')) {
          if (text[i + 1] === '\n') line++;
          else part({ text: text[i + 1] as string, quoted: true });
          i += 2;
        } else if (d === '$') i = dollar(true);
        else if (d === '`') {
          bad('command substitution `...`');
          i++;
        } else {
          if (d === '\n') line++;
          part({ text: d, quoted: true });
          i++;
        }
      }
      i++;
    } else if (c === '$') {
      i = dollar(false);
    } else if (c === '`') {
      bad('command substitution `...`');
      i++;
    } else if (c === '~' && parts === undefined) {
      bad('a ~ home directory');
      i++;
    } else if ('<>'.includes(c)) {
      bad('a redirection');
      i++;
    } else if ('();|&'.includes(c)) {
      const adjacent = parts !== undefined;
      endWord();
      const two = text.slice(i, i + 2);
      const op = two === '&&' || two === '||' || two === ';;' ? two : c;
      tokens.push({ kind: 'op', op, line, adjacent });
      i += op.length;
    } else {
      part({ text: c, quoted: false });
      i++;
    }
  }
  endWord();
  return tokens;
}
