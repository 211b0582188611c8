/**
 * Unified diffs of planned edits, for review and for `plan --diff FILE`. Paths carry the node name
 * (`a/cp-1/etc/kubernetes/manifests/kube-apiserver.yaml`) so one patch can cover many nodes and
 * still apply with `patch -p1` / `git apply` inside a directory holding one folder per node.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

/**
 * Characters quoted in a patch header: what git quotes (control characters, `"` and `\`), and the
 * bidi and invisible format characters that reorder or hide what someone reading the patch sees
 * (git, with its default core.quotePath, quotes every non-ASCII byte; readable UTF-8 stays here).
 */
const NEEDS_QUOTE =
  // eslint-disable-next-line no-control-regex -- quoting control characters is the point
  /[\x00-\x1f\x7f-\x9f"\\\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

/**
 * A header name as git writes it (quote.c, quote_c_style): as it is, or, when it holds a character
 * above, in double quotes with C escapes and octal bytes. `git apply` and GNU patch read it back to
 * the same bytes, and a newline or an escape sequence in a node's path can neither end the header
 * line (a fake diff line) nor reach a terminal that shows the patch.
 */
export function patchName(name: string): string {
  if (!NEEDS_QUOTE.test(name)) return name;
  const named: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\t': '\\t',
    '\n': '\\n',
    '\v': '\\v',
    '\f': '\\f',
    '\r': '\\r',
    '"': '\\"',
    '\\': '\\\\',
  };
  const octal = (ch: string) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  return `"${name.replace(new RegExp(NEEDS_QUOTE.source, 'g'), (ch) => named[ch] ?? octal(ch))}"`;
}

/**
 * The hunks of a diff (everything after the two file lines) per distinct (before, after): plan
 * diffs the same change to the same file on every node of a pool (issue 23). Bounded; large texts
 * are not kept.
 */
const hunksOf = new Map<string, string>();
const MAX_HUNKS = 128;
const MAX_TEXT = 32 * 1024;

function hunks(before: string | null, after: string): string {
  const diff = () => {
    const patch = createTwoFilesPatch('a', 'b', before ?? '', after, undefined, undefined, {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
    });
    // "--- a\n+++ b\n" and then the hunks.
    return patch.slice(patch.indexOf('\n', patch.indexOf('\n') + 1) + 1);
  };
  if ((before?.length ?? 0) > MAX_TEXT || after.length > MAX_TEXT) return diff();
  const key = JSON.stringify([before, after]);
  let found = hunksOf.get(key);
  if (found === undefined) {
    found = diff();
    if (hunksOf.size >= MAX_HUNKS) hunksOf.clear();
    hunksOf.set(key, found);
  }
  return found;
}

/** An empty string when nothing changes; `before: null` means the file is created. */
export function unifiedDiff(node: string, path: string, before: string | null, after: string): string {
  if (before === after) return '';
  const rel = `${node}${path.startsWith('/') ? '' : '/'}${path}`;
  const from = before === null ? '/dev/null' : patchName(`a/${rel}`);
  return `--- ${from}\n+++ ${patchName(`b/${rel}`)}\n${hunks(before, after)}`;
}
