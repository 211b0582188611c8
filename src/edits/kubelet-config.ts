/**
 * Sets one setting of a KubeletConfiguration (a path of keys, such as `authentication.x509.clientCAFile`
 * or `authentication.anonymous.enabled`, to a string or a boolean), YAML or JSON, by splicing text so
 * only the lines that must change differ (pitfalls #10). Decisions:
 * - Missing maps on the path (`authentication`, `x509`) are created. In YAML a new key goes in sorted position
 *   when its siblings are sorted (kubeadm writes them sorted), else last; in JSON it goes last.
 * - A key that differs only in case (`clientCaFile`, `X509`, `Authentication`) is renamed in place:
 *   the kubelet matches field names case-sensitively and silently drops the wrong-case one.
 * - An empty map written `x509: {}` (kOps) becomes a block map, the way kOps itself writes it
 *   once the field is set; inside flow collections it stays flow (`{clientCAFile: …}`).
 * - New YAML entries go after the comment lines that close their map (a commented-out `x509:`
 *   block stays where it is, right above the real one).
 * - A YAML file whose content is a JSON object is edited as JSON, keeping it JSON.
 */
import { memoEdit } from './memo.js';
import { isDeepStrictEqual } from 'node:util';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Node as YamlNode,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { InternalError } from '../errors.js';
import { parseJson, type JsonMember, type JsonNode, type JsonObject } from './json-ast.js';
import { assertOneLine, EditError, result, type EditResult } from './result.js';
import {
  applySplices,
  eolOf,
  insertLines,
  lineContentEnd,
  lineKind,
  lineStart,
  nextLineStart,
  type Splice,
} from './text.js';
import {
  beforeEntryInsertPoint,
  blockEndInsertPoint,
  columnOfNode,
  contentEnd,
  findPair,
  indentStep,
  keyName,
  parseOneDocument,
  rangeOf,
  renameKey,
  renderScalar,
  replaceScalar,
  type QuoteStyle,
} from './yaml-text.js';

const CA_PATH = ['authentication', 'x509', 'clientCAFile'] as const;
const WHAT = 'the kubelet config';

/** A value kubemend writes into a kubelet config: a string (a path, a mode) or a boolean. */
export type ConfigValue = string | boolean;

/** One setting to write: where (`path`), what, and how to name the value in an error. */
export interface ConfigEdit {
  path: readonly string[];
  value: ConfigValue;
  /** What the value is, for errors: "a file path", "true or false". */
  expect: string;
}

export function setKubeletClientCA(text: string, caPath: string, format: 'yaml' | 'json'): EditResult {
  assertOneLine('the client CA path', caPath);
  if (caPath === '') throw new EditError('the client CA path is empty');
  return setKubeletConfigValue(text, { path: CA_PATH, value: caPath, expect: 'a file path' }, format);
}

/** Sets `edit.path` to `edit.value` in a kubelet config file or drop-in, keeping everything else. */
export const setKubeletConfigValue: (text: string, edit: ConfigEdit, format: 'yaml' | 'json') => EditResult =
  memoEdit(setConfigValue);

function setConfigValue(text: string, edit: ConfigEdit, format: 'yaml' | 'json'): EditResult {
  if (typeof edit.value === 'string') assertOneLine(edit.path.join('.'), edit.value);
  if (edit.path.length === 0) throw new InternalError('a kubelet setting needs a path');
  const asJson = format === 'json' || (text.trimStart().startsWith('{') && isJson(text));
  const { out, used } = asJson ? editJson(text, edit) : editYaml(text, edit);
  if (out !== text) verify(text, out, used, edit, asJson);
  return result(text, out);
}

/** `k1:` / `  k2:` / `    k3: value`: the setting as block lines at the root of a new file. */
export function yamlSettingLines(edit: ConfigEdit): string[] {
  return blockChain(edit.path, edit.value, 0, 2);
}

