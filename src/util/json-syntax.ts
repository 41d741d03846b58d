/**
 * Where and why a text is not JSON, as a line, a column and a short reason. JSON.parse says
 * "at position N" for most errors, but for an unexpected character it quotes the whole text
 * instead (newlines and all), which is no place to send a user to.
 */
export interface JsonSyntaxError {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like an editor's column. */
  column: number;
  /** Lower case, one line, no position and no quote of the text. */
  reason: string;
}

/** Undefined when `text` is JSON. */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const message = parseMessage(text);
  if (message === undefined) return undefined;
  const at = /^(.*?) (?:in JSON )?at position (\d+)/.exec(message);
  if (at?.[1] !== undefined && at[2] !== undefined)
    return located(text, Number(at[2]), lowerFirst(at[1]));
  if (message.startsWith('Unexpected end of JSON input'))
    return located(text, text.length, text.trim() === '' ? 'the file is empty' : 'it ends early');
  const index = firstBadIndex(text);
  const char = text[index] ?? '';
  const shown = /^[\x21-\x7e]$/.test(char) ? `'${char}'` : JSON.stringify(char);
  return located(
    text,
    index,
    message.startsWith('Unexpected token') ? `unexpected ${shown}` : lowerFirst(firstLine(message)),
  );
}

function parseMessage(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Could `prefix` still become JSON: it parses, or its only fault is that it stops. A text that
 * fails somewhere fails the same way with anything added, so the first bad character is where
 * the prefixes stop being viable.
 */
function viable(prefix: string): boolean {
  const message = parseMessage(prefix);
  if (message === undefined || message.startsWith('Unexpected end of JSON input')) return true;
  const at = / at position (\d+)/.exec(message);
  return at?.[1] !== undefined && Number(at[1]) >= prefix.length;
}

function firstBadIndex(text: string): number {
  let good = 0;
  let bad = text.length;
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (viable(text.slice(0, middle))) good = middle;
    else bad = middle;
  }
  return bad - 1;
}

function located(text: string, index: number, reason: string): JsonSyntaxError {
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: index - lineStart + 1, reason };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
