import { describe, expect, it } from 'vitest';
import { mapLimit, mapLimitSettled } from '../../../src/node/ssh/concurrency.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await tick(ms * 3);
      running--;
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6']);
    expect(peak).toBe(3);
  });

  it('lets every item finish, then rethrows the first failure in item order', async () => {
    const done: number[] = [];
    const boom = new Error('item 1');
    await expect(
      mapLimit([0, 1, 2, 3], 2, async (n) => {
        await tick(n === 1 ? 1 : 10);
        if (n === 1) throw boom;
        if (n === 3) throw new Error('item 3');
        done.push(n);
        return n;
      }),
    ).rejects.toBe(boom);
    expect(done.sort()).toEqual([0, 2]);
  });

  it('handles empty input and odd limits', async () => {
    expect(await mapLimit([], 20, async () => 1)).toEqual([]);
    expect(await mapLimit([1, 2], 0, async (n) => n * 2)).toEqual([2, 4]);
    expect(await mapLimit([1, 2], Infinity, async (n) => n * 2)).toEqual([2, 4]);
    expect(await mapLimit([1, 2], Number.NaN, async (n) => n * 2)).toEqual([2, 4]);
  });
});

describe('mapLimitSettled', () => {
  it('reports each outcome, including synchronous throws', async () => {
    const out = await mapLimitSettled([1, 2, 3], 2, (n) => {
      if (n === 2) throw new Error('sync');
      return Promise.resolve(n);
    });
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(out[1]).toMatchObject({ status: 'rejected', reason: new Error('sync') });
  });
});
