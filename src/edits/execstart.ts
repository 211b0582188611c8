/**
 * Adds or corrects one `--flag=value` on a systemd unit's ExecStart= line: for kubelets configured
 * only on their command line (kubeadm's external-etcd drop-in, hand-written units), where no
 * environment variable carries the flags. Text is spliced: continuation lines, quoting, comments
 * and every other line stay byte-identical. Decisions:
 * - The directive edited is the last non-empty ExecStart= of the [Service] section (the one this
 *   file leaves in force; an empty ExecStart= resets the list).
 * - A flag already on the line (`--f=v`, `"--f=v"`, `--f v`) is corrected where it is written.
 * - A missing flag is added as one line of its own before the last line when the command is
 *   continued with one flag per line, else at the end of the last line: a one-line diff either way.
 * - After the edit the words are read again: they must be the old words with only that flag added
 *   or changed, or the edit is refused (a wrapper such as `sh -c "…"` would hide the kubelet's own
 *   arguments inside one word).
 */
import { flagWord, parseFlags } from '../facts/flags.js';
import { expandExecStart } from '../facts/systemd.js';
import { escapeExecStartWord, runWord } from '../facts/systemd-escapes.js';
import { assertOneLine, EditError, result, type EditResult } from './result.js';
import { applySplices, lineContentEnd, lineStart, nextLineStart, type Splice } from './text.js';

interface Token {
  start: number;
  end: number;
  text: string;
}

/** The value of an ExecStart= directive: its offsets, and its words with their offsets. */
interface Directive {
  start: number;
  end: number;
  tokens: Token[];
}

const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

