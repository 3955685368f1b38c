import { invalidFilter, limitExceeded, type ScimError } from '../errors.js';
import { DEFAULT_FILTER_LIMITS } from '../limits.js';
import { COMPARE_OPERATORS, type CompareOperator, type FilterLiteral, type FilterNode } from './ast.js';

export interface ParseFilterOptions {
  /** Longest accepted filter text; longer input is rejected before parsing. Default 8192 characters. */
  maxLength?: number;
  /** Deepest accepted nesting of parentheses / `not`. Default 32 (keeps recursion bounded). */
  maxDepth?: number;
  /** Most attribute expressions (terms) accepted; default `DEFAULT_FILTER_LIMITS.maxTerms`. */
  maxTerms?: number;
}

/**
 * Parses an RFC 7644 §3.4.2.2 filter (Figure 1 ABNF): `eq ne co sw ew gt ge lt le pr`, `and or not`, grouping,
 * value paths with an optional trailing sub-attribute, URN-prefixed paths, JSON string escapes, case-insensitive
 * operators and keywords. A hand-written recursive-descent parser: see docs/scim-core.md for why no package.
 *
 * Tolerated beyond the ABNF (seen from IdPs): an unquoted value such as `externalId eq jyoung` (Entra's tutorial)
 * is read as a string; `not` may be followed by an expression without parentheses.
 *
 * @throws ScimError 400 invalidFilter naming the character position and what was expected.
 */
export function parseFilter(text: string, options: ParseFilterOptions = {}): FilterNode {
  const maxLength = options.maxLength ?? 8192;
  if (text.length > maxLength)
    throw invalidFilter(`The filter is ${text.length} characters long; at most ${maxLength} are accepted.`);
  const parser = new FilterParser(text, options.maxDepth ?? 32);
  const node = parser.parseWhole();
  const maxTerms = options.maxTerms ?? DEFAULT_FILTER_LIMITS.maxTerms;
  if (parser.terms > maxTerms)
    throw limitExceeded(
      'filter_too_complex',
      400,
      'invalidFilter',
      `Filter too complex: ${parser.terms} terms, limit ${maxTerms}. Split it into several requests.`,
    );
  return node;
}

/**
 * Parses a filter relative to a complex attribute, as found inside `emails[...]` of a PATCH path. Same grammar
 * as {@link parseFilter}; used by the PATCH path parser.
 */
export function parseValueFilter(text: string, offset: number): FilterNode {
  const parser = new FilterParser(text, 32, offset);
  return parser.parseWhole();
}

/** Character codes the scanner compares against. */
const Ch = {
  Space: 32,
  Tab: 9,
  Newline: 10,
  Return: 13,
  Quote: 34,
  Dollar: 36,
  OpenParen: 40,
  CloseParen: 41,
  Minus: 45,
  Dot: 46,
  Colon: 58,
  OpenBracket: 91,
  Backslash: 92,
  CloseBracket: 93,
} as const;

function isWhitespace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Newline || c === Ch.Return;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** Characters of an attrPath token: ATTRNAME chars, `:` and `.` of URNs and sub-attributes, `$` of `$ref`. */
function isPathChar(c: number): boolean {
  return (
    isAlpha(c) ||
    isDigit(c) ||
    c === 95 /* _ */ ||
    c === Ch.Minus ||
    c === Ch.Colon ||
    c === Ch.Dot ||
    c === Ch.Dollar
  );
}

const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

