/**
 * Bounded concurrency for per-node work (--concurrency, default 20). One item failing never stops
 * the others: every item runs to completion before anything is reported.
 */

/**
 * Runs fn over items with at most `limit` in flight and returns each item's outcome, in item order.
 * Never rejects (unless fn is not a function); the caller decides what a rejection means.
 */
export async function mapLimitSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  const width = Math.min(items.length, normalizeLimit(limit));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        // Promise.resolve().then: a synchronous throw in fn counts as that item's rejection.
        results[index] = {
          status: 'fulfilled',
          value: await Promise.resolve().then(() => fn(items[index]!, index)),
        };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

/**
 * Like mapLimitSettled, but resolves with the values. fn is expected to catch its own failures
 * (per-node errors belong in results); if some call throws anyway, the other items still run to
 * completion, and then the first error (in item order) is rethrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const settled = await mapLimitSettled(items, limit, fn);
  const values: R[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'rejected') throw outcome.reason;
    values.push(outcome.value);
  }
  return values;
}

function normalizeLimit(limit: number): number {
  if (limit === Infinity) return Number.MAX_SAFE_INTEGER;
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}
