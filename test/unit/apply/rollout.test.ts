import { describe, expect, it } from 'vitest';
import { parseNotAfter, rolloutBatches, rolloutSerial } from '../../../src/apply/rollout.js';

describe('rollout order', () => {
  it("--serial wins; else the smallest rollout.serial of the nodes' playbooks; else 1", () => {
    expect(rolloutSerial(4, [1, 10])).toBe(4);
    expect(rolloutSerial(undefined, [5, 3, 10])).toBe(3);
    expect(rolloutSerial(undefined, [])).toBe(1);
  });

  it('control planes one at a time and first, then the rest in batches of --serial', () => {
    const nodes = [
      { name: 'w1', role: 'worker' as const },
      { name: 'cp1', role: 'control-plane' as const },
      { name: 'w2', role: 'worker' as const },
      { name: 'cp2', role: 'control-plane' as const },
      { name: 'w3', role: null },
    ];
    expect(rolloutBatches(nodes, 2).map((b) => b.map((n) => n.name))).toEqual([
      ['cp1'],
      ['cp2'],
      ['w1', 'w2'],
      ['w3'],
    ]);
    expect(rolloutBatches(nodes, 1)).toHaveLength(5);
  });

  it('--not-after takes a clock time today or an ISO date', () => {
    const now = new Date(2026, 10, 22, 1, 0);
    expect(parseNotAfter('05:30', now)).toEqual(new Date(2026, 10, 22, 5, 30));
    expect(parseNotAfter('2026-11-23T04:00:00Z', now)?.toISOString()).toBe('2026-11-23T04:00:00.000Z');
    expect(parseNotAfter('tomorrow', now)).toBeUndefined();
    expect(parseNotAfter('25:00', now)).toBeUndefined();
  });
});

describe('the kube-apiserver health gate', () => {
  it('accepts /livez ok, and a 401/403 where anonymous requests are disabled; not a 500 or no answer', async () => {
    const { livezAnswers } = await import('../../../src/apply/health.js');
    expect(livezAnswers('ok HTTP200')).toBe(true);
    expect(livezAnswers('{"kind":"Status","code":401} HTTP401')).toBe(true);
    expect(livezAnswers('[-]etcd failed HTTP500')).toBe(false);
    expect(livezAnswers(' HTTP000')).toBe(false);
    expect(livezAnswers('ok')).toBe(true); // wget
    expect(livezAnswers('')).toBe(false);
  });
});
