/**
 * Line-level helpers for splicing edits into text without touching anything else. Every edit in
 * this folder locates positions first and then replaces ranges, so untouched bytes (comments,
 * quoting, CRLF endings, odd spacing) survive by construction.
 */

export interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping splices (any order). Insertions at the same offset keep their given order. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  const ordered = splices
    .map((s, i) => ({ ...s, i }))
    .sort((a, b) => a.start - b.start || a.end - b.end || a.i - b.i);
  let out = '';
  let at = 0;
  for (const s of ordered) {
    if (s.start < at) throw new Error(`overlapping edits at offset ${s.start}`);
    out += text.slice(at, s.start) + s.text;
    at = s.end;
  }
  return out + text.slice(at);
}

/** Offset of the first character of the line holding `pos`. */
export function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** Offset where the line holding `pos` ends, before its line ending (or the end of the text). */
export function lineContentEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  if (nl < 0) return text.length;
  return nl > 0 && text[nl - 1] === '\r' ? nl - 1 : nl;
}

/**
 * Offset just past the line ending of the line holding the character before `pos` — i.e. where the
 * next line starts once the content ending at `pos` is done. Returns `pos` itself when it is already
 * at a line start.
 */
export function afterLine(text: string, pos: number): number {
  if (pos === 0 || text[pos - 1] === '\n') return pos;
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
}

/** Offset of the next line start after `pos` (text.length when `pos` is on the last line). */
export function nextLineStart(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
}

/** The ending of the line holding `pos`: '\r\n', '\n', or '' on a last line without one. */
export function eolOf(text: string, pos: number): string {
  const nl = text.indexOf('\n', pos);
  if (nl < 0) return '';
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/** The ending most lines use, for text that has to invent one ('\n' for text without any). */
export function dominantEol(text: string): string {
  const lf = (text.match(/\n/g) ?? []).length;
  const crlf = (text.match(/\r\n/g) ?? []).length;
  return crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
}

/**
 * The ending a line inserted at line start `pos` should carry: the ending of the line it follows,
 * else that of the line it precedes, else the file's usual one.
 */
export function eolForInsertAt(text: string, pos: number): string {
  if (pos > 0) {
    const prev = eolOf(text, lineStart(text, pos - 1));
    if (prev) return prev;
  }
  return eolOf(text, pos) || dominantEol(text);
}

/**
 * Inserts whole lines (each without an ending) at a line start, giving each the ending of the line
 * it follows. At the end of a text without a final newline, the previous last line gets one and the
 * inserted block becomes the new unterminated last line, so the file's convention holds.
 */
export function insertLines(text: string, pos: number, lines: readonly string[]): Splice {
  if (lines.length === 0) return { start: pos, end: pos, text: '' };
  if (pos === text.length && pos > 0 && text[pos - 1] !== '\n') {
    const eol = dominantEol(text);
    return { start: pos, end: pos, text: eol + lines.join(eol) };
  }
  const eol = eolForInsertAt(text, pos);
  return { start: pos, end: pos, text: lines.map((l) => l + eol).join('') };
}

/** Column of `pos` on its line. */
export function columnOf(text: string, pos: number): number {
  return pos - lineStart(text, pos);
}

/** Whether the line holding `pos` is blank or a `#` comment only, and its indentation. */
export function lineKind(
  text: string,
  pos: number,
): { kind: 'blank' | 'comment' | 'content'; indent: number } {
  const start = lineStart(text, pos);
  const line = text.slice(start, lineContentEnd(text, start));
  const indent = line.length - line.trimStart().length;
  const rest = line.trimStart();
  if (rest === '') return { kind: 'blank', indent };
  return { kind: rest.startsWith('#') ? 'comment' : 'content', indent };
}
