/**
 * Sets kube-apiserver flags in its static pod manifest by splicing text: only the lines that must
 * change differ afterwards (pitfalls #10). Decisions:
 * - Only the kube-apiserver container is touched: the one named `kube-apiserver`, or whose
 *   command/args run a `kube-apiserver` binary or `hyperkube apiserver`.
 * - An existing flag is corrected in place, in the form it has (`--f=v` or `--f` `v`). When a flag
 *   occurs more than once, every wrong occurrence is corrected: the apiserver uses the last one,
 *   but people and other tools read the first, and a manifest saying two things is a trap.
 * - A missing flag goes into the list holding the other flags (`command`, or `args` as kOps
 *   does), in sorted position when those flags are sorted (kubeadm, kOps), else at the end, written
 *   in the style of its neighbours (quotes, folded `>-` for long items, flow `[a, b]`).
 */
import { memoEdit } from './memo.js';
import { posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, type Document, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { InternalError } from '../errors.js';
import { flagWord } from '../facts/flags.js';
import { assertOneLine, EditError, result, type EditResult } from './result.js';
import {
  applySplices,
  afterLine,
  insertLines,
  lineContentEnd,
  lineStart,
  nextLineStart,
  type Splice,
} from './text.js';
import {
  contentEnd,
  parseOneDocument,
  quoteStyleOf,
  rangeOf,
  renderScalar,
  replaceScalar,
  type QuoteStyle,
} from './yaml-text.js';

export interface FlagSetting {
  /** Flag name, with or without the leading `--`. */
  name: string;
  value: string;
}

const WHAT = 'the manifest';

export const setApiserverFlags: (text: string, flags: readonly FlagSetting[]) => EditResult =
  memoEdit(setFlags);

function setFlags(text: string, flags: readonly FlagSetting[]): EditResult {
  const wanted = flags.map(normalizeFlag);
  let out = text;
  for (const flag of wanted) out = setOneFlag(out, flag);
  if (out !== text) verify(text, out, wanted);
  return result(text, out);
}

function normalizeFlag(flag: FlagSetting): FlagSetting {
  const name = flag.name.replace(/^--?/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) throw new EditError(`not a flag name: ${flag.name}`);
  assertOneLine(`--${name}`, flag.value);
  return { name, value: flag.value };
}

interface ArgItem {
  seq: YAMLSeq;
  /** Index in `seq.items`. */
  index: number;
  /** The scalar, when the item is one. */
  node: Scalar | undefined;
  value: string | undefined;
}

interface ApiserverContainer {
  containerIndex: number;
  container: YAMLMap;
  items: ArgItem[];
  /** Index in `items` where the kube-apiserver's own flags start (after the binary). */
  flagsFrom: number;
  command: YAMLSeq | undefined;
  args: YAMLSeq | undefined;
}

const base = (word: string | undefined) => (word === undefined ? '' : posix.basename(word));
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh']);

function listOf(container: YAMLMap, key: 'command' | 'args', name: string): YAMLSeq | undefined {
  const node = container.get(key, true) as unknown;
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isSeq(node)) throw new EditError(`container ${name}: ${key} is not a list`);
  return node as YAMLSeq;
}

