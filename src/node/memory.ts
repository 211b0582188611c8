/**
 * Memory flat in the number of nodes: what a node's gather left behind is garbage once the node is
 * judged, but V8 lets garbage pile up to a share of the machine's memory before it collects (a
 * 5,000-node run grew to 644 MiB that way). A full collection every so many nodes keeps the heap
 * near what is live (results and small fleet summaries); it costs a few ms per collection, well
 * under 1 ms per node.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Nodes between collections. */
export const NODES_PER_COLLECTION = 100;

let collect: (() => void) | undefined | null;

/** V8's own gc(), without --expose-gc on the command line; null where it cannot be had. */
function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    collect = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/**
 * A full collection now: between the phases of a run (the inventory read, every node read), whose
 * garbage V8 would otherwise keep while the next phase grows the heap (a 5,000-entry inventory's
 * YAML parse leaves about 40 MiB).
 */
export function collectNow(): void {
  collector()?.();
}

/** Counts finished nodes; every NODES_PER_COLLECTION of them, a full collection. */
export function collectingEvery(nodes = NODES_PER_COLLECTION): () => void {
  let done = 0;
  return () => {
    if (++done % nodes === 0) collector()?.();
  };
}
