import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode, YAMLMap } from 'yaml';
import type { Problems } from './problems.js';

/** One key of a YAML map, with where it was written. */
export interface MapEntry {
  key: string;
  keyLine: number;
  /** The value node, aliases resolved; null for `key:` with nothing after it. */
  value: YamlNode | null;
  /** Line of the value, or of the key when the value is empty. */
  line: number;
}

/** A parsed YAML file that can say which line any node came from. */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses text; YAML syntax errors become problems (each with its line) and the result is undefined. */
  static parse(file: string, text: string, problems: Problems): YamlSource | undefined {
    const lines = new LineCounter();
    // uniqueKeys off: a duplicate node name gets kubemend's own message, with both lines.
    const doc = parseDocument(text, {
      lineCounter: lines,
      uniqueKeys: false,
      merge: true,
      prettyErrors: false,
    });
    if (doc.errors.length === 0) return new YamlSource(file, doc, lines);
    for (const error of doc.errors) {
      let line = lines.linePos(error.pos[0]).line;
      let message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      // yaml reports an unclosed bracket or quote where it gave up; point at where it was opened.
      let fix =
        'fix the YAML near this line (indentation, a missing closing bracket or quote, a tab used for indenting)';
      const opened = unclosedStart(doc, text, error.pos[0], message);
      if (opened !== undefined) {
        const openLine = lines.linePos(opened.offset).line;
        if (openLine !== line)
          message = `the ${opened.open} opened on line ${openLine} is not closed by line ${line}`;
        fix = `add the closing ${opened.close} on line ${openLine} (a flow value must be closed before the next key)`;
        line = openLine;
      }
      problems.add(file, line, `YAML syntax error: ${message}`, fix);
    }
    return undefined;
  }

  lineOf(node: YamlNode | null | undefined, fallback = 1): number {
    const offset = node?.range?.[0];
    return offset === undefined ? fallback : this.lines.linePos(offset).line;
  }

  /** Follows `*alias` references; null for an empty value (`key:`, `~`, `null`) or a dangling alias. */
  deref(node: unknown): YamlNode | null {
    if (node === null || node === undefined) return null;
    const target = isAlias(node) ? (node.resolve(this.doc) as YamlNode | undefined) : (node as YamlNode);
    if (target === undefined || (isScalar(target) && target.value === null)) return null;
    return target;
  }

  /** The plain JavaScript value of a node: string, number, boolean, null, array or object. */
  toJs(node: YamlNode | null): unknown {
    if (node === null) return null;
    if (isScalar(node)) return node.value;
    return node.toJS(this.doc) as unknown;
  }

  /**
   * The keys of a map in document order. `<<: *anchor` merges are expanded where they stand, and
   * keys written explicitly win over merged ones, as YAML merge keys do. A key written twice is a
   * problem, reported through onDuplicate (the first one is kept).
   */
  entries(
    map: YAMLMap,
    problems: Problems,
    onDuplicate: (key: string, firstLine: number, line: number) => { message: string; fix: string },
  ): MapEntry[] {
    const explicit = new Map<string, number>();
    const result: MapEntry[] = [];
    const merged: MapEntry[] = [];
    for (const pair of map.items) {
      const keyNode = pair.key as YamlNode | null;
      const keyLine = this.lineOf(keyNode, this.lineOf(map));
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        for (const source of this.mergeSources(pair.value)) {
          for (const entry of this.entries(source, problems, onDuplicate)) merged.push(entry);
        }
        continue;
      }
      const keyValue = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof keyValue !== 'string' && typeof keyValue !== 'number') {
        problems.add(this.file, keyLine, 'a key here is not a plain name', 'write a name, e.g. `cp-1:`');
        continue;
      }
      const key = String(keyValue);
      const first = explicit.get(key);
      if (first !== undefined) {
        const { message, fix } = onDuplicate(key, first, keyLine);
        problems.add(this.file, keyLine, message, fix);
        continue;
      }
      explicit.set(key, keyLine);
      const value = this.deref(pair.value);
      result.push({ key, keyLine, value, line: this.lineOf(value, keyLine) });
    }
    if (merged.length === 0) return result;
    const fromMerge = new Map<string, MapEntry>();
    // The first merge source that has a key wins, as in YAML's `<<: [*a, *b]`.
    for (const entry of merged) if (!fromMerge.has(entry.key)) fromMerge.set(entry.key, entry);
    for (const key of explicit.keys()) fromMerge.delete(key);
    return [...fromMerge.values(), ...result];
  }

  private mergeSources(value: unknown): YAMLMap[] {
    const node = this.deref(value);
    if (isMap(node)) return [node];
    if (isSeq(node)) return node.items.map((item) => this.deref(item)).filter((item) => isMap(item));
    return [];
  }
}

/** The opening bracket or quote that an "end with a }" / "Missing closing quote" error is about. */
function unclosedStart(
  doc: Document.Parsed,
  text: string,
  at: number,
  message: string,
): { offset: number; open: string; close: string } | undefined {
  const want =
    /end with a ([}\]])$/.exec(message)?.[1] === '}'
      ? '{'
      : message.endsWith(']')
        ? '['
        : /closing "quote/.test(message)
          ? '"'
          : /closing 'quote/.test(message)
            ? "'"
            : undefined;
  if (want === undefined) return undefined;
  let best: number | undefined;
  const consider = (_key: unknown, node: { range?: [number, number, number] | null }): void => {
    const start = node.range?.[0];
    if (start !== undefined && start <= at && text[start] === want && (best === undefined || start > best))
      best = start;
  };
  visit(doc, { Map: consider, Seq: consider, Scalar: consider });
  const open = want === '"' || want === "'" ? `${want} quote` : want;
  const close = want === '{' ? '}' : want === '[' ? ']' : want;
  return best === undefined ? undefined : { offset: best, open, close };
}

/** How a value reads in a message: 'abc', 22, true, an empty value, a list, a map. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

export { isMap, isScalar, isSeq };
