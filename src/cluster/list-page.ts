// Splits a list response into its items' JSON texts without parsing them. Parsing a whole page of
// fat pods builds one large object tree that outlives young-generation GCs and gets promoted, so
// the heap swells to several times the trimmed index during a sync. Parsing and trimming one
// item at a time leaves garbage that dies young.
//
// The page is read as it arrives, chunk by chunk, and each item is handed on as soon as it is
// whole. A page of 500 pods is 1-2 MB: kept as one string (grown with +=, a rope) it was scanned
// at a third of the speed of a flat string, and flattening it put a 1-2 MB string into V8's
// large-object space for every page, which drove a full garbage collection of the growing index
// every 10 pages during a sync. Here only the unfinished tail of a chunk (less than an item) is
// carried into the next one.

/** A list response's members other than `items`, parsed when they are `metadata`. */
export interface ListPage {
  metadata: Record<string, unknown>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
/** skipString and skipValue: the text ended before the value did. */
const INCOMPLETE = -1;

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

/** Index just past the string whose opening quote is at `at`, or INCOMPLETE. */
function skipString(text: string, at: number): number {
  let index = at + 1;
  for (;;) {
    const quote = text.indexOf('"', index);
    if (quote < 0) return INCOMPLETE;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    index = quote + 1;
  }
}

/** Index just past the JSON value starting at `at` (no leading whitespace), or INCOMPLETE. */
function skipValue(text: string, at: number, offset: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return skipString(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let index = at;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || code <= 0x20) break;
      index++;
    }
    if (index === text.length) return INCOMPLETE; // a number may go on in the next chunk
    if (index === at) throw new PageSyntaxError('expected a value', offset + at);
    return index;
  }
  let depth = 0;
  let index = at;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      index = skipString(text, index);
      if (index === INCOMPLETE) return INCOMPLETE;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return index + 1;
    }
    index++;
  }
  return INCOMPLETE;
}

/** Where the reader is in `{"metadata": {...}, "items": [ item, item ], ...}`. */
type Phase = 'open' | 'first-member' | 'member' | 'colon' | 'value' | 'first-item' | 'item' | 'after-item' | 'after-member' | 'done';

/**
 * Reads a list response's top-level object as it arrives: every member parsed except `items`,
 * whose elements go to `onItem` one by one, as JSON text, in order.
 */
export class ListPageReader {
  private text = '';
  /** Characters consumed before `text`, for the offsets in errors. */
  private offset = 0;
  private phase: Phase = 'open';
  private member = '';
  private readonly page: ListPage = { metadata: {} };

  constructor(private readonly onItem: (item: string) => void) {}

  push(chunk: string): void {
    this.text = this.text === '' ? chunk : this.text + chunk;
    const consumed = this.scan();
    this.offset += consumed;
    this.text = consumed === this.text.length ? '' : this.text.slice(consumed);
  }

  /** The page, once the whole response has been pushed; throws if it is not one whole list. */
  end(): ListPage {
    const rest = skipWhitespace(this.text, 0);
    if (this.phase !== 'done') throw new PageSyntaxError(`the response ended inside the list (${this.phase})`, this.offset + rest);
    if (rest < this.text.length) throw new PageSyntaxError('text after the list', this.offset + rest);
    return this.page;
  }

  private fail(problem: string, at: number): never {
    throw new PageSyntaxError(problem, this.offset + at);
  }

  /** Consumes what `text` holds whole; answers how far it got. */
  private scan(): number {
    const text = this.text;
    let at = 0;
    for (;;) {
      at = skipWhitespace(text, at);
      if (at === text.length) return at;
      const code = text.charCodeAt(at);
      switch (this.phase) {
        case 'open':
          if (code !== OPEN_BRACE) this.fail('expected {', at);
          at++;
          this.phase = 'first-member';
          break;
        case 'first-member':
        case 'member': {
          if (this.phase === 'first-member' && code === CLOSE_BRACE) {
            at++;
            this.phase = 'done';
            break;
          }
          if (code !== QUOTE) this.fail('expected a member name', at);
          const end = skipString(text, at);
          if (end === INCOMPLETE) return at;
          this.member = JSON.parse(text.slice(at, end)) as string;
          at = end;
          this.phase = 'colon';
          break;
        }
        case 'colon':
          if (code !== COLON) this.fail('expected :', at);
          at++;
          this.phase = 'value';
          break;
        case 'value': {
          if (this.member === 'items' && code === OPEN_BRACKET) {
            at++;
            this.phase = 'first-item';
            break;
          }
          const end = skipValue(text, at, this.offset);
          if (end === INCOMPLETE) return at;
          if (this.member === 'metadata') this.page.metadata = JSON.parse(text.slice(at, end)) as Record<string, unknown>;
          at = end;
          this.phase = 'after-member';
          break;
        }
        case 'first-item':
        case 'item': {
          if (this.phase === 'first-item' && code === CLOSE_BRACKET) {
            at++;
            this.phase = 'after-member';
            break;
          }
          const end = skipValue(text, at, this.offset);
          if (end === INCOMPLETE) return at;
          this.onItem(text.slice(at, end));
          at = end;
          this.phase = 'after-item';
          break;
        }
        case 'after-item':
          if (code === COMMA) this.phase = 'item';
          else if (code === CLOSE_BRACKET) this.phase = 'after-member';
          else this.fail('expected , or ]', at);
          at++;
          break;
        case 'after-member':
          if (code === COMMA) this.phase = 'member';
          else if (code === CLOSE_BRACE) this.phase = 'done';
          else this.fail('expected , or }', at);
          at++;
          break;
        case 'done':
          return at; // end() reports what follows the list
      }
    }
  }
}
