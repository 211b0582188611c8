import type { Io } from './io.js';

/**
 * Live per-node stage display for apply. On a terminal: one line per node of the batch in flight,
 * redrawn in place; otherwise one plain, timestamped log line per stage (for a maintenance-window log).
 */
export class StageBoard {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private readonly live: boolean;

  constructor(private readonly io: Io) {
    this.live = Boolean(io.stderr.isTTY);
  }

  /** `gate`: the stage is a wait with this timeout (shown with the line). */
  update(node: string, text: string, gate?: { timeoutSec: number }): void {
    const line = gate ? `${text} (up to ${gate.timeoutSec} s)` : text;
    if (!this.live) {
      this.io.stderr.write(`${this.io.now().toISOString()} ${node}: ${line}\n`);
      return;
    }
    this.lines.set(node, line);
    this.draw();
  }

  /** Ends the batch: its lines stay on screen as they are; the next batch starts below. */
  endBatch(): void {
    this.lines.clear();
    this.drawn = 0;
  }

  private draw(): void {
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const [node, text] of this.lines) out += `\r\x1b[K  ${node}: ${text}\n`;
    this.drawn = this.lines.size;
    this.io.stderr.write(out);
  }
}
