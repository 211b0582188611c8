/**
 * YAML (and JSON, which is YAML) from a node, read so that no file can throw past its reader: every
 * failure is a message that names the file, for that node's result, never an exception that
 * becomes "internal error" (exit 70) or an unreachable node.
 *
 * Two things in a hostile file would otherwise escape: an alias bomb (yaml's `toJS` refuses more
 * than `maxAliasCount` alias expansions, 100 by default, by throwing a ReferenceError), and
 * brackets nested thousands deep, which overflow the parser's stack; near that limit V8 can abort
 * the whole process, so such text is refused before the parser sees it.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';

/** Deeper flow nesting ([ and {) than any kubelet config or pod manifest needs. */
export const MAX_NESTING = 256;

/** The deepest [ / { nesting of the text (brackets inside quotes count too: this only guards). */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return deepest;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The text's YAML documents, or why they cannot be read ("PATH does not parse: …"). */
export function nodeYamlDocuments(
  path: string,
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions = {},
): Parsed<Document.Parsed[]> {
  if (nestingDepth(text) > MAX_NESTING)
    return {
      ok: false,
      error: `${path} does not parse: it nests [ and { more than ${MAX_NESTING} deep, which kubemend does not read`,
    };
  try {
    const docs = parseAllDocuments(text, options);
    const value = Array.isArray(docs) ? docs : [];
    for (const doc of value) {
      const odd = beyondJson(doc);
      if (odd) return { ok: false, error: `${path} does not parse: ${odd}` };
    }
    return { ok: true, value };
  } catch (e) {
    return { ok: false, error: `${path} does not parse: ${(e as Error).message}` };
  }
}

/** The tags of the values JSON has: what the kubelet's and the API's YAML readers turn YAML into. */
const JSON_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq', 'merge'].map((t) => `tag:yaml.org,2002:${t}`),
);

/**
 * What in a document is more than JSON: a tag such as !!set, !!binary or !custom (the yaml library
 * would build a Set, a Buffer or a string out of it, while sigs.k8s.io/yaml, which the kubelet and
 * the kube-apiserver read with, converts to JSON and gives another value or fails), or a mapping
 * key that is not a plain value (`? [a, b]`, which that reader refuses). Such a file is not read
 * as anything, rather than read as something the node's own reader does not see.
 */
function beyondJson(doc: Document.Parsed): string | undefined {
  let odd: string | undefined;
  visit(doc, {
    Node(_, node) {
      if (node.tag !== undefined && !JSON_TAGS.has(node.tag)) {
        odd = `it uses the YAML tag ${node.tag.replace(/^tag:yaml\.org,2002:/, '!!')}, which kubemend does not read (only what JSON can say)`;
        return visit.BREAK;
      }
      return undefined;
    },
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        odd = 'a mapping key is not a plain value (the kubelet refuses such a file: "unsupported map key")';
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return odd;
}

/** A document's value, or why it cannot be had (an alias bomb: "Excessive alias count…"). */
export function nodeYamlValue(path: string, doc: Document.Parsed): Parsed<unknown> {
  try {
    return { ok: true, value: doc.toJS() as unknown };
  } catch (e) {
    return { ok: false, error: `${path} does not parse: ${(e as Error).message}` };
  }
}

/**
 * Where the reader's choice decides a value: a key twice in one mapping with different values, or
 * a merge (`<<`) giving a key another value than the mapping, or another merge, gives it. Readers
 * differ there: go-yaml v2, which sigs.k8s.io/yaml wraps, lets a merge overwrite a key written
 * before it, the YAML spec and this library let the written key win, and Go's JSON decoder fills
 * one struct from two objects under the same key. So kubemend picks none: it names the key.
 * Call after nodeYamlValue succeeded (an alias bomb is refused there).
 */
export function ambiguousKey(doc: Document.Parsed): string | undefined {
  const walk = (node: unknown, trail: string[]): string | undefined => {
    if (isAlias(node)) return undefined;
    if (isSeq(node)) {
      for (const item of node.items) {
        const found = walk(item, trail);
        if (found) return found;
      }
      return undefined;
    }
    if (!isMap(node)) return undefined;
    const seen = new Map<string, unknown>();
    const give = (name: string, js: unknown): string | undefined => {
      if (seen.has(name) && !isDeepStrictEqual(seen.get(name), js))
        return `${[...trail, name].join('.')} is given twice with different values (a repeated key or a << merge), and YAML and JSON readers differ on which one counts`;
      seen.set(name, js);
      return undefined;
    };
    for (const pair of node.items) {
      const merge = isScalar(pair.key) && typeof pair.key.value === 'symbol';
      if (merge) {
        // What each source gives, merges inside it resolved: a merge of a merge counts as well.
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const target = isAlias(source) ? source.resolve(doc) : source;
          if (!isMap(target)) continue;
          const given = target.toJS(doc) as unknown;
          if (!given || typeof given !== 'object' || given instanceof Map) continue;
          for (const [name, js] of Object.entries(given as Record<string, unknown>)) {
            const found = give(name, js);
            if (found) return found;
          }
          // A source written in place is a mapping of its own, checked like any other.
          const inner = isAlias(source) ? undefined : walk(source, trail);
          if (inner) return inner;
        }
        continue;
      }
      if (!isScalar(pair.key) || typeof pair.key.value === 'symbol') continue;
      const name = String(pair.key.value);
      const js = isNode(pair.value) ? (pair.value.toJS(doc) as unknown) : pair.value;
      const found = give(name, js) ?? walk(pair.value, [...trail, name]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(doc.contents, []);
}