/** A value as a YAML scalar: booleans bare, strings plain where that reads back as the string. */
const yamlScalar = (value: ConfigValue, style: QuoteStyle, inFlow = false) =>
  typeof value === 'boolean' ? String(value) : renderScalar(value, style, inFlow);

function isJson(text: string): boolean {
  try {
    parseJson(text, WHAT);
    return true;
  } catch {
    return false;
  }
}

/** A file that says it is something else is not ours to edit (a kubelet config needs `kind`). */
function checkKind(kind: unknown): void {
  if (kind !== undefined && kind !== 'KubeletConfiguration')
    throw new EditError(`${WHAT} is a ${String(kind)}, not a KubeletConfiguration`);
}

const dotted = (path: readonly string[], level: number) => path.slice(0, level + 1).join('.');

function describe(value: unknown): string {
  if (isSeq(value) || Array.isArray(value)) return 'a list';
  if (isAlias(value)) return `an alias (*${value.source}); edit it by hand`;
  if (isScalar(value)) return `the scalar ${JSON.stringify((value as Scalar).value)}`;
  return `the scalar ${JSON.stringify(value)}`;
}

/** Key names found on the way down (undefined from the first missing level on). */
type Used = (string | undefined)[];

// ---------------------------------------------------------------------------------------------- YAML

function editYaml(text: string, edit: ConfigEdit): { out: string; used: Used } {
  const { path: PATH, value: caPath } = edit;
  const doc = parseOneDocument(text, WHAT);
  const root = doc.contents;
  if (!isMap(root)) throw new EditError(`${WHAT} is not a mapping of settings`);
  checkKind(root.get('kind') as unknown);
  const step = indentStep(text, root);
  const splices: Splice[] = [];
  const used: Used = [];
  let map: YAMLMap = root;
  for (let level = 0; level < PATH.length; level++) {
    const want = PATH[level] as string;
    const rest = PATH.slice(level);
    const found = findPair(map, want);
    if (!found) {
      splices.push(...yamlInsert(text, map, rest, caPath, step));
      break;
    }
    used.push(found.name);
    if (!found.exact) splices.push(renameKey(found.pair.key as Scalar, want));
    const value = found.pair.value as YamlNode | null;
    if (level === PATH.length - 1) {
      if (isScalar(value)) {
        if (value.value !== caPath)
          splices.push(
            typeof caPath === 'boolean'
              ? { start: rangeOf(value)[0], end: rangeOf(value)[1], text: String(caPath) }
              : replaceScalar(text, value, caPath, Boolean(map.flow)),
          );
      } else if (value === null) {
        splices.push(...yamlFillEmpty(text, map, found.pair, [], caPath, step));
      } else
        throw new EditError(
          `${dotted(PATH, level)} in ${WHAT} is ${describe(value)}, expected ${edit.expect}`,
        );
      break;
    }
    if (isMap(value) && value.items.length > 0) {
      map = value;
      continue;
    }
    if (value === null || isMap(value) || (isScalar(value) && value.value === null)) {
      splices.push(...yamlFillEmpty(text, map, found.pair, PATH.slice(level + 1), caPath, step));
      break;
    }
    throw new EditError(`${dotted(PATH, level)} in ${WHAT} is ${describe(value)}, expected a mapping`);
  }
  return { out: applySplices(text, splices), used };
}

/** `k1:` / `  k2:` / `    k3: value` lines starting at `col`. */
function blockChain(keys: readonly string[], value: ConfigValue, col: number, step: number): string[] {
  return keys.map((k, i) => {
    const pad = ' '.repeat(col + i * step);
    return i === keys.length - 1 ? `${pad}${k}: ${yamlScalar(value, 'PLAIN')}` : `${pad}${k}:`;
  });
}

