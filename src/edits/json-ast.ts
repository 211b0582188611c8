/**
 * A small JSON parser that keeps offsets, so JSON edits can splice text instead of re-serialising
 * the document (which would lose the file's indentation, key spacing and one-line arrays).
 */
import { EditError } from './result.js';

export interface JsonObject {
  kind: 'object';
  /** Offset of `{`. */
  start: number;
  /** Offset just past `}`. */
  end: number;
  members: JsonMember[];
}

export interface JsonMember {
  key: string;
  keyStart: number;
  keyEnd: number;
  value: JsonNode;
}

export interface JsonArray {
  kind: 'array';
  start: number;
  end: number;
  items: JsonNode[];
}

export interface JsonScalar {
  kind: 'string' | 'number' | 'boolean' | 'null';
  start: number;
  end: number;
  value: unknown;
}

export type JsonNode = JsonObject | JsonArray | JsonScalar;

const LITERAL = /true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;

/** Parses a whole JSON text; throws EditError with line and column on malformed input. */
export function parseJson(text: string, what: string): JsonNode {
  let pos = 0;
  const fail = (msg: string): never => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    throw new EditError(`${what} is not valid JSON: ${msg} at line ${line}, column ${col}`);
  };
  const ws = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos] ?? '')) pos++;
  };
  const str = (): JsonScalar => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') {
      const ch = text[pos] ?? '';
      if (ch === '\\') pos++;
      else if (ch < ' ') fail('control character in string');
      pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return { kind: 'string', start, end: pos, value: decode(text.slice(start, pos)) };
  };
  const decode = (raw: string): unknown => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return fail(`bad token ${raw.slice(0, 20)}`);
    }
  };
  const value = (): JsonNode => {
    ws();
    const ch = text[pos];
    const start = pos;
    if (ch === '{') {
      pos++;
      const members: JsonMember[] = [];
      ws();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', start, end: pos, members };
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a "key"');
        const key = str();
        ws();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        members.push({ key: String(key.value), keyStart: key.start, keyEnd: key.end, value: value() });
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return { kind: 'object', start, end: pos, members };
        }
        fail('expected "," or "}"');
      }
    }
    if (ch === '[') {
      pos++;
      const items: JsonNode[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', start, end: pos, items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return { kind: 'array', start, end: pos, items };
        }
        fail('expected "," or "]"');
      }
    }
    if (ch === '"') return str();
    LITERAL.lastIndex = pos;
    const m = LITERAL.exec(text);
    if (!m) return fail(ch === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(ch)}`);
    pos += m[0].length;
    const v = decode(m[0]);
    return {
      kind: v === null ? 'null' : typeof v === 'boolean' ? 'boolean' : 'number',
      start,
      end: pos,
      value: v,
    };
  };
  if (text.charCodeAt(0) === 0xfeff) pos = 1;
  const root = value();
  ws();
  if (pos < text.length) fail('trailing text after the JSON value');
  return root;
}
