/**
 * Large JSON documents (a 5,000-node audit or plan is 10–12 MB) written piece by piece, never as
 * one string (with its UTF-8 copies for the file and stdout): the bytes are exactly
 * `JSON.stringify(value, null, 2)`'s, so nothing a reader sees changes. Pure.
 */

/** The writer hands pieces to `write` in chunks of about this many characters. */
const CHUNK = 64 * 1024;

/**
 * Values this deep (an entry of a top-level list: one node, one result) are small: stringified
 * whole by V8 and indented to their place, which is much faster than walking them here.
 */
const NATIVE_PAD = '    ';

/** Nested text indented by `pad`: JSON text has no raw newline but between its tokens. */
const reindent = (text: string, pad: string): string => text.replaceAll('\n', `\n${pad}`);

/**
 * Writes `JSON.stringify(value, null, 2)` (byte for byte) to `write`, in
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
    if (pad.length >= NATIVE_PAD.length) return out(reindent(JSON.stringify(v, null, 2), pad));
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
    let first = true;
    for (const k of Object.keys(v)) {
      const item = seen((v as Record<string, unknown>)[k], k);
      if (item === undefined) continue;
      out(`${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `);
      first = false;
      emit(item, inner);
    }
    out(first ? '{}' : `\n${pad}}`);
  };

  const top = seen(value, '');
  if (top === undefined) return;
  emit(top, '');
  flush();
}