/** `k1: {k2: {k3: value}}`, with the map's own brace padding and key quoting. */
function flowChain(keys: readonly string[], value: ConfigValue, pad: string, quoteKeys: boolean): string {
  const [first, ...rest] = keys;
  if (first === undefined) return yamlScalar(value, quoteKeys ? 'QUOTE_DOUBLE' : 'PLAIN', true);
  const key = quoteKeys ? JSON.stringify(first) : first;
  const inner = flowChain(rest, value, pad, quoteKeys);
  return rest.length === 0 ? `${key}: ${inner}` : `${key}: {${pad}${inner}${pad}}`;
}

const sortedBy = (keys: readonly string[], norm: (k: string) => string) =>
  keys.every((k, i) => i === 0 || norm(keys[i - 1] ?? '') <= norm(k));

/** Adds `keys` (a chain of nested maps ending in the value) to a non-empty map. */
function yamlInsert(
  text: string,
  map: YAMLMap,
  keys: readonly string[],
  value: ConfigValue,
  step: number,
): Splice[] {
  const pairs = map.items as Pair[];
  const first = keys[0] as string;
  if (map.flow) {
    const last = pairs.at(-1);
    const quoteKeys = pairs.some((p) => isScalar(p.key) && (p.key as Scalar).type === 'QUOTE_DOUBLE');
    const src = text.slice(rangeOf(map)[0], rangeOf(map)[1]);
    const pad = src.startsWith('{ ') ? ' ' : '';
    if (!last) {
      const at = rangeOf(map)[0] + 1;
      return [{ start: at, end: at, text: pad + flowChain(keys, value, pad, quoteKeys) + pad }];
    }
    let sep = ', ';
    const prev = pairs.at(-2);
    if (prev) {
      const between = text.slice(contentEnd(prev, 0), rangeOf(last.key as Scalar)[0]);
      if (!between.includes('#')) sep = between;
    }
    const at = contentEnd(last, rangeOf(map)[0]);
    return [{ start: at, end: at, text: sep + flowChain(keys, value, pad, quoteKeys) }];
  }
  const firstKey = pairs[0]?.key as Scalar | undefined;
  if (!firstKey) throw new InternalError('block map without keys');
  const col = columnOfNode(text, firstKey);
  const names = pairs.map((p) => keyName(p) ?? '');
  const norm = sortedBy(names, (k) => k)
    ? (k: string) => k
    : sortedBy(names, (k) => k.toLowerCase())
      ? (k: string) => k.toLowerCase()
      : undefined;
  let pos: number | undefined;
  if (norm && pairs.length > 1) {
    const next = pairs.find((p) => norm(first) < norm(keyName(p) ?? ''));
    if (next) pos = beforeEntryInsertPoint(text, rangeOf(next.key as Scalar)[0], col);
  }
  pos ??= blockEndInsertPoint(text, map, col);
  return [insertLines(text, pos, blockChain(keys, value, col, step))];
}

/** Fills a key whose value is empty (`x509:`, `x509: ~`, `x509: {}`) with the chain of `keys`. */
function yamlFillEmpty(
  text: string,
  parent: YAMLMap,
  pair: Pair,
  keys: readonly string[],
  value: ConfigValue,
  step: number,
): Splice[] {
  const key = pair.key as Scalar;
  const [keyStart, keyEnd] = rangeOf(key);
  const node = pair.value as YamlNode | null;
  const [vStart, vEnd] = node ? rangeOf(node) : [keyEnd, keyEnd];
  const inFlow = Boolean(parent.flow) || !blockKeyLine(text, keyStart, vEnd);
  if (keys.length === 0) {
    // `clientCAFile:` with nothing after it
    const at = node ? vStart : keyEnd + 1;
    return [{ start: at, end: vEnd < at ? at : vEnd, text: ` ${yamlScalar(value, 'PLAIN', inFlow)}` }];
  }
  if (inFlow) {
    const flow = `{${flowChain(keys, value, '', false)}}`;
    if (vStart === vEnd) return [{ start: vStart, end: vEnd, text: ` ${flow}` }];
    return [{ start: vStart, end: vEnd, text: flow }];
  }
  // Block parent: drop the empty value from the key's line and put the entries below it.
  const gap = text.slice(keyEnd, vStart);
  const colon = /^[ \t]*:[ \t]*$/.test(gap) ? keyEnd + gap.indexOf(':') + 1 : vStart;
  const splices: Splice[] = [];
  if (vEnd > colon) splices.push({ start: colon, end: vEnd, text: '' });
  const col = columnOfNode(text, key) + step;
  let pos = nextLineStart(text, keyStart);
  while (pos < text.length) {
    const line = lineKind(text, pos);
    if (line.kind !== 'comment' || line.indent < col) break;
    pos = nextLineStart(text, pos);
  }
  splices.push(insertLines(text, pos, blockChain(keys, value, col, step)));
  return splices;
}

