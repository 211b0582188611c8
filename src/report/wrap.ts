/**
 * Greedy word wrap to `width` columns: breaks only at spaces, so no word is split. A single word
 * longer than the width (a long path) is broken after a `/`, `-` or `=` where it can be, and only
 * as a last resort in the middle, so that no line is ever wider than the terminal.
 */
export function wrapWords(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (word.length > w) {
      // Its pieces go on lines of their own: a space between them would change the word.
      if (line !== '') lines.push(line);
      const pieces = splitLong(word, w);
      lines.push(...pieces.slice(0, -1));
      line = pieces.at(-1)!;
    } else if (line === '') line = word;
    else if (line.length + 1 + word.length <= w) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

function splitLong(word: string, width: number): string[] {
  const pieces: string[] = [];
  let rest = word;
  while (rest.length > width) {
    const head = rest.slice(0, width);
    const cut = Math.max(head.lastIndexOf('/'), head.lastIndexOf('-'), head.lastIndexOf('='));
    const at = cut > 0 ? cut + 1 : width;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  pieces.push(rest);
  return pieces;
}