/** Finds the kube-apiserver container and where its flags are. */
export function locateApiserver(doc: Document.Parsed): ApiserverContainer {
  const root = doc.contents;
  if (!isMap(root)) throw new EditError(`${WHAT} is not a Pod (no top-level mapping)`);
  const kind = root.get('kind') as unknown;
  if (kind !== undefined && kind !== 'Pod') throw new EditError(`${WHAT} is a ${String(kind)}, not a Pod`);
  const spec = root.get('spec', true) as unknown;
  const containers = isMap(spec) ? (spec.get('containers', true) as unknown) : undefined;
  if (!isSeq(containers)) throw new EditError(`${WHAT} has no spec.containers list`);
  const names: string[] = [];
  for (const [containerIndex, c] of containers.items.entries()) {
    if (!isMap(c)) continue;
    const name = String(c.get('name') ?? `#${containerIndex + 1}`);
    names.push(name);
    const command = listOf(c, 'command', name);
    const args = listOf(c, 'args', name);
    const items: ArgItem[] = [];
    for (const seq of [command, args]) {
      if (!seq) continue;
      for (const [index, node] of seq.items.entries()) {
        const scalar = isScalar(node) ? (node as Scalar) : undefined;
        const value =
          scalar && scalar.value !== null && typeof scalar.value !== 'object'
            ? String(scalar.value)
            : undefined;
        items.push({ seq, index, node: scalar, value });
      }
    }
    let flagsFrom = -1;
    const bin = items.findIndex((i) => base(i.value) === 'kube-apiserver');
    if (bin >= 0) flagsFrom = bin + 1;
    else {
      const hk = items.findIndex(
        (i, n) =>
          base(i.value) === 'hyperkube' &&
          ['apiserver', 'kube-apiserver'].includes(items[n + 1]?.value ?? ''),
      );
      if (hk >= 0) flagsFrom = hk + 2;
    }
    const shell = SHELLS.has(base(items[0]?.value)) && items.some((i) => i.value === '-c');
    const named = name === 'kube-apiserver';
    const scriptRunsIt = shell && items.some((i) => /\bkube-apiserver\b|\bhyperkube\b/.test(i.value ?? ''));
    if (shell && (named || scriptRunsIt))
      throw new EditError(
        `container ${name} starts the kube-apiserver through a shell (sh -c); kubemend does not edit inside scripts, change the flags by hand`,
      );
    if (flagsFrom < 0 && named) flagsFrom = 0;
    if (flagsFrom >= 0) return { containerIndex, container: c, items, flagsFrom, command, args };
  }
  throw new EditError(
    `${WHAT} has no kube-apiserver container${names.length ? ` (containers: ${names.join(', ')})` : ''}`,
  );
}

interface Occurrence {
  /** The item holding `--name` or `--name=value`. */
  flag: ArgItem;
  /** The separate value item of the `--name value` form. */
  valueItem: ArgItem | undefined;
  value: string;
}

function occurrences(c: ApiserverContainer, name: string): Occurrence[] {
  const found: Occurrence[] = [];
  for (let i = c.flagsFrom; i < c.items.length; i++) {
    const item = c.items[i];
    const v = item?.value;
    if (!item || v === undefined) continue;
    // `--kubelet_client_key` is the same flag to the kube-apiserver (normalised names).
    const word = v.startsWith('--') ? flagWord(v) : undefined;
    if (word?.name !== name) continue;
    if (word.value !== undefined) found.push({ flag: item, valueItem: undefined, value: word.value });
    else {
      // pflag takes the next word as the value; a next word that is itself a flag means the value
      // was forgotten, and the fix is to give this flag its value inline.
      const next = c.items[i + 1];
      const takesNext = next?.node !== undefined && next.value !== undefined && !next.value.startsWith('-');
      found.push({
        flag: item,
        valueItem: takesNext ? next : undefined,
        value: takesNext ? (next.value ?? '') : '',
      });
      if (takesNext) i++;
    }
  }
  return found;
}

function setOneFlag(text: string, flag: FlagSetting): string {
  const doc = parseOneDocument(text, WHAT);
  const c = locateApiserver(doc);
  const found = occurrences(c, flag.name);
  if (found.length > 0) {
    const splices: Splice[] = [];
    for (const o of found) {
      if (o.value === flag.value) continue;
      const target = o.valueItem ?? o.flag;
      const newValue = o.valueItem ? flag.value : `--${flag.name}=${flag.value}`;
      if (!target.node) throw new InternalError('flag item without a scalar node');
      splices.push(replaceScalar(text, target.node, newValue, Boolean(target.seq.flow)));
    }
    return applySplices(text, splices);
  }
  return applySplices(text, [insertFlag(text, c, `--${flag.name}=${flag.value}`, flag.name)]);
}

