import { boardLine, fitLine } from '../report/board-line.js';
import { visible } from '../report/visible.js';
import type { Io } from './io.js';

interface Active {
  text: string;
  since: number;
  gate?: { timeoutSec: number };
}

/**
 * Live per-node stage display for apply. On a terminal: one line per node in flight with a
 * spinner, the time spent in its stage and, for a wait, its timeout; redrawn in place, and a node
 * that finishes collapses to its result line, which stays. Otherwise one plain, timestamped line
 * per stage (for a maintenance-window log).
 */
export class StageBoard {
  /** Nodes whose result line this board left on the terminal. */
  readonly shown = new Set<string>();
  private readonly active = new Map<string, Active>();
  private readonly live: boolean;
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: Io,
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.live = Boolean(io.stderr.isTTY);
  }

  update(node: string, text: string, gate?: { timeoutSec: number }): void {
    if (!this.live) {
      const wait = gate ? ` (up to ${gate.timeoutSec} s)` : '';
      this.io.stderr.write(`${this.io.now().toISOString()} ${visible(node)}: ${visible(text)}${wait}\n`);
      return;
    }
    const prev = this.active.get(node);
    const since = prev && prev.text === text ? prev.since : this.clock();
    this.active.set(node, { text, since, ...(gate ? { gate } : {}) });
    // The elapsed time must move while a gate waits, with no stage event to redraw it.
    this.timer ??= setInterval(() => {
      this.frame++;
      this.draw();
    }, 250).unref();
    this.draw();
  }

  /**
   * The node is done: its live line becomes `line` (on a terminal) or a timestamped log line.
   * `line` is rendered already (describeOutcome), its node text escaped there.
   */
  finish(node: string, line: string): void {
    if (!this.live) {
      this.io.stderr.write(`${this.io.now().toISOString()} ${line}\n`);
      return;
    }
    this.active.delete(node);
    this.draw(fitLine(line, this.columns()));
    this.shown.add(node);
    if (this.active.size === 0) this.stop();
  }

  /** Ends a batch: the live lines of nodes that did not finish with a result line are erased. */
  endBatch(): void {
    this.stop();
    if (!this.live) return;
    this.active.clear();
    this.draw();
  }

  /** Stops redrawing; the lines on screen stay as they are. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private columns(): number {
    return this.io.stderr.columns || 80;
  }

  /** Erases the live lines, writes `above` (a finished node's line) where they were, then the live lines. */
  private draw(above?: string): void {
    let out = this.drawn > 0 ? `\r\x1b[${this.drawn}A\x1b[J` : '\r\x1b[J';
    if (above !== undefined) out += `${above}\n`;
    const now = this.clock();
    const width = Math.max(0, ...[...this.active.keys()].map((n) => visible(n).length));
    for (const [node, a] of this.active)
      out += `${boardLine({ node, text: a.text, elapsedSec: (now - a.since) / 1000, ...(a.gate ? { gate: a.gate } : {}) }, this.frame, width, this.columns())}\n`;
    this.drawn = this.active.size;
    this.io.stderr.write(out);
  }
}
