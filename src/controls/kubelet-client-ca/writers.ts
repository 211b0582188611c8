/**
 * Whether a unit's ExecStartPre= command line writes a given file (Flatcar/Typhoon copy the client
 * CA into place so at every start). Read as a shell would split it, never by running it: simple
 * commands between `;`, `&&`, `||`, `|` and `&`; a quoted word with spaces in it (the script of
 * `sh -c '…'`) is split again. A write is a `>`/`>>` redirect to the file, a `tee` operand, the
 * last operand of `cp`/`install`/`mv`, or `dd of=FILE`; reading the file is none of these.
 */

const OPERATORS = new Set([';', '&&', '||', '|', '&']);

/** The words of a shell line, operators and redirects as words of their own, quotes removed. */
function lex(text: string): { word: string; quoted: boolean }[] {
  const out: { word: string; quoted: boolean }[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  const end = () => {
    if (inWord) out.push({ word: cur, quoted });
    cur = '';
    inWord = false;
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      const stop = close < 0 ? text.length : close;
      cur += text.slice(i + 1, stop);
      i = stop;
      inWord = true;
      quoted = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) end();
    else if (c === ';' || c === '&' || c === '|') {
      end();
      const two = text.slice(i, i + 2);
      out.push({ word: two === '&&' || two === '||' ? two : c, quoted: false });
      if (two === '&&' || two === '||') i++;
    } else if (c === '>') {
      // `2>` and `&>` redirect too; the descriptor digits before > belong to the redirect.
      if (/^\d+$/.test(cur)) cur = '';
      end();
      const append = text[i + 1] === '>';
      out.push({ word: append ? '>>' : '>', quoted: false });
      if (append) i++;
    } else {
      cur += c;
      inWord = true;
    }
  }
  end();
  return out;
}

const basename = (w: string) => w.slice(w.lastIndexOf('/') + 1);

function commandWrites(words: readonly string[], path: string): boolean {
  for (let i = 0; i < words.length; i++)
    if ((words[i] === '>' || words[i] === '>>') && words[i + 1] === path) return true;
  const plain = words.filter(
    (w, i) => w !== '>' && w !== '>>' && words[i - 1] !== '>' && words[i - 1] !== '>>',
  );
  // The command's name: after variable assignments and the wrappers that run what follows.
  let k = 0;
  while (
    k < plain.length &&
    (/^[A-Za-z_][A-Za-z0-9_]*=/.test(plain[k] ?? '') ||
      ['exec', 'sudo', 'env', 'command'].includes(basename(plain[k] ?? '')))
  )
    k++;
  const name = basename(plain[k] ?? '');
  const operands = plain.slice(k + 1).filter((w) => !w.startsWith('-'));
  if (name === 'tee') return operands.includes(path);
  if (name === 'cp' || name === 'install' || name === 'mv')
    return operands.length >= 2 && operands.at(-1) === path;
  if (name === 'dd') return plain.slice(k + 1).includes(`of=${path}`);
  return false;
}

export function writesFile(line: string, path: string): boolean {
  const words = lex(line.replace(/^[-@+!:|]+/, ''));
  let command: string[] = [];
  const commands: string[][] = [command];
  for (const w of words) {
    if (!w.quoted && OPERATORS.has(w.word)) commands.push((command = []));
    else command.push(w.word);
    // A quoted script (`sh -c '…'`) is itself a shell line.
    if (w.quoted && /\s|[;&|>]/.test(w.word) && writesFile(w.word, path)) return true;
  }
  return commands.some((c) => commandWrites(c, path));
}
