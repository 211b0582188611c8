/**
 * Sets one `--flag=value` inside a variable that carries kubelet flags: in an EnvironmentFile
 * (kubeadm-flags.env, /etc/default|sysconfig/kubelet, kubespray's kubelet.env, AL2023's
 * /etc/eks/kubelet/environment) or in a unit's `Environment=` lines. Text is spliced, so quoting,
 * backslash continuations, line endings and a missing final newline stay as they were. Decisions:
 * - Only the variable's last assignment is edited: it replaces the earlier ones entirely.
 * - Every wrong occurrence of the flag in it is corrected (`--f=v` and `--f v` forms); the kubelet
 *   uses the last, but a value stated twice differently misleads readers and other tools.
 * - A missing flag is appended at the end of the value; in a value continued over lines with one
 *   flag per line (kubespray), it gets a line of its own in the same style.
 */
import { flagWord } from '../facts/flags.js';
import { assertOneLine, EditError, result, type EditResult } from './result.js';
import {
  applySplices,
  eolOf,
  insertLines,
  lineContentEnd,
  lineStart,
  nextLineStart,
  type Splice,
} from './text.js';

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkArgs(variable: string, flag: string, value: string): string {
  if (!VARIABLE.test(variable)) throw new EditError(`not a variable name: ${JSON.stringify(variable)}`);
  const name = flag.replace(/^--?/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) throw new EditError(`not a flag name: ${flag}`);
  assertOneLine(`--${name}`, value);
  if (value === '' || /[\s"'\\`$%]/.test(value))
    throw new EditError(`--${name} value ${JSON.stringify(value)} needs quoting; set it by hand`);
  return name;
}

/** A variable's value as it sits in the text: the part between its quotes (if any). */
interface Assignment {
  name: string;
  /** Offsets of the value's content, inside its quotes. */
  start: number;
  end: number;
  /** The quote around the value (`"`, `'`), or '' for an unquoted value. */
  quote: string;
}

interface Token {
  start: number;
  end: number;
  text: string;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** Offset of the quote closing one opened at `open` (backslash escapes only in double quotes). */
function closingQuote(text: string, open: number, limit = text.length): number {
  const q = text[open];
  let i = open + 1;
  while (i < limit && text[i] !== q) i += q === '"' && text[i] === '\\' ? 2 : 1;
  return Math.min(i, limit);
}

/** Whether a backslash at `i` continues the line (it is followed by the line ending). */
const continuesAt = (text: string, i: number) =>
  text[i] === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'));

/** Words of a value, split at whitespace and backslash continuations, quotes kept inside words. */
function tokenize(text: string, start: number, end: number): Token[] {
  const tokens: Token[] = [];
  let i = start;
  while (i < end) {
    if (isSpace(text[i]) || continuesAt(text, i)) {
      i++;
      continue;
    }
    const s = i;
    while (i < end && !isSpace(text[i]) && !continuesAt(text, i)) {
      if (text[i] === "'" || text[i] === '"') i = closingQuote(text, i, end) + 1;
      else i++;
    }
    i = Math.min(i, end);
    tokens.push({ start: s, end: i, text: text.slice(s, i) });
  }
  return tokens;
}

const unquote = (s: string) => (/^(["']).*\1$/s.test(s) ? s.slice(1, -1) : s);

/** Corrects or appends `--name=value` inside an assignment's value. */
function editValue(text: string, a: Assignment, name: string, value: string): Splice[] {
  const tokens = tokenize(text, a.start, a.end);
  const wanted = `--${name}=${value}`;
  const splices: Splice[] = [];
  let found = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    // `--client_ca_file` is the same flag to the kubelet (normalised names).
    const word = t.text.startsWith('--') ? flagWord(t.text) : undefined;
    if (word?.name === name && word.value !== undefined) {
      found = true;
      if (unquote(word.value) !== value) splices.push({ start: t.start, end: t.end, text: wanted });
    } else if (word?.name === name) {
      found = true;
      const next = tokens[i + 1];
      if (next && !next.text.startsWith('-')) {
        if (unquote(next.text) !== value) splices.push({ start: next.start, end: next.end, text: value });
        i++;
      } else splices.push({ start: t.start, end: t.end, text: wanted });
    }
  }
  if (found) return splices;
  const last = tokens.at(-1);
  if (!last) return [{ start: a.start, end: a.end, text: wanted }];
  const multiline = text.slice(a.start, a.end).includes('\n');
  if (!multiline) return [{ start: last.end, end: last.end, text: ` ${wanted}` }];
  // One flag per continued line (kubespray): copy the way the last flag line is written.
  const lastLine = lineStart(text, last.start);
  const indent = lastLine > lineStart(text, a.start) ? (/^[ \t]*/.exec(text.slice(lastLine))?.[0] ?? '') : '';
  const suffix = continuation(text, a, tokens);
  const closingLine = lineStart(text, a.end);
  if (last.end < closingLine) return [insertLines(text, closingLine, [`${indent}${wanted}${suffix}`])];
  const eol = eolOf(text, lineStart(text, closingLine - 1)) || '\n';
  return [{ start: last.end, end: last.end, text: `${suffix}${eol}${indent}${wanted}` }];
}

/** How continued lines end after their last word, e.g. ` \`. */
function continuation(text: string, a: Assignment, tokens: readonly Token[]): string {
  for (const t of [...tokens].reverse()) {
    const lineEnd = lineContentEnd(text, t.end);
    const rest = text.slice(t.end, lineEnd);
    if (lineEnd < a.end && /^[ \t]*\\$/.test(rest)) return rest;
  }
  return ' \\';
}

// ------------------------------------------------------------------------------- EnvironmentFile

// No `export` prefix: systemd ignores such lines, so editing one would change nothing.
const ASSIGN = /[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*/y;

/** Assignments of an EnvironmentFile, in order. */
function envAssignments(text: string): Assignment[] {
  const out: Assignment[] = [];
  let pos = 0;
  while (pos < text.length) {
    const first = text.slice(pos, lineContentEnd(text, pos)).trimStart();
    ASSIGN.lastIndex = pos;
    const m = first.startsWith('#') || first.startsWith(';') ? null : ASSIGN.exec(text);
    if (!m) {
      pos = nextLineStart(text, pos);
      continue;
    }
    const valueStart = pos + m[0].length;
    const q = text[valueStart];
    let start = valueStart;
    let end: number;
    let after: number;
    if (q === '"' || q === "'") {
      start = valueStart + 1;
      end = closingQuote(text, valueStart);
      if (end >= text.length) throw new EditError(`the value of ${m[1] ?? ''} has no closing ${q}`);
      after = end + 1;
    } else {
      end = valueStart;
      for (;;) {
        end = lineContentEnd(text, end);
        if (text[end - 1] !== '\\' || end >= text.length) break;
        end = nextLineStart(text, end);
      }
      while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
      after = end;
    }
    out.push({ name: m[1] ?? '', start, end, quote: q === '"' || q === "'" ? q : '' });
    pos = nextLineStart(text, Math.min(after, text.length));
  }
  return out;
}

export function setFlagInEnvFile(text: string, variable: string, flag: string, value: string): EditResult {
  const name = checkArgs(variable, flag, value);
  const all = envAssignments(text);
  const target = all.findLast((a) => a.name === variable);
  if (target) return result(text, applySplices(text, editValue(text, target, name, value)));
  const q = all.at(-1)?.quote ?? '"';
  return result(
    text,
    applySplices(text, [insertLines(text, text.length, [`${variable}=${q}--${name}=${value}${q}`])]),
  );
}

// -------------------------------------------------------------------------------- unit Environment=

const DIRECTIVE = /[ \t]*Environment[ \t]*=[ \t]*/y;

/** Assignments made by `Environment=` lines in a unit's [Service] section, in order. */
function unitAssignments(text: string): Assignment[] {
  const out: Assignment[] = [];
  let section = '';
  for (let pos = 0; pos < text.length;) {
    const line = text.slice(pos, lineContentEnd(text, pos)).trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) section = header[1] ?? '';
    DIRECTIVE.lastIndex = pos;
    const m = section === 'Service' && !/^[#;]/.test(line) ? DIRECTIVE.exec(text) : null;
    if (!m) {
      pos = nextLineStart(text, pos);
      continue;
    }
    // The directive runs to the end of its line, or further over backslash continuations.
    let end = pos + m[0].length;
    for (;;) {
      end = lineContentEnd(text, end);
      if (text[end - 1] !== '\\' || end >= text.length) break;
      end = nextLineStart(text, end);
    }
    let i = pos + m[0].length;
    // An empty `Environment=` resets every assignment made before it.
    if (/^[ \t]*$/.test(text.slice(i, end))) out.length = 0;
    while (i < end) {
      if (isSpace(text[i]) || continuesAt(text, i)) {
        i++;
        continue;
      }
      const q = text[i];
      if (q === '"' || q === "'") {
        // "NAME=value with spaces"
        const close = closingQuote(text, i, end);
        if (close >= end) throw new EditError(`an Environment= line has no closing ${q}`);
        const eq = text.indexOf('=', i);
        if (eq > i && eq < close)
          out.push({ name: text.slice(i + 1, eq), start: eq + 1, end: close, quote: q });
        i = close + 1;
        continue;
      }
      const eq = text.indexOf('=', i);
      let j = i;
      while (j < end && !isSpace(text[j])) j++;
      if (eq < 0 || eq >= j) {
        i = j;
        continue;
      }
      const vq = text[eq + 1];
      if (vq === '"' || vq === "'") {
        // NAME="value with spaces"
        const close = closingQuote(text, eq + 1, end);
        if (close >= end) throw new EditError(`an Environment= line has no closing ${vq}`);
        out.push({ name: text.slice(i, eq), start: eq + 2, end: close, quote: vq });
        i = close + 1;
      } else {
        out.push({ name: text.slice(i, eq), start: eq + 1, end: j, quote: '' });
        i = j;
      }
    }
    pos = nextLineStart(text, end);
  }
  return out;
}

export function setFlagInUnitEnvironment(
  text: string,
  variable: string,
  flag: string,
  value: string,
): EditResult {
  const name = checkArgs(variable, flag, value);
  const target = unitAssignments(text).findLast((a) => a.name === variable);
  if (!target) throw new EditError(`no Environment= line in the [Service] section sets ${variable}`);
  const edits = editValue(text, target, name, value);
  const after = applySplices(text, edits);
  if (target.quote === '') {
    // `Environment=NAME=value` cannot hold a space: quote the assignment once it has two words.
    const newEnd = target.end + edits.reduce((d, e) => d + e.text.length - (e.end - e.start), 0);
    if (/\s/.test(after.slice(target.start, newEnd))) {
      const nameStart = target.start - variable.length - 1;
      return result(
        text,
        `${after.slice(0, nameStart)}"${after.slice(nameStart, newEnd)}"${after.slice(newEnd)}`,
      );
    }
  }
  return result(text, after);
}

// ------------------------------------------------------------------------------- drop-in rendering

/** A value inside `Environment="…"`: backslash and double quote escaped, `%` (a specifier) doubled. */
const escapeSystemd = (value: string) => value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%');

/**
 * A systemd drop-in setting `variable` (from `templates/kubelet-env.dropin.conf`), for a kubelet
 * whose ExecStart= expands a variable nobody sets, e.g. `$KUBELET_EXTRA_ARGS`. `value` is the
 * whole value, e.g. `--client-ca-file=/etc/kubernetes/pki/ca.crt`.
 */
export function renderSystemdEnvDropIn(template: string, variable: string, value: string): string {
  if (!VARIABLE.test(variable)) throw new EditError(`not a variable name: ${JSON.stringify(variable)}`);
  assertOneLine(variable, value);
  if (!/\{\{\s*variable\s*\}\}/.test(template) || !/\{\{\s*value\s*\}\}/.test(template))
    throw new EditError('the systemd drop-in template needs {{variable}} and {{value}} placeholders');
  const escaped = escapeSystemd(value);
  const out = template
    .replace(/\{\{\s*variable\s*\}\}/g, () => variable)
    .replace(/\{\{\s*value\s*\}\}/g, () => escaped);
  const set = unitAssignments(out).findLast((a) => a.name === variable);
  if (!set || set.quote !== '"' || out.slice(set.start, set.end) !== escaped)
    throw new EditError(
      `the systemd drop-in template must set ${variable} in an Environment="…" line under [Service]`,
    );
  return out;
}
