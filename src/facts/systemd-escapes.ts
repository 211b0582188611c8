/**
 * How systemd reads the text of a unit before it runs anything (systemd.unit(5) "Specifiers",
 * systemd.service(5) "Command lines", src/basic/extract-word.c, escape.c, env-util.c), so that what
 * kubemend reads from a unit can be compared with a running command line, and what it writes reads
 * back as the value it meant:
 * 1. specifiers are resolved in the whole value (`%%` is a percent sign, `%n` the unit name…);
 * 2. the value is split into words: quotes group, C escapes (`\x41`, `\t`, `\\`…) are undone;
 * 3. when the command runs: a word `$NAME` becomes the variable's words, `${NAME}` its value, `$$`
 *    a dollar sign (anything else with a `$` stays as written).
 */

/** Specifiers of a system service that do not depend on the node (the system manager runs as root). */
export function unitSpecifiers(fragmentPath: string | undefined): Map<string, string> {
  const base = (fragmentPath?.split('/').pop() ?? '').replace(/\.d$/, '');
  const name = base.endsWith('.service') ? base : 'kubelet.service';
  const stem = name.slice(0, -'.service'.length);
  const [prefix = stem, instance = ''] = stem.split('@');
  const fragment = fragmentPath ?? '';
  return new Map([
    ['%', '%'],
    ['n', name],
    ['N', stem],
    ['p', prefix],
    ['P', unescapeUnitName(prefix)],
    ['i', instance],
    ['I', unescapeUnitName(instance)],
    ['j', prefix.split('-').pop() ?? prefix],
    ['J', unescapeUnitName(prefix.split('-').pop() ?? prefix)],
    ['f', `/${unescapeUnitName(instance || prefix).replace(/^\/+/, '')}`],
    ['h', '/root'],
    ['u', 'root'],
    ['U', '0'],
    ['g', 'root'],
    ['G', '0'],
    ['s', '/bin/sh'],
    ['t', '/run'],
    ['S', '/var/lib'],
    ['C', '/var/cache'],
    ['L', '/var/log'],
    ['E', '/etc'],
    ['T', '/tmp'],
    ['V', '/var/tmp'],
    ['y', fragment],
    ['Y', fragment.slice(0, Math.max(fragment.lastIndexOf('/'), 0)) || '/'],
  ]);
}

/** systemd-escape's reverse: `-` is `/`, `\xNN` a byte. */
function unescapeUnitName(text: string): string {
  return text
    .replace(/-/g, '/')
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Resolves the `%x` specifiers kubemend knows; one that depends on the node (%H the host name, %m
 * the machine id, %b the boot id…) stays as written, so that only the word holding it differs from
 * what runs (the kubelet's `--hostname-override=%H` on Flatcar).
 */
export function resolveSpecifiers(text: string, specifiers: Map<string, string>): string {
  return text.replace(/%(.)/gs, (whole, key: string) => specifiers.get(key) ?? whole);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
  s: ' ',
};

/** One C escape after a backslash at `text[i]` (cunescape_one): the character and its length, or undefined. */
function cEscape(text: string, i: number): { char: string; length: number } | undefined {
  const c = text[i] ?? '';
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return { char: simple, length: 1 };
  const hex = (n: number) => {
    const digits = text.slice(i + 1, i + 1 + n);
    return digits.length === n && /^[0-9a-fA-F]+$/.test(digits) ? parseInt(digits, 16) : undefined;
  };
  const code =
    c === 'x'
      ? hex(2)
      : c === 'u'
        ? hex(4)
        : c === 'U'
          ? hex(8)
          : /^[0-7]{3}$/.test(text.slice(i, i + 3))
            ? parseInt(text.slice(i, i + 3), 8)
            : undefined;
  // systemd refuses a NUL from an escape, and code points past Unicode.
  if (code === undefined || code === 0 || code > 0x10ffff) return undefined;
  const length = c === 'x' ? 3 : c === 'u' ? 5 : c === 'U' ? 9 : 3;
  return { char: String.fromCodePoint(code), length };
}

/**
 * Splits a value into words as systemd's extract_first_word does: whitespace separates, '…' and
 * "…" group (anywhere in a word), and with `cEscapes` (unit files) backslash escapes are C escapes;
 * without (a variable's value split for `$NAME`), a backslash takes the next character as it is.
 * Unbalanced quoting is the one error: systemd then ignores the whole line.
 */
export function systemdWords(text: string, cEscapes = true): Read<string[]> {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\') {
      if (i + 1 >= text.length) word += c;
      else if (cEscapes) {
        // An unknown escape (`\.` in a grep pattern) keeps its backslash: systemd warns "Ignoring
        // unknown escape sequences" and reads the word again with EXTRACT_CUNESCAPE_RELAX.
        const e = cEscape(text, i + 1);
        word += e ? e.char : `\\${text[i + 1] ?? ''}`;
        i += e ? e.length : 1;
      } else word += text[++i];
      inWord = true;
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return { ok: false, error: `its ${quote} quote is not closed` };
  if (inWord) words.push(word);
  return { ok: true, value: words };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One word of a command as it runs (replace_env_full without extensions): `${NAME}` is the value
 * ('' when unset), `$$` is `$`, any other `$` stays. `used` is told each variable that was set.
 */
export function replaceInWord(
  word: string,
  lookup: (name: string) => string | undefined,
  used?: (name: string) => void,
): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    const next = word[i + 1];
    if (c === '$' && next === '$') {
      out += '$';
      i++;
    } else if (c === '$' && next === '{') {
      const close = word.indexOf('}', i + 2);
      const name = close < 0 ? '' : word.slice(i + 2, close);
      // `${A:-b}` and other shell forms are left as written by systemd here.
      if (close < 0 || name.includes(':')) {
        out += c;
        continue;
      }
      const value = ENV_NAME.test(name) ? lookup(name) : undefined;
      if (value !== undefined) used?.(name);
      out += value ?? '';
      i = close;
    } else out += c;
  }
  return out;
}

/** A variable name when the word is `$NAME` on its own (it then becomes the value's words). */
export function wholeWordVariable(word: string): string | undefined {
  return word.startsWith('$') && word[1] !== '{' && word[1] !== '$' ? word.slice(1) : undefined;
}

export const isEnvName = (name: string): boolean => ENV_NAME.test(name);

/** A value written into an ExecStart= word so that systemd reads it back unchanged (no whitespace or quotes). */
export function escapeExecStartWord(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/** One word of a unit's command line as the command gets it, variables unset (for edits that compare words). */
export function runWord(text: string): string {
  const words = systemdWords(resolveSpecifiers(text, unitSpecifiers(undefined)));
  return words.ok ? replaceInWord(words.value[0] ?? '', () => undefined) : text;
}
