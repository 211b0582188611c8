import { visible } from './visible.js';

/** Braille spinner frames: one cell wide in every terminal font that has them. */
export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

export interface BoardEntry {
  node: string;
  /** The stage and its detail, e.g. "health: kube-apiserver /livez". */
  text: string;
  /** Seconds spent in this stage so far. */
  elapsedSec: number;
  /** Set when the stage is a wait with a timeout: "12 s of 180 s". */
  gate?: { timeoutSec: number };
}

/** Cuts a line to the terminal's width (one column spare, so the cursor never wraps it). */
export function fitLine(line: string, columns: number): string {
  const max = Math.max(10, columns - 1);
  const chars = [...line];
  return chars.length <= max ? line : `${chars.slice(0, max - 1).join('')}…`;
}

/** One live line of the stage board: "  ⠹ cp-1  health: kube-apiserver /livez · 12 s of 180 s". */
export function boardLine(e: BoardEntry, frame: number, nodeWidth: number, columns: number): string {
  const spin = SPINNER[frame % SPINNER.length]!;
  const secs = Math.floor(e.elapsedSec);
  const time = e.gate ? `${secs} s of ${e.gate.timeoutSec} s` : `${secs} s`;
  // The stage detail can carry node text (a path, a health answer): escaped.
  return fitLine(`  ${spin} ${visible(e.node).padEnd(nodeWidth)}  ${visible(e.text)} · ${time}`, columns);
}