class FilterParser {
  private pos = 0;
  private depth = 0;
  /** Attribute expressions parsed so far (the cost model's "terms"). */
  terms = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    /** Added to reported positions when the text is a slice of a larger string (PATCH paths). */
    private readonly offset = 0,
  ) {}

  parseWhole(): FilterNode {
    this.skipWhitespace();
    if (this.pos >= this.text.length) throw this.error('the filter is empty');
    const node = this.parseOr(false);
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === Ch.CloseParen) throw this.error('found ")" without a matching "("');
      if (c === Ch.CloseBracket) throw this.error('found "]" without a matching "["');
      throw this.error(`expected "and", "or" or the end of the filter, found ${this.describeHere()}`);
    }
    return node;
  }

  private parseOr(inValuePath: boolean): FilterNode {
    let left = this.parseAnd(inValuePath);
    while (this.matchKeyword('or')) {
      const right = this.parseAnd(inValuePath);
      left = { type: 'or', left, right };
    }
    return left;
  }

  private parseAnd(inValuePath: boolean): FilterNode {
    let left = this.parseUnary(inValuePath);
    while (this.matchKeyword('and')) {
      const right = this.parseUnary(inValuePath);
      left = { type: 'and', left, right };
    }
    return left;
  }

  private parseUnary(inValuePath: boolean): FilterNode {
    this.skipWhitespace();
    if (this.pos >= this.text.length) throw this.error('the filter ends where an expression was expected');
    const c = this.text.charCodeAt(this.pos);
    if (c === Ch.OpenParen) {
      this.pos++;
      const inner = this.nested(() => this.parseOr(inValuePath));
      this.expectChar(Ch.CloseParen, '")" to close the group');
      return inner;
    }
    if (this.peekNot()) {
      this.pos += 3;
      const filter = this.nested(() => this.parseUnary(inValuePath));
      return { type: 'not', filter };
    }
    if (!isAlpha(c) && c !== Ch.Dollar)
      throw this.error(`expected an attribute name, "(" or "not", found ${this.describeHere()}`);
    return this.parseAttributeExpression(inValuePath);
  }

  /** `not` as an operator: followed by `(` or by whitespace and something that is not a comparison operator. */
  private peekNot(): boolean {
    const t = this.text;
    const p = this.pos;
    if (t.length < p + 3 || t.slice(p, p + 3).toLowerCase() !== 'not') return false;
    const next = t.charCodeAt(p + 3);
    if (next === Ch.OpenParen) return true;
    if (!isWhitespace(next)) return false;
    let q = p + 3;
    while (q < t.length && isWhitespace(t.charCodeAt(q))) q++;
    let end = q;
    while (end < t.length && isAlpha(t.charCodeAt(end))) end++;
    const word = t.slice(q, end).toLowerCase();
    // `not eq "x"` / `not pr` would be an attribute named "not"; anything else is the operator.
    return !(COMPARE_OPERATORS.has(word) || word === 'pr');
  }

  private parseAttributeExpression(inValuePath: boolean): FilterNode {
    const start = this.pos;
    this.terms++;
    const attribute = this.readAttributePath();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) === Ch.OpenBracket) {
      if (inValuePath) throw this.error('value filters cannot be nested ("[" inside "[...]")');
      this.pos++;
      this.skipWhitespace();
      if (this.pos < this.text.length && this.text.charCodeAt(this.pos) === Ch.CloseBracket)
        throw this.error('the value filter "[]" is empty');
      const inner = this.nested(() => this.parseOr(true));
      this.expectChar(Ch.CloseBracket, '"]" to close the value filter');
      if (this.pos < this.text.length && this.text.charCodeAt(this.pos) === Ch.Dot) {
        // RFC 7644 §3.4.2.2 valuePath followed by subAttr (Entra: emails[type eq "work"].value eq "x").
        this.pos++;
        const subStart = this.pos;
        const sub = this.readAttributePath();
        if (sub.includes('.') || sub.includes(':'))
          throw this.errorAt(subStart, `"${sub}" is not a sub-attribute name`);
        const tail = this.parseOperatorTail(sub, subStart);
        return {
          type: 'valuePath',
          attribute,
          filter: { type: 'and', left: inner, right: tail },
          position: start + this.offset,
        };
      }
      return { type: 'valuePath', attribute, filter: inner, position: start + this.offset };
    }
    return this.parseOperatorTail(attribute, start);
  }

  private parseOperatorTail(attribute: string, start: number): FilterNode {
    if (this.pos >= this.text.length || !isWhitespace(this.text.charCodeAt(this.pos))) {
      if (this.pos >= this.text.length)
        throw this.error(`expected an operator after "${attribute}", but the filter ends`);
      throw this.error(`expected a space and an operator after "${attribute}", found ${this.describeHere()}`);
    }
    this.skipWhitespace();
    const opStart = this.pos;
    while (this.pos < this.text.length && isAlpha(this.text.charCodeAt(this.pos))) this.pos++;
    const op = this.text.slice(opStart, this.pos).toLowerCase();
    if (op === 'pr') {
      this.expectBoundary();
      return { type: 'present', attribute, position: start + this.offset };
    }
    if (!COMPARE_OPERATORS.has(op)) {
      this.pos = opStart;
      throw this.error(
        `expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "${attribute}", found ${this.describeHere()}`,
      );
    }
    // RFC 7644 §3.5.2.2's own example writes `value eq"2819c223-…"`: a quoted value may follow without a space.
    const next = this.text.charCodeAt(this.pos);
    if (this.pos >= this.text.length || (!isWhitespace(next) && next !== Ch.Quote)) {
      throw this.error(`expected a space and a value after "${attribute} ${op}"`);
    }
    this.skipWhitespace();
    const value = this.readValue(attribute, op);
    this.expectBoundary();
    return { type: 'compare', attribute, op: op as CompareOperator, value, position: start + this.offset };
  }

  private readAttributePath(): string {
    const start = this.pos;
    while (this.pos < this.text.length && isPathChar(this.text.charCodeAt(this.pos))) this.pos++;
    const path = this.text.slice(start, this.pos);
    const colon = path.lastIndexOf(':');
    const local = colon >= 0 ? path.slice(colon + 1) : path;
    if (colon >= 0 && !/^urn:/i.test(path))
      throw this.errorAt(start, `"${path}" is not an attribute path: a schema prefix must be a URN`);
    const parts = local.split('.');
    // A URN-only path (`urn:…:enterprise:2.0:User`) is resolved later against the registry; check names otherwise.
    const urnOnly = colon >= 0 && parts.length === 2 && /^\d+$/.test(parts[0] ?? '');
    if (!urnOnly && (parts.length > 2 || !parts.every((p) => ATTRNAME.test(p)))) {
      throw this.errorAt(start, `"${path}" is not a valid attribute path`);
    }
    return path;
  }

  private readValue(attribute: string, op: string): FilterLiteral {
    if (this.pos >= this.text.length)
      throw this.error(`expected a value after "${attribute} ${op}", but the filter ends`);
    const c = this.text.charCodeAt(this.pos);
    if (c === Ch.Quote) return this.readString();
    if (c === Ch.Minus || isDigit(c)) {
      const number = this.tryReadNumber();
      if (number !== undefined) return number;
    }
    const start = this.pos;
    while (this.pos < this.text.length) {
      const d = this.text.charCodeAt(this.pos);
      if (
        isWhitespace(d) ||
        d === Ch.CloseParen ||
        d === Ch.CloseBracket ||
        d === Ch.OpenParen ||
        d === Ch.Quote
      )
        break;
      this.pos++;
    }
    const word = this.text.slice(start, this.pos);
    if (word === '')
      throw this.error(`expected a value after "${attribute} ${op}", found ${this.describeHere()}`);
    switch (word.toLowerCase()) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'null':
        return null;
      default:
        // Not RFC 7644 ABNF, but Entra's documentation shows `externalId eq jyoung`: read an unquoted word as a string.
        return word;
    }
  }

  private tryReadNumber(): number | undefined {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(
      this.text.slice(this.pos, this.pos + 64),
    );
    if (!match) return undefined;
    const after = this.text.charCodeAt(this.pos + match[0].length);
    if (!Number.isNaN(after) && !isWhitespace(after) && after !== Ch.CloseParen && after !== Ch.CloseBracket)
      return undefined;
    this.pos += match[0].length;
    return Number(match[0]);
  }

  /** A JSON string literal (RFC 7644 §3.4.2.2: "JSON string"), with all RFC 8259 §7 escapes. */
  private readString(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    let chunk = this.pos;
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === Ch.Quote) {
        out += t.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c === Ch.Backslash) {
        out += t.slice(chunk, this.pos);
        out += this.readEscape();
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
    throw this.errorAt(start, 'the string value starting here has no closing quote');
  }

  private readEscape(): string {
    const at = this.pos;
    const e = this.text[this.pos + 1];
    this.pos += 2;
    switch (e) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex))
          throw this.errorAt(at, 'a \\u escape needs four hexadecimal digits');
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        throw this.errorAt(at, `"\\${e ?? ''}" is not a JSON string escape`);
    }
  }

  private matchKeyword(word: 'and' | 'or'): boolean {
    const save = this.pos;
    this.skipWhitespace();
    if (this.pos === save && this.pos < this.text.length) return false;
    const end = this.pos + word.length;
    if (this.text.slice(this.pos, end).toLowerCase() === word) {
      const next = this.text.charCodeAt(end);
      if (isWhitespace(next) || next === Ch.OpenParen) {
        this.pos = end;
        return true;
      }
    }
    this.pos = save;
    return false;
  }

  private expectBoundary(): void {
    if (this.pos >= this.text.length) return;
    const c = this.text.charCodeAt(this.pos);
    if (isWhitespace(c) || c === Ch.CloseParen || c === Ch.CloseBracket) return;
    throw this.error(`expected a space, ")" or "]" after the expression, found ${this.describeHere()}`);
  }

  private expectChar(code: number, what: string): void {
    this.skipWhitespace();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) === code) {
      this.pos++;
      return;
    }
    throw this.error(`expected ${what}, found ${this.describeHere()}`);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > this.maxDepth)
      throw this.error(`the filter nests deeper than ${this.maxDepth} levels`);
    const result = parse();
    this.depth--;
    return result;
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return 'the end of the filter';
    const rest = this.text.slice(this.pos);
    const word = /^\S{1,20}/.exec(rest)?.[0] ?? rest.slice(0, 1);
    return `"${word}"`;
  }

  private error(message: string): ScimError {
    return this.errorAt(this.pos, message);
  }

  private errorAt(position: number, message: string): ScimError {
    return invalidFilter(`Invalid filter at character ${position + this.offset + 1}: ${message}.`);
  }
}