/** Where each physical line of a directive continued with backslashes holds content. */
function directiveAt(text: string, valueStart: number): Directive {
  const tokens: Token[] = [];
  let pos = valueStart;
  let end = valueStart;
  for (;;) {
    const lineEnd = lineContentEnd(text, pos);
    const body = text.slice(pos, lineEnd);
    const continued = body.endsWith('\\');
    const isComment = pos !== valueStart && /^[ \t]*[#;]/.test(body);
    if (!isComment) {
      const contentEnd = continued ? lineEnd - 1 : lineEnd;
      let i = pos;
      while (i < contentEnd) {
        if (isBlank(text[i])) {
          i++;
          continue;
        }
        const s = i;
        while (i < contentEnd && !isBlank(text[i])) {
          const q = text[i];
          if (q === '"' || q === "'") {
            let j = i + 1;
            while (j < contentEnd && text[j] !== q) j += text[j] === '\\' ? 2 : 1;
            if (j >= contentEnd) throw new EditError(`the ExecStart= line has no closing ${q} on its line`);
            i = j + 1;
          } else i += text[i] === '\\' ? 2 : 1;
        }
        tokens.push({ start: s, end: Math.min(i, contentEnd), text: text.slice(s, Math.min(i, contentEnd)) });
      }
      end = contentEnd;
    }
    if (!continued && !isComment) break;
    if (lineEnd >= text.length) break;
    pos = nextLineStart(text, lineEnd);
  }
  return { start: valueStart, end, tokens };
}

/** The last non-empty ExecStart= of the [Service] section, or undefined (none, or reset). */
function findExecStart(text: string): Directive | undefined {
  let section = '';
  let found: Directive | undefined;
  for (let pos = 0; pos < text.length;) {
    const lineEnd = lineContentEnd(text, pos);
    const line = text.slice(pos, lineEnd).trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) section = header[1] ?? '';
    const m = /^[ \t]*ExecStart[ \t]*=[ \t]*/.exec(text.slice(pos, lineEnd));
    if (section === 'Service' && m && !/^[#;]/.test(line)) {
      const d = directiveAt(text, pos + m[0].length);
      found = d.tokens.length > 0 ? d : undefined;
      pos = nextLineStart(text, Math.max(d.end, lineEnd));
      continue;
    }
    pos = nextLineStart(text, lineEnd);
  }
  return found;
}

/** The command's words as the command gets them (specifiers, escapes and `$$` undone; prefixes such as `-` dropped). */
const wordsOf = (d: Directive) =>
  expandExecStart({ line: d.tokens.map((t) => t.text).join(' '), source: '' }, new Map()).map((w) => w.text);

/**
 * Sets `--name=value` on the ExecStart= line of a unit file or drop-in. Throws EditError when the
 * file has no ExecStart= in force, or when the result would not be the same command with the flag.
 */
export function setFlagOnExecStart(text: string, flag: string, value: string): EditResult {
  const name = flag.replace(/^--?/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) throw new EditError(`not a flag name: ${flag}`);
  assertOneLine(`--${name}`, value);
  // $, % and \ are escaped as systemd reads them back ($$, %%, \\); whitespace and quotes would need quoting.
  if (value === '' || /[\s"';]/.test(value))
    throw new EditError(`--${name} value ${JSON.stringify(value)} needs quoting; set it by hand`);
  const d = findExecStart(text);
  if (!d) throw new EditError('has no ExecStart= line in its [Service] section');
  // systemd's `|` prefix hands the line to a shell: its words are not the command's words.
  if (/^[-@+!:]*\|/.test(d.tokens[0]?.text ?? ''))
    throw new EditError('its ExecStart= has the "|" prefix, so a shell reads the line; set the flag by hand');
  const before = wordsOf(d);
  if (before.includes(';'))
    throw new EditError('its ExecStart= runs more than one command (a lone ";"); set the flag by hand');
  const written = `--${name}=${escapeExecStartWord(value)}`;
  const unquote = runWord;
  const splices: Splice[] = [];
  let found = false;
  for (let i = 1; i < d.tokens.length; i++) {
    const t = d.tokens[i] as Token;
    const word = unquote(t.text);
    // `--client_ca_file` is the same flag to the kubelet (normalised names).
    const flag = word.startsWith('--') ? flagWord(word) : undefined;
    if (flag?.name === name && flag.value !== undefined) {
      found = true;
      if (flag.value !== value) splices.push({ start: t.start, end: t.end, text: written });
    } else if (flag?.name === name) {
      found = true;
      const next = d.tokens[i + 1];
      // The kubelet's flag parser takes the next word as the value whatever it looks like, so
      // `--name --other` gives --name the value "--other": kubemend does not guess which was meant.
      if (next && unquote(next.text).startsWith('-'))
        throw new EditError(
          `--${name} is followed by ${JSON.stringify(unquote(next.text))}, which the kubelet takes as its value; set --${name} by hand`,
        );
      if (next) {
        if (unquote(next.text) !== value)
          splices.push({ start: next.start, end: next.end, text: escapeExecStartWord(value) });
        i++;
      } else splices.push({ start: t.start, end: t.end, text: written });
    }
  }
  if (!found) splices.push(insertion(text, d, written));
  const out = applySplices(text, splices);
  check(before, findExecStart(out), name, value);
  return result(text, out);
}

/**
 * Where a new flag goes: a line of its own before the last line when that line holds only one flag
 * (one flag per line, the readable style of hand-written units), else the end of the last word.
 */
function insertion(text: string, d: Directive, wanted: string): Splice {
  const last = d.tokens.at(-1) as Token;
  const lastLine = lineStart(text, last.start);
  const onItsOwn =
    lastLine > lineStart(text, d.start) &&
    /^[ \t]*$/.test(text.slice(lastLine, last.start)) &&
    d.tokens.filter((t) => t.start >= lastLine).length === 1 &&
    last.text.startsWith('-');
  if (onItsOwn) {
    // The previous content line's ending, e.g. ` \`, is repeated on the new line.
    const prevEnd = lineContentEnd(text, lineStart(text, lastLine - 1));
    const prev = text.slice(lineStart(text, lastLine - 1), prevEnd);
    const suffix = /[ \t]*\\$/.exec(prev)?.[0] ?? ' \\';
    const indent = /^[ \t]*/.exec(text.slice(lastLine))?.[0] ?? '';
    const eol = text.slice(prevEnd, lastLine);
    return { start: lastLine, end: lastLine, text: `${indent}${wanted}${suffix}${eol}` };
  }
  return { start: last.end, end: last.end, text: ` ${wanted}` };
}

/** The edited command must be the old one with only `--name` added or changed. */
function check(before: string[], after: Directive | undefined, name: string, value: string): void {
  const words = after ? wordsOf(after) : [];
  const others = (ws: string[]) =>
    parseFlags(ws)
      .filter((f) => f.name !== name)
      .map((f) => `${f.name}=${f.value}`);
  const same =
    words[0] === before[0] &&
    JSON.stringify(others(words)) === JSON.stringify(others(before)) &&
    parseFlags(words).findLast((f) => f.name === name)?.value === value &&
    words.filter((w) => flagWord(w)?.name !== name).length ===
      before.filter((w) => flagWord(w)?.name !== name).length;
  if (!same)
    throw new EditError(
      `adding --${name} to its ExecStart= would change more than that flag (a wrapper or quoting kubemend cannot follow); set it by hand`,
    );
}

/** The value of the ExecStart= in force in a unit file, as written (continuation lines included). */
export function execStartText(text: string): string | undefined {
  const d = findExecStart(text);
  return d ? text.slice(d.start, d.end) : undefined;
}

/**
 * kubemend's own drop-in for a kubelet whose ExecStart= sits in a file kubemend must not edit
 * (`templates/kubelet-execstart.dropin.conf`): it resets ExecStart= and repeats the command line
 * of `unitText` (the file that sets it, continuation lines and all) with `--flag=value` set.
 * `source` names that file in the drop-in's comment.
 */
export function renderExecStartDropIn(
  template: string,
  unitText: string,
  source: string,
  flag: string,
  value: string,
): string {
  if (!/^\/[^\r\n\0]*$/.test(source)) throw new EditError(`not a unit file path: ${JSON.stringify(source)}`);
  const command = execStartText(unitText);
  if (command === undefined) throw new EditError(`${source} has no ExecStart= line in its [Service] section`);
  if (!/^ExecStart=\{\{\s*execStart\s*\}\}$/m.test(template) || !/^ExecStart=[ \t]*$/m.test(template))
    throw new EditError(
      'the ExecStart drop-in template needs an `ExecStart=` reset and `ExecStart={{execStart}}`',
    );
  const filled = template
    .replace(/\{\{\s*source\s*\}\}/g, () => source)
    .replace(/\{\{\s*execStart\s*\}\}/g, () => command);
  const out = setFlagOnExecStart(filled, flag, value).content;
  // The drop-in must run what the unit runs, with only the flag added.
  const want = setFlagOnExecStart(unitText, flag, value).content;
  const words = (t: string) => {
    const d = findExecStart(t);
    return d ? wordsOf(d) : [];
  };
  if (JSON.stringify(words(out)) !== JSON.stringify(words(want)))
    throw new EditError(
      'the ExecStart drop-in does not repeat the command line exactly; set the flag by hand',
    );
  return out;
}
