import { visible, visibleLines } from './visible.js';

/**
 * Node text in a Markdown ticket is shown, never interpreted: no emphasis, link, image, heading,
 * table cell break or raw HTML (`<img src=x onerror=…>`, `<details>`) can come from a node. Control
 * characters are escaped first (visible.ts), so a value is always one line.
 */

/**
 * Prose and table cells: the punctuation that starts emphasis, code, links, headings, strikethrough
 * or a cell is backslash-escaped; `<`, `>` and `&` become entities, so no tag and no entity of the
 * node's survives. Characters that matter only at a line's start (`-`, `+`, `>`) need nothing more:
 * node text never starts a line, since its newlines are escaped.
 */
export function mdText(text: string): string {
  return visible(text)
    .replace(/[\\`*_[\]#|~]/g, (ch) => `\\${ch}`)
    .replace(/[<>&]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[ch] ?? ch);
}

/** The longest run of backticks in `text`. */
function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}

/**
 * An inline code span holding `text` exactly (after control escapes): delimited by one backtick
 * more than the longest run inside, padded when it starts or ends with a backtick. Inside a code
 * span nothing is Markdown or HTML. In a table cell, `|` still ends the cell (GFM), so it is
 * escaped there; GFM turns `\|` back into `|` inside the span.
 */
export function mdCode(text: string, opts: { inTable?: boolean } = {}): string {
  const body = visible(text);
  const fence = '`'.repeat(longestBacktickRun(body) + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  const span = `${fence}${pad}${body}${pad}${fence}`;
  return opts.inTable ? span.replaceAll('|', '\\|') : span;
}

/**
 * A fenced code block holding `text` (a diff): the fence is longer than any backtick run in it, so
 * no line inside (a "```" line in a config file) can close it and let the next line ("# LGTM -
 * approved") render as Markdown.
 */
export function mdFence(text: string, info = ''): string[] {
  const body = visibleLines(text);
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(body) + 1));
  return [`${fence}${info}`, body, fence];
}