/** Whether a key and its (flow) value sit alone on one line, so the value can become a block. */
function blockKeyLine(text: string, keyStart: number, valueEnd: number): boolean {
  const start = lineStart(text, keyStart);
  return /^[ \t]*$/.test(text.slice(start, keyStart)) && valueEnd <= lineContentEnd(text, keyStart);
}

// ---------------------------------------------------------------------------------------------- JSON

function findMember(obj: JsonObject, name: string): { member: JsonMember; exact: boolean } | undefined {
  // The last exact key wins, as in the kubelet's lenient decoding and JSON.parse.
  const exact = obj.members.findLast((m) => m.key === name);
  if (exact) return { member: exact, exact: true };
  const loose = obj.members.find((m) => m.key.toLowerCase() === name.toLowerCase());
  return loose ? { member: loose, exact: false } : undefined;
}

const isMultiline = (text: string, obj: JsonObject) => text.slice(obj.start, obj.end).includes('\n');

function lineIndent(text: string, pos: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart(text, pos)))?.[0] ?? '';
}

interface JsonStyle {
  step: string;
  colon: string;
  eol: string;
}

function jsonStyle(text: string, root: JsonObject): JsonStyle {
  const first = root.members[0];
  const step = first && isMultiline(text, root) ? lineIndent(text, first.keyStart) || '  ' : '  ';
  const gap = first ? text.slice(first.keyEnd, first.value.start) : ': ';
  return { step, colon: gap.includes('\n') ? ': ' : gap, eol: eolOf(text, root.start) || '\n' };
}

/** The value for a chain of keys: a string, or nested objects, laid out like the file. */
function jsonChain(
  keys: readonly string[],
  value: ConfigValue,
  indent: string,
  multiline: boolean,
  s: JsonStyle,
): string {
  const [first, ...rest] = keys;
  if (first === undefined) return JSON.stringify(value);
  const inner = jsonChain(rest, value, indent + s.step, multiline, s);
  if (!multiline) return `{${JSON.stringify(first)}${s.colon}${inner}}`;
  return `{${s.eol}${indent}${s.step}${JSON.stringify(first)}${s.colon}${inner}${s.eol}${indent}}`;
}

function editJson(text: string, edit: ConfigEdit): { out: string; used: Used } {
  const { path: PATH, value: caPath } = edit;
  const root = parseJson(text, WHAT);
  if (root.kind !== 'object') throw new EditError(`${WHAT} is not a JSON object`);
  const kind = root.members.findLast((m) => m.key === 'kind')?.value;
  checkKind(kind && 'value' in kind ? kind.value : kind ? kind.kind : undefined);
  const style = jsonStyle(text, root);
  const splices: Splice[] = [];
  const used: Used = [];
  let obj: JsonObject = root;
  for (let level = 0; level < PATH.length; level++) {
    const want = PATH[level] as string;
    const found = findMember(obj, want);
    if (!found) {
      splices.push(jsonInsert(text, obj, PATH.slice(level), caPath, style));
      break;
    }
    const { member } = found;
    used.push(member.key);
    if (!found.exact)
      splices.push({ start: member.keyStart, end: member.keyEnd, text: JSON.stringify(want) });
    const value: JsonNode = member.value;
    if (level === PATH.length - 1) {
      if (value.kind === 'object' || value.kind === 'array')
        throw new EditError(
          `${dotted(PATH, level)} in ${WHAT} is ${value.kind === 'array' ? 'a list' : 'an object'}, expected ${edit.expect}`,
        );
      if (value.value !== caPath)
        splices.push({ start: value.start, end: value.end, text: JSON.stringify(caPath) });
      break;
    }
    if (value.kind === 'object' && value.members.length > 0) {
      obj = value;
      continue;
    }
    if (value.kind === 'object' || value.kind === 'null') {
      const indent = lineIndent(text, member.keyStart);
      const eol = eolOf(text, member.keyStart) || style.eol;
      const chain = jsonChain(PATH.slice(level + 1), caPath, indent, isMultiline(text, obj), {
        ...style,
        eol,
      });
      splices.push({ start: value.start, end: value.end, text: chain });
      break;
    }
    throw new EditError(
      `${dotted(PATH, level)} in ${WHAT} is ${describe(value.kind === 'array' ? [] : value.value)}, expected an object`,
    );
  }
  return { out: applySplices(text, splices), used };
}

