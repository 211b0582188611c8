import { visible } from '../report/visible.js';
import type { Io } from './io.js';

/**
 * Per-node progress on stderr: one live status line on a terminal, nothing otherwise (a CI log
 * gets the final output only; -v adds plain lines there).
 */
export class Progress {
  private readonly running = new Set<string>();
  private done = 0;
  private errors = 0;
  /** Per-node lines left on the terminal; erased at the end, when the table takes their place. */
  private kept = 0;
  private readonly live: boolean;

  constructor(
    private readonly io: Io,
    private readonly total: number,
    private readonly verb: string,
    private readonly verbose: boolean,
  ) {
    this.live = Boolean(io.stderr.isTTY);
  }

  // Node names and outcomes (an unreachable node's error text) are escaped where they are kept.
  start(name: string): void {
    const node = visible(name);
    this.running.add(node);
    if (this.verbose && !this.live) this.io.stderr.write(`${this.verb} ${node}…\n`);
    this.draw();
  }

  /** `failed`: the node could not be read (counted in the status line: "3 errors"). */
  finish(name: string, result: string, failed = false): void {
    const node = visible(name);
    const outcome = visible(result);
    this.running.delete(node);
    this.done++;
    if (failed) this.errors++;
    if (this.live) {
      this.io.stderr.write(`\r\x1b[K  ${node}: ${outcome}\n`);
      this.kept++;
    } else if (this.verbose) this.io.stderr.write(`${node}: ${outcome}\n`);
    this.draw();
  }

  end(): void {
    if (!this.live) return;
    // Cursor up is clamped at the top of the screen, so lines that scrolled away are no trouble.
    this.io.stderr.write(this.kept > 0 ? `\r\x1b[${this.kept}A\x1b[J` : '\r\x1b[K');
    this.kept = 0;
  }

  private draw(): void {
    if (!this.live) return;
    const names = [...this.running].slice(0, 3).join(', ');
    const more = this.running.size > 3 ? ` +${this.running.size - 3}` : '';
    // "auditing 1,240 of 5,000 nodes, 3 errors (a, b, c +17)"
    const count = (n: number) => n.toLocaleString('en-US');
    const errors = this.errors > 0 ? `, ${count(this.errors)} error${this.errors === 1 ? '' : 's'}` : '';
    this.io.stderr.write(
      `\r\x1b[K${this.verb} ${count(this.done)} of ${count(this.total)} nodes${errors}${names ? ` (${names}${more})` : ''}`,
    );
  }
}
