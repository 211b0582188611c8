import { UsageError } from '../errors.js';
import type { InventoryProblem } from './types.js';

/**
 * Collects every problem found while loading an inventory, so one run reports all of them
 * (validation collects, the edge throws).
 */
export class Problems {
  readonly items: InventoryProblem[] = [];
  private readonly seen = new Set<string>();

  add(file: string, line: number, message: string, fix: string): void {
    // The same ssh config line can be reached from many nodes; say it once.
    const key = `${file}\0${line}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push({ file, line, message, fix });
  }

  get size(): number {
    return this.items.length;
  }
}

/** One line a user reads: `file:line: message — fix`. */
export function formatProblem(problem: InventoryProblem): string {
  return `${problem.file}:${problem.line}: ${problem.message} — ${problem.fix}`;
}

/** The single error thrown for an invalid inventory: inventory problems first, by line, then other files. */
export function inventoryError(inventoryFile: string, problems: readonly InventoryProblem[]): UsageError {
  const sorted = [...problems].sort((a, b) => {
    const fileOrder = Number(a.file !== inventoryFile) - Number(b.file !== inventoryFile);
    if (fileOrder !== 0) return fileOrder;
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    return a.line - b.line;
  });
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new UsageError(`inventory ${inventoryFile} has ${count}`, sorted.map(formatProblem));
}