/** Adds a member at the end of an object, in the object's layout. */
function jsonInsert(
  text: string,
  obj: JsonObject,
  keys: readonly string[],
  value: ConfigValue,
  s: JsonStyle,
): Splice {
  const [first, ...rest] = keys;
  const last = obj.members.at(-1);
  if (!last) {
    // `{}`: a root object is opened up over lines; nested empty objects are handled by the caller.
    const indent = lineIndent(text, obj.start);
    const chain = jsonChain(keys, value, indent, true, s);
    return { start: obj.start, end: obj.end, text: chain };
  }
  const member = `${JSON.stringify(first)}${s.colon}`;
  if (isMultiline(text, obj)) {
    const indent = lineIndent(text, last.keyStart);
    const eol = eolOf(text, last.value.end) || s.eol;
    const chain = jsonChain(rest, value, indent, true, { ...s, eol });
    return { start: last.value.end, end: last.value.end, text: `,${eol}${indent}${member}${chain}` };
  }
  const prev = obj.members.at(-2);
  const sep = prev ? text.slice(prev.value.end, last.keyStart) : ', ';
  return {
    start: last.value.end,
    end: last.value.end,
    text: `${sep}${member}${jsonChain(rest, value, '', false, s)}`,
  };
}

// ---------------------------------------------------------------------------------------- verifying

/** What the edited document must equal: the original with the path renamed, created and set. */
function expected(original: unknown, used: Used, edit: ConfigEdit): unknown {
  const { path: PATH, value: caPath } = edit;
  const copy = structuredClone(original) as Record<string, unknown>;
  let cur = copy;
  for (let level = 0; level < PATH.length; level++) {
    const want = PATH[level] as string;
    const had = used[level];
    const value = had === undefined ? undefined : cur[had];
    if (had !== undefined && had !== want) delete cur[had];
    if (level === PATH.length - 1) {
      cur[want] = caPath;
      break;
    }
    const next = (value ?? {}) as Record<string, unknown>;
    cur[want] = next;
    cur = next;
  }
  return copy;
}

function verify(before: string, after: string, used: Used, edit: ConfigEdit, asJson: boolean): void {
  const read = (t: string): unknown => {
    if (asJson) return JSON.parse(t.replace(/^\uFEFF/, ''));
    const doc = parseDocument(t);
    if (doc.errors[0]) throw doc.errors[0];
    return doc.toJS();
  };
  // A failure here is kubemend's, but it is found on one node's file: that node is blocked with
  // the reason (EditError), the other nodes are planned as usual.
  let got: unknown;
  let want: unknown;
  try {
    got = read(after);
    want = expected(read(before), used, edit);
  } catch (e) {
    throw new EditError(
      `the kubelet config edit does not parse (${(e as Error).message}); please report this`,
    );
  }
  if (!isDeepStrictEqual(got, want))
    throw new EditError('the kubelet config edit does not read back as intended; please report this');
}
