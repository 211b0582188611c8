import { describe, expect, it } from 'vitest';
import {
  assembleRollout,
  parseNotAfter,
  recoverFirstOf,
  rolloutBatches,
  rolloutSerial,
} from '../../../src/apply/rollout.js';
import { rolloutEntry } from '../support/rollout-entry.js';

const entry = rolloutEntry(2);

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

  it('assembles the rollout from the plan: who changes, in which batches, what the others come to', () => {
    const planned = [
      entry('w1', 'change'),
      entry('ok', 'compliant'),
      entry('cp', 'change', { role: 'control-plane' }),
      entry('no', 'blocked', {
        blocked: [{ control: 'kubelet-client-ca', reason: 'no CA', fix: 'give one' }],
      }),
      entry('w2', 'change'),
      entry('w3', 'change'),
      entry('gone', 'error', { error: 'unreachable' }),
      entry('done', 'change'),
    ];
    const r = assembleRollout(planned, {
      handled: new Set(['done']),
      stopped: false,
      serial: undefined,
      serialOf: (p) => p.serial,
    });
    expect(r.settled).toEqual([
      { node: 'ok', status: 'compliant' },
      { node: 'no', status: 'blocked', reason: 'kubelet-client-ca: no CA' },
      { node: 'gone', status: 'error', reason: 'unreachable' },
    ]);
    expect(r.toChange.map((p) => p.plan.node)).toEqual(['w1', 'cp', 'w2', 'w3']);
    // The playbooks' rollout.serial (2) decides without --serial; the control plane goes first, alone.
    expect(r.batches.map((b) => b.map((p) => p.plan.node))).toEqual([['cp'], ['w1', 'w2'], ['w3']]);
    const stopped = assembleRollout(planned, {
      handled: new Set(),
      stopped: true,
      serial: 1,
      serialOf: () => 1,
    });
    expect(stopped.batches).toEqual([]);
    expect(stopped.settled).toHaveLength(3);
  });

  it('the recovery pass locks the nodes not changed, and those to change over a dead run when they can be planned again', () => {
    const dead = { runId: 'r0', startedAt: null };
    const planned = [
      entry('c', 'change'),
      entry('d', 'change', { deadRun: dead }),
      entry('k', 'compliant'),
      entry('e', 'error'),
    ];
    expect(recoverFirstOf(planned, true).map((p) => p.plan.node)).toEqual(['d', 'k']);
    expect(recoverFirstOf(planned, false).map((p) => p.plan.node)).toEqual(['k']);
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
    const { livezAnswers: answers } = await import('../../../src/apply/health.js');
    const { parseLivez } = await import('../../../src/node/state.js');
    // What apiserver-state printed after `Livez=`, read by node/ and judged by the gate.
    const livezAnswers = (text: string) => answers(parseLivez(text));
    expect(livezAnswers('ok HTTP200')).toBe(true);
    expect(livezAnswers('{"kind":"Status","code":401} HTTP401')).toBe(true);
    expect(livezAnswers('[-]etcd failed HTTP500')).toBe(false);
    expect(livezAnswers(' HTTP000')).toBe(false);
    expect(livezAnswers('ok')).toBe(true); // wget
    expect(livezAnswers('unchecked')).toBe(true); // neither curl nor wget
    expect(livezAnswers('')).toBe(false);
  });
});
