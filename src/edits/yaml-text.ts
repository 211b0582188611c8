/**
 * YAML helpers for text-splicing edits: parse with `yaml` only to find where things are (node
 * ranges), then change the text at those offsets. Nothing is re-serialised, so comments, quoting,
 * odd spacing (`key : value`), `True` booleans and CRLF endings stay as they were.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  parseAllDocuments,
  stringify,
  type Document,
  type Node as YamlNode,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { InternalError } from '../errors.js';
import { EditError } from './result.js';
import { afterLine, lineContentEnd, lineKind, lineStart, nextLineStart, eolOf, type Splice } from './text.js';

export type Range = [number, number, number];

/** Parses text that must hold exactly one YAML document; `what` names it in errors ("the manifest"). */
export function parseOneDocument(text: string, what: string): Document.Parsed {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length === 0) throw new EditError(`${what} is empty`);
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) throw new EditError(`${what} is not valid YAML: ${firstLine(err.message)}`);
  }
  if (docs.length > 1)
    throw new EditError(
      `${what} holds ${docs.length} YAML documents; kubemend only edits single-document files`,
    );
  const doc = docs[0] as Document.Parsed;
  if (doc.contents === null) throw new EditError(`${what} is empty`);
  return doc;
}

const firstLine = (s: string) => s.split('\n')[0] ?? s;

/** The source range of a parsed node; parsed nodes always have one. */
export function rangeOf(node: { range?: Range | null }): Range {
  if (!node.range) throw new InternalError('YAML node without a source range');
  return node.range;
}

/** A key's text as a string, or undefined for non-scalar keys. */
export function keyName(pair: Pair): string | undefined {
  return isScalar(pair.key) && pair.key.value !== null ? String(pair.key.value) : undefined;
}

export interface FoundPair {
  pair: Pair;
  /** The key as written; differs from the wanted name only in case when `exact` is false. */
  name: string;
  exact: boolean;
}

/**
 * The pair for `name` in a map: the exact key, else one that differs only in case (the kubelet
 * matches field names case-sensitively, so `clientCaFile` is silently ignored and must be renamed).
 */
export function findPair(map: YAMLMap, name: string): FoundPair | undefined {
  let loose: FoundPair | undefined;
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const key = keyName(item);
    if (key === undefined) continue;
    if (key === name) return { pair: item, name: key, exact: true };
    if (!loose && key.toLowerCase() === name.toLowerCase()) loose = { pair: item, name: key, exact: false };
  }
  return loose;
}

/** Where the last character of a node's content is (comments and trailing blank lines excluded). */
export function contentEnd(node: YamlNode | Pair | null | undefined, fallback: number): number {
  if (!node) return fallback;
  if (isPair(node)) {
    const keyEnd = contentEnd(node.key as YamlNode | null, fallback);
    return contentEnd(node.value as YamlNode | null, keyEnd);
  }
  if (isScalar(node) || isAlias(node)) return rangeOf(node)[1];
  if (isCollection(node)) {
    const r = rangeOf(node);
    if (node.flow) return r[1];
    let end = r[0];
    for (const item of node.items as (YamlNode | Pair)[]) end = Math.max(end, contentEnd(item, end));
    return end;
  }
  return fallback;
}

// YAML 1.1 readers (go-yaml v2, which the kubelet's sigs.k8s.io/yaml uses) treat these as
// booleans, nulls or numbers even where YAML 1.2 sees strings; keep them quoted.
const YAML11_SPECIAL =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$/;

/** Whether `value` can be written as a plain scalar and read back as the same string. */
export function plainIsSafe(value: string, inFlow: boolean): boolean {
  if (value === '' || YAML11_SPECIAL.test(value)) return false;
  if (inFlow && /[,[\]{}]/.test(value)) return false;
  const out = stringify(value, { defaultStringType: 'PLAIN', lineWidth: 0 });
  return out === `${value}\n`;
}

export type QuoteStyle = 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE';

