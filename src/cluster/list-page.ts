// Splits a list response into its items' JSON texts without parsing them. Parsing a whole page of
// fat pods builds one large object tree that outlives young-generation GCs and gets promoted, so
// the heap swells to several times the trimmed index during a sync. Parsing and trimming one
// item at a time leaves garbage that dies young.

/** A list response: its metadata parsed, its items still JSON text. */
export interface ListPage {
  metadata: Record<string, unknown>;
  items: string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

class PageSyntaxError extends Error {
  constructor(problem: string, at: number) {
    super(`invalid list JSON at offset ${at}: ${problem}`);
  }
}

function skipWhitespace(text: string, at: number): number {
  let index = at;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
    index++;
  }
  return index;
}

/** Index just past the string whose opening quote is at `at`. */
function skipString(text: string, at: number): number {
  let index = at + 1;
  for (;;) {
    const quote = text.indexOf('"', index);
    if (quote < 0) throw new PageSyntaxError('unterminated string', at);
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    index = quote + 1;
  }
}

/** Index just past the JSON value starting at `at` (no leading whitespace). */
function skipValue(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return skipString(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let index = at;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || code <= 0x20) break;
      index++;
    }
    if (index === at) throw new PageSyntaxError('expected a value', at);
    return index;
  }
  let depth = 0;
  let index = at;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      index = skipString(text, index);
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return index + 1;
    }
    index++;
  }
  throw new PageSyntaxError('unterminated object or array', at);
}

function expect(text: string, at: number, code: number, what: string): number {
  if (text.charCodeAt(at) !== code) throw new PageSyntaxError(`expected ${what}`, at);
  return at + 1;
}

function splitArray(text: string, at: number): { items: string[]; end: number } {
  const items: string[] = [];
  let index = skipWhitespace(text, expect(text, at, OPEN_BRACKET, '['));
  if (text.charCodeAt(index) === CLOSE_BRACKET) return { items, end: index + 1 };
  for (;;) {
    const end = skipValue(text, index);
    items.push(text.slice(index, end));
    index = skipWhitespace(text, end);
    if (text.charCodeAt(index) === CLOSE_BRACKET) return { items, end: index + 1 };
    index = skipWhitespace(text, expect(text, index, COMMA, ', or ]'));
  }
}

/** Reads a list response's top-level object: every member parsed except `items`, which is split. */
export function splitListPage(text: string): ListPage {
  const page: ListPage = { metadata: {}, items: [] };
  let index = skipWhitespace(text, expect(text, skipWhitespace(text, 0), OPEN_BRACE, '{'));
  if (text.charCodeAt(index) === CLOSE_BRACE) return page;
  for (;;) {
    const keyEnd = skipString(text, expect(text, index, QUOTE, 'a member name') - 1);
    const key = JSON.parse(text.slice(index, keyEnd)) as string;
    index = skipWhitespace(text, expect(text, skipWhitespace(text, keyEnd), COLON, ':'));
    if (key === 'items' && text.charCodeAt(index) === OPEN_BRACKET) {
      const { items, end } = splitArray(text, index);
      page.items = items;
      index = end;
    } else {
      const end = skipValue(text, index);
      if (key === 'metadata') page.metadata = JSON.parse(text.slice(index, end)) as Record<string, unknown>;
      index = end;
    }
    index = skipWhitespace(text, index);
    if (text.charCodeAt(index) === CLOSE_BRACE) return page;
    index = skipWhitespace(text, expect(text, index, COMMA, ', or }'));
  }
}
