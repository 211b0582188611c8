/**
 * Node text is data, never terminal control. Everything a node (or a plan file) gives kubemend, a
 * path, a reason, a config comment, an error, is printed through these before it reaches a human:
 * a control character would otherwise set the window title, write the clipboard (OSC 52), move the
 * cursor over lines already printed, or, with a bidi override, reorder what a reviewer reads.
 *
 * Escaped, shown as text: C0 controls (also tab and newline inside one value, so a value cannot
 * make a fake line), DEL, C1 controls (0x9b is a one-byte CSI to some terminals), bidi embeddings,
 * overrides, isolates and marks, zero-width and invisible format characters, the line and
 * paragraph separators, the BOM, and halves of a surrogate pair that have no other half.
 * A backslash is left as it is: unit files end lines with one, and "\x1b" typed by someone is as
 * harmless as text as the escape shown for a real ESC.
 */
const HIDDEN =
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  /[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function shown(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a path, a reason, a name) as printable text on one line. */
export function visible(text: string): string {
  return text.replace(HIDDEN, shown);
}

/**
 * Text that is several lines by design (a diff, a file's content): its newlines and tabs stay,
 * everything else `visible` escapes is escaped on each line.
 */
export function visibleLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.split('\t').map(visible).join('\t'))
    .join('\n');
}

/**
 * A copy of a whole document (an audit report, a plan, an apply summary) with every string made
 * `visible`, and the strings under the keys in `multiLine` made `visibleLines`. Renderers take their
 * input through this once, so a field added later is covered without anyone remembering to.
 */
export function visibleDeep<T>(value: T, multiLine: ReadonlySet<string> = new Set()): T {
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (typeof v === 'string') return key !== undefined && multiLine.has(key) ? visibleLines(v) : visible(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value, undefined) as T;
}

/** The keys of a plan whose text is several lines: the diffs and the new files' content. */
export const PLAN_LINES: ReadonlySet<string> = new Set(['diff', 'content']);