/** A one-line scalar in the given style; PLAIN falls back to double quotes when it would misread. */
export function renderScalar(value: string, style: QuoteStyle, inFlow = false): string {
  if (style === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(value);
  return plainIsSafe(value, inFlow) ? value : JSON.stringify(value);
}

export function quoteStyleOf(node: Scalar): QuoteStyle {
  return node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE' ? node.type : 'PLAIN';
}

/**
 * Replaces a scalar's value in place, keeping its style: quoted stays quoted the same way, a folded
 * or literal block stays a block (with strip chomping, so no newline sneaks into the value), plain
 * stays plain when that reads back correctly. An empty plain value (`key:`) gets a space first.
 */
export function replaceScalar(text: string, node: Scalar, value: string, inFlow: boolean): Splice {
  const [start, end] = rangeOf(node);
  if (node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') {
    const headerEnd = lineContentEnd(text, start);
    const header = text.slice(start, headerEnd);
    const m = /^([>|])([1-9]?)[-+]?([1-9]?)(.*)$/.exec(header);
    if (!m) throw new InternalError(`unexpected block scalar header ${JSON.stringify(header)}`);
    const newHeader = `${m[1] ?? '>'}${m[2] ?? ''}-${m[3] ?? ''}${m[4] ?? ''}`;
    const contentLine = nextLineStart(text, start);
    const indentText = /^[ \t]*/.exec(text.slice(contentLine, lineContentEnd(text, contentLine)))?.[0] ?? '';
    const source = text.slice(start, end);
    const trail = source.endsWith('\r\n') ? '\r\n' : source.endsWith('\n') ? '\n' : '';
    const eol = eolOf(text, start) || '\n';
    return { start, end, text: `${newHeader}${eol}${indentText}${value}${trail}` };
  }
  const rendered = renderScalar(value, quoteStyleOf(node), inFlow);
  if (start === end) {
    const before = text[start - 1];
    return { start, end, text: before === ':' || before === '-' ? ` ${rendered}` : rendered };
  }
  return { start, end, text: rendered };
}

/** Renames a key in place, keeping its quoting. */
export function renameKey(node: Scalar, name: string): Splice {
  const [start, end] = rangeOf(node);
  return { start, end, text: renderScalar(name, quoteStyleOf(node)) };
}

/**
 * Where a new entry goes at the end of a block collection: after its last content line, and after
 * any comment lines right below that are indented like the collection's entries (they belong to
 * it, e.g. a commented-out sibling). A blank line or anything less indented ends the collection.
 */
export function blockEndInsertPoint(text: string, node: YamlNode, childIndent: number): number {
  let pos = afterLine(text, contentEnd(node, rangeOf(node)[0]));
  while (pos < text.length) {
    const line = lineKind(text, pos);
    if (line.kind !== 'comment' || line.indent < childIndent) break;
    pos = nextLineStart(text, pos);
  }
  return pos;
}

/**
 * Where a new entry goes just before an existing one at line start `pos`: above the comment lines
 * that sit directly over it at the same indentation (they describe it).
 */
export function beforeEntryInsertPoint(text: string, pos: number, indent: number): number {
  let at = lineStart(text, pos);
  while (at > 0) {
    const prev = lineStart(text, at - 1);
    const line = lineKind(text, prev);
    if (line.kind !== 'comment' || line.indent !== indent) break;
    at = prev;
  }
  return at;
}

/**
 * The document's indentation step for nested block maps (2 unless the file shows another), so new
 * nested keys look like their neighbours.
 */
export function indentStep(text: string, root: YamlNode | null): number {
  const visit = (node: YamlNode | null | undefined): number | undefined => {
    if (!isMap(node) || node.flow) return undefined;
    for (const pair of node.items) {
      const value = pair.value as YamlNode | null;
      if (isMap(value) && !value.flow && value.items.length > 0 && isScalar(pair.key)) {
        const first = value.items[0];
        if (first && isScalar(first.key)) {
          const parentCol = rangeOf(pair.key)[0] - lineStart(text, rangeOf(pair.key)[0]);
          const childCol = rangeOf(first.key)[0] - lineStart(text, rangeOf(first.key)[0]);
          if (childCol > parentCol) return childCol - parentCol;
        }
      }
      const deeper = visit(value);
      if (deeper !== undefined) return deeper;
    }
    return undefined;
  };
  return visit(root) ?? 2;
}

/** Column of a node's first character. */
export function columnOfNode(text: string, node: { range?: Range | null }): number {
  const start = rangeOf(node)[0];
  return start - lineStart(text, start);
}