const flagName = (item: string) => item.replace(/^-+/, '').split('=')[0] ?? '';

function isNonDecreasing(keys: readonly string[]): boolean {
  return keys.every((k, i) => i === 0 || (keys[i - 1] ?? '') <= k);
}

/** Where the new item goes: the list holding the flags, sorted position if they are sorted. */
function insertFlag(text: string, c: ApiserverContainer, item: string, name: string): Splice {
  const region = c.items.slice(c.flagsFrom);
  const lastFlag = region.findLast((i) => i.value?.startsWith('-'));
  const seq = lastFlag?.seq ?? c.items[c.flagsFrom - 1]?.seq ?? c.args ?? c.command;
  if (!seq) throw new EditError(`the kube-apiserver container has neither command nor args`);
  const flagItems = region.filter((i) => i.seq === seq && i.value?.startsWith('-'));
  const values = flagItems.map((i) => i.value ?? '');
  let index = seq.items.length;
  // kubeadm sorts by flag name; kOps sorts whole items (`--etcd-servers-overrides=` before `--etcd-servers=`).
  const byName = isNonDecreasing(values.map(flagName));
  const byItem = isNonDecreasing(values);
  if (flagItems.length > 1 && (byName || byItem)) {
    const key = byName ? name : item;
    const next = flagItems.find((i) => key < (byName ? flagName(i.value ?? '') : (i.value ?? '')));
    if (next) index = next.index;
  }
  return seq.flow ? insertIntoFlowSeq(text, seq, index, item) : insertIntoBlockSeq(text, seq, index, item);
}

type ItemStyle = QuoteStyle | 'BLOCK_FOLDED';

/** Style of the neighbours: the nearest quoted/plain sibling; folded when long and siblings fold. */
function styleFor(text: string, seq: YAMLSeq, index: number, line: (style: QuoteStyle) => string): ItemStyle {
  const scalars = seq.items.map((n) => (isScalar(n) ? (n as Scalar) : undefined));
  const isBlock = (n: Scalar | undefined) => n?.type === 'BLOCK_FOLDED' || n?.type === 'BLOCK_LITERAL';
  let style: QuoteStyle = 'PLAIN';
  for (let d = 0; d < scalars.length; d++) {
    const near = [scalars[index - 1 - d], scalars[index + d]].find((n) => n && !isBlock(n));
    if (near) {
      style = quoteStyleOf(near);
      break;
    }
  }
  // Dumps made by go-yaml (kubectl get -o yaml) fold items longer than the line width; mimic that
  // when the list already does: fold when the new line is longer than every unfolded sibling line.
  if (!seq.flow && scalars.some(isBlock)) {
    const widest = Math.max(
      ...scalars
        .filter((n) => n && !isBlock(n))
        .map((n) => lineContentEnd(text, rangeOf(n as Scalar)[0]) - lineStart(text, rangeOf(n as Scalar)[0])),
    );
    if (line(style).length > widest) return 'BLOCK_FOLDED';
  }
  return style;
}

function insertIntoBlockSeq(text: string, seq: YAMLSeq, index: number, item: string): Splice {
  const ref = seq.items[index > 0 ? index - 1 : index];
  if (!ref) throw new EditError('the kube-apiserver flag list is empty; add the flags by hand');
  const refStart = rangeOf(ref as Scalar)[0];
  const prefix = text.slice(lineStart(text, refStart), refStart);
  if (!/^[ \t]*-[ \t]+$/.test(prefix))
    throw new EditError('the kube-apiserver flag list has an unusual layout; add the flags by hand');
  const style = styleFor(text, seq, index, (s) => prefix + renderScalar(item, s));
  let lines: string[];
  if (style === 'BLOCK_FOLDED') {
    const folded = seq.items.find((n) => isScalar(n) && (n as Scalar).type === 'BLOCK_FOLDED') as Scalar;
    const contentLine = nextLineStart(text, rangeOf(folded)[0]);
    const indent = /^[ \t]*/.exec(text.slice(contentLine))?.[0] ?? '';
    lines = [`${prefix}>-`, `${indent}${item}`];
  } else {
    lines = [prefix + renderScalar(item, style)];
  }
  const pos =
    index > 0
      ? afterLine(text, contentEnd(seq.items[index - 1] as Scalar, refStart))
      : lineStart(text, refStart);
  return insertLines(text, pos, lines);
}

