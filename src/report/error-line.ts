import type { Colors } from './colors.js';
import { visible, visibleLines } from './visible.js';

/** Node text on an error line: escaped, and a line break it holds indented, so it cannot fake a line. */
const said = (text: string): string => visibleLines(text).replaceAll('\n', '\n  ');

/**
 * One error line for stderr, about one node: it names the node once (a message that already starts
 * with the name does not get it twice), then what went wrong and, when known, what to do.
 */
export function errorLine(node: string, message: string, c: Colors, fix?: string): string {
  const text = message.startsWith(`${node}: `) ? message.slice(node.length + 2) : message;
  return `${c.magenta('error:')} ${visible(node)}: ${said(text)}${fix ? `\n  fix: ${said(fix)}` : ''}\n`;
}
