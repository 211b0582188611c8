/**
 * Large JSON documents (a 5,000-node audit or plan is 10–12 MB) without holding them twice: what a
 * run keeps of each node has its big, finished parts (evidence, file contents, diffs) kept as JSON
 * text, and the document is written piece by piece, those texts spliced in as they are. The bytes
 * are exactly `JSON.stringify(value, null, 2)`'s, so nothing a reader sees changes. Pure.
 */

/** The texts of an object's kept fields, by key (non-enumerable: JSON.stringify and spreads skip it). */
const KEPT = Symbol('kubemend.keptAsText');

type Kept = Record<string, string>;

const keptOf = (o: object): Kept | undefined => (o as { [KEPT]?: Kept })[KEPT];

/** One getter per key name, shared by every object that keeps that key as text. */
const getters = new Map<string, () => unknown>();
function getterFor(key: string): () => unknown {
  let get = getters.get(key);
  if (!get) {
    get = function (this: object): unknown {
      const text = keptOf(this)?.[key];
      return text === undefined ? undefined : JSON.parse(text);
    };
    getters.set(key, get);
  }
  return get;
}

/**
 * Keeps `keys` of `o` as their JSON text (`JSON.stringify(v, null, 2)`), in place: the key keeps its
 * position; reading it parses the text again (a fresh copy each time: for the rare reader, such as
 * a Markdown rendering), and writeJson splices the text without parsing. For parts that no longer
 * change: writing to such a field is refused (strict mode TypeError), never silently lost.
 */
export function keepAsText<T extends object>(o: T, keys: readonly (keyof T & string)[]): T {
  let kept = keptOf(o);
  for (const key of keys) {
    const value = (o as Record<string, unknown>)[key];
    if (value === undefined || !Object.prototype.propertyIsEnumerable.call(o, key)) continue;
    if (!kept) {
      kept = {};
      Object.defineProperty(o, KEPT, { value: kept, enumerable: false });
    }
    kept[key] = JSON.stringify(value, null, 2);
    Object.defineProperty(o, key, { get: getterFor(key), enumerable: true, configurable: true });
  }
  return o;
}

/** Nested text indented for `depth`: JSON text has no raw newline but between its tokens. */
const reindent = (text: string, pad: string): string => (pad ? text.replaceAll('\n', `\n${pad}`) : text);

/** Appends `piece`; the writer hands pieces to `write` in chunks of about this many characters. */
const CHUNK = 64 * 1024;

/**
 * Writes `JSON.stringify(value, null, 2)` (byte for byte, kept texts spliced in) to `write`, in
 * chunks, so the whole document is never one string. The value must be JSON data (plain objects
 * and arrays, strings, finite or not numbers, booleans, null; toJSON honoured, as by JSON.stringify).
 */
export function writeJson(value: unknown, write: (chunk: string) => void): void {
  let parts: string[] = [];
  let size = 0;
  const out = (s: string): void => {
    parts.push(s);
    size += s.length;
    if (size >= CHUNK) flush();
  };
  const flush = (): void => {
    if (parts.length === 0) return;
    write(parts.join(''));
    parts = [];
    size = 0;
  };

  /** `v` after toJSON, as JSON.stringify sees it; undefined when it is left out. */
  const seen = (v: unknown, key: string): unknown => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      v = (v as { toJSON(k: string): unknown }).toJSON(key);
    return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  };

  /** Writes `v` (already seen) with its inner lines at `pad` + two spaces. */
  const emit = (v: unknown, pad: string): void => {
    if (v === null || typeof v !== 'object') {
      out(JSON.stringify(v));
      return;
    }
    const inner = `${pad}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return out('[]');
      for (let i = 0; i < v.length; i++) {
        out(i === 0 ? `[\n${inner}` : `,\n${inner}`);
        const item = seen(v[i], String(i));
        if (item === undefined) out('null');
        else emit(item, inner);
      }
      return out(`\n${pad}]`);
    }
    const kept = keptOf(v);
    let first = true;
    for (const k of Object.keys(v)) {
      const text = kept?.[k];
      const item = text === undefined ? seen((v as Record<string, unknown>)[k], k) : undefined;
      if (text === undefined && item === undefined) continue;
      out(`${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `);
      first = false;
      if (text !== undefined) out(reindent(text, inner));
      else emit(item, inner);
    }
    out(first ? '{}' : `\n${pad}}`);
  };

  const top = seen(value, '');
  if (top === undefined) return;
  emit(top, '');
  flush();
}