function insertIntoFlowSeq(text: string, seq: YAMLSeq, index: number, item: string): Splice {
  const ends = seq.items.map((n) => rangeOf(n as Scalar));
  const sepAt = (i: number) => {
    const a = ends[i];
    const b = ends[i + 1];
    const sep = a && b ? text.slice(a[1], b[0]) : ', ';
    return sep.includes('#') ? ', ' : sep;
  };
  const style = styleFor(text, seq, index, (s) => renderScalar(item, s, true));
  const rendered = renderScalar(item, style === 'BLOCK_FOLDED' ? 'PLAIN' : style, true);
  if (ends.length === 0) {
    const [start] = rangeOf(seq);
    return { start: start + 1, end: start + 1, text: rendered };
  }
  if (index === 0) {
    const first = ends[0] as [number, number, number];
    return { start: first[0], end: first[0], text: rendered + sepAt(0) };
  }
  const prev = ends[index - 1] as [number, number, number];
  const sep = index < ends.length ? sepAt(index - 1) : sepAt(ends.length - 2);
  return { start: prev[1], end: prev[1], text: sep + rendered };
}

/** The argv of the apiserver container as strings, for verification. */
function argvOf(c: ApiserverContainer): string[] {
  return c.items.map((i) => i.value ?? '\u0000');
}

/** Drops every occurrence of the given flags (and their separate values) from an argv. */
function withoutFlags(argv: readonly string[], from: number, names: readonly string[]): string[] {
  const out = argv.slice(0, from);
  for (let i = from; i < argv.length; i++) {
    const w = argv[i] ?? '';
    const word = w.startsWith('--') ? flagWord(w) : undefined;
    if (word === undefined || !names.includes(word.name)) out.push(w);
    else if (word.value === undefined && argv[i + 1] !== undefined && !(argv[i + 1] ?? '').startsWith('-'))
      i++;
  }
  return out;
}

/**
 * Reads the edited text back: it parses, every flag's effective (last) value is the wanted one,
 * and nothing else in the pod changed. A failure here is a bug in this file, never the user's.
 */
function verify(before: string, after: string, flags: readonly FlagSetting[]): void {
  const oldDoc = parseOneDocument(before, WHAT);
  const newDoc = parseOneDocument(after, WHAT);
  const oldC = locateApiserver(oldDoc);
  const newC = locateApiserver(newDoc);
  const fail = (why: string) => {
    // kubemend's failure, found on one node's file: that node is blocked (EditError), not every plan.
    throw new EditError(`the manifest edit does not read back as intended (${why}); please report this`);
  };
  for (const flag of flags) {
    const last = occurrences(newC, flag.name).at(-1);
    if (last?.value !== flag.value) fail(`--${flag.name}`);
  }
  const names = flags.map((f) => f.name);
  if (
    !isDeepStrictEqual(
      withoutFlags(argvOf(oldC), oldC.flagsFrom, names),
      withoutFlags(argvOf(newC), newC.flagsFrom, names),
    )
  )
    fail('other flags changed');
  const strip = (doc: Document.Parsed, index: number) => {
    const js = doc.toJS() as { spec: { containers: Record<string, unknown>[] } };
    const c = js.spec.containers[index];
    if (c) {
      delete c['command'];
      delete c['args'];
    }
    return js;
  };
  if (
    oldC.containerIndex !== newC.containerIndex ||
    !isDeepStrictEqual(strip(oldDoc, oldC.containerIndex), strip(newDoc, newC.containerIndex))
  )
    fail('the rest of the pod changed');
}
