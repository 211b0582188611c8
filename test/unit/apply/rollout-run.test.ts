import { describe, expect, it } from 'vitest';
import type { NodeOutcome, RecoveryResult } from '../../../src/apply/node-outcome.js';
import {
  afterBatch,
  afterRecovery,
  assembleRollout,
  endOfRollout,
  errorLinesFor,
  haltBefore,
  promptAnswer,
} from '../../../src/apply/rollout.js';
import type { NodePlan } from '../../../src/plan/types.js';
import { rolloutEntry } from '../support/rollout-entry.js';

const entry = rolloutEntry(3);
const names = (batches: { plan: NodePlan }[][]) => batches.map((b) => b.map((p) => p.plan.node));
const noCa: NodePlan['blocked'] = [{ control: 'kubelet-client-ca', reason: 'no CA', fix: 'give one' }];

describe('the rollout apply carries out', () => {
  it('control planes first and alone, workers by the playbooks rollout.serial unless --serial; a blocked node is never in a batch', () => {
    const planned = [
      entry('w1', 'change'),
      entry('cp-blocked', 'blocked', { role: 'control-plane', blocked: noCa }),
      entry('w2', 'change'),
      entry('cp1', 'change', { role: 'control-plane' }),
      entry('w-blocked', 'blocked', { blocked: noCa }),
      entry('w3', 'change'),
      entry('w4', 'change'),
      entry('cp2', 'change', { role: 'control-plane' }),
    ];
    const of = (serial: number | undefined) =>
      names(
        assembleRollout(planned, { handled: new Set(), stopped: false, serial, serialOf: (p) => p.serial })
          .batches,
      );
    // No --serial: the playbooks' rollout.serial (3).
    expect(of(undefined)).toEqual([['cp1'], ['cp2'], ['w1', 'w2', 'w3'], ['w4']]);
    // --serial 1 overrides the playbook; control planes stay one at a time at any --serial.
    expect(of(1)).toEqual([['cp1'], ['cp2'], ['w1'], ['w2'], ['w3'], ['w4']]);
    expect(of(10)).toEqual([['cp1'], ['cp2'], ['w1', 'w2', 'w3', 'w4']]);
    expect(of(2).flat()).not.toContain('cp-blocked');
    expect(of(2).flat()).not.toContain('w-blocked');
  });

  it('the recovery pass: a node recovered under a plan made over the dead run is planned again, not reported; a failed rollback stops the rollout before it starts', () => {
    const planned = [entry('c', 'change'), entry('k', 'compliant'), entry('b', 'blocked', { blocked: noCa })];
    const recovered = (node: string): RecoveryResult => ({
      status: 'recovered',
      outcome: { node, status: 'recovered', reason: 'undone', deadRun: `dead-${node}` },
    });
    // This run made its own plan (it can plan again): both recovered nodes are planned again.
    const fresh = afterRecovery(
      planned,
      new Map([
        ['c', recovered('c')],
        ['k', recovered('k')],
        ['b', { status: 'none' }],
      ]),
      true,
    );
    expect(fresh.outcomes).toEqual([]);
    expect([...fresh.again]).toEqual(['c', 'k']);
    expect(fresh.recoveredRuns.get('c')).toBe('dead-c');
    expect(fresh.halt).toBeUndefined();
    // A saved plan cannot be made again: the compliant node's recovery is its outcome.
    const saved = afterRecovery(planned, new Map([['k', recovered('k')]]), false);
    expect(saved.outcomes).toMatchObject([{ node: 'k', status: 'recovered', deadRun: 'dead-k' }]);
    expect([...saved.again]).toEqual([]);

    const failed = afterRecovery(
      planned,
      new Map<string, RecoveryResult>([
        [
          'k',
          {
            status: 'failed',
            outcome: { node: 'k', status: 'rollback-failed', reason: 'x', backup: '/b', manual: [] },
          },
        ],
      ]),
      true,
    );
    expect(failed.halt).toEqual({
      reason: expect.stringMatching(/^recovering a dead run failed/),
      cancelled: false,
    });
    const rollout = assembleRollout(planned, {
      handled: new Set(failed.outcomes.map((o) => o.node)),
      stopped: failed.halt !== undefined,
      serial: undefined,
      serialOf: () => 1,
    });
    expect(rollout.batches).toEqual([]);
    // The nodes it would have changed are in the report, skipped with that reason, and the
    // "did not start" line stands.
    const end = endOfRollout({
      outcomes: [...failed.outcomes, ...rollout.settled],
      toChange: rollout.wouldChange.map((p) => p.plan.node),
      halt: failed.halt,
      interrupted: false,
    });
    expect(end.halt?.reason).toMatch(/^recovering a dead run failed: the rollout did not start/);
    expect(end.notStarted.length).toBeGreaterThan(0);
    expect(end.notStarted.every((o) => o.status === 'skipped' && /did not start/.test(o.reason ?? ''))).toBe(
      true,
    );
  });

  it('before each node: Ctrl-C cancels (exit 130); a passed --not-after stops without cancelling, naming the value given', () => {
    const at = new Date('2026-12-07T20:00:00Z');
    const after = () => new Date('2026-12-07T20:00:01Z');
    expect(haltBefore({ interrupted: true, now: after })).toEqual({
      reason: 'interrupted (Ctrl-C): no further node was started',
      cancelled: true,
    });
    expect(haltBefore({ interrupted: false, notAfter: { at, given: '20:00' }, now: after })).toEqual({
      reason: '--not-after 20:00 has passed: no further node was started',
      cancelled: false,
    });
    expect(
      haltBefore({ interrupted: false, notAfter: { at, given: '20:00' }, now: () => at }),
    ).toBeUndefined();
    // Without --not-after the clock is not even read.
    expect(
      haltBefore({
        interrupted: false,
        now: () => {
          throw new Error('read');
        },
      }),
    ).toBeUndefined();
  });

  it('at the prompt: skip leaves that node skipped, abort cancels the rollout', () => {
    expect(promptAnswer('w1', 'apply')).toEqual({ go: true });
    expect(promptAnswer('w1', 'skip')).toEqual({
      skip: { node: 'w1', status: 'skipped', reason: 'skipped at the prompt' },
    });
    expect(promptAnswer('w1', 'abort')).toEqual({
      halt: { reason: 'aborted at the prompt: no further node was started', cancelled: true },
    });
  });

  it('after a batch: the first node that did not apply cleanly stops the rollout unless --keep-going; a failed rollback always does', () => {
    const ok: NodeOutcome = { node: 'a', status: 'applied', backup: '/b', changed: ['/x'] };
    const same: NodeOutcome = { node: 's', status: 'already-applied', reason: 'same plan' };
    const back: NodeOutcome = {
      node: 'r',
      status: 'rolled-back',
      reason: 'gate',
      backup: '/b',
      evidence: [],
    };
    const lost: NodeOutcome = { node: 'f', status: 'rollback-failed', reason: 'x', backup: '/b', manual: [] };
    const none = new Map<string, string>();
    expect(afterBatch([ok, same], none, false)).toEqual({
      outcomes: [ok, same],
      applied: ['a', 's'],
      failed: [],
    });
    const stopped = afterBatch([ok, back], none, false);
    expect(stopped.halt?.reason).toMatch(/^stopped at the first node that did not apply cleanly/);
    expect(stopped.failed).toEqual(['r']);
    expect(afterBatch([ok, back], none, true).halt).toBeUndefined();
    expect(afterBatch([lost], none, true).halt).toEqual({
      reason: 'a rollback failed: the rollout stopped; recover that node by hand (steps above)',
      cancelled: false,
    });
    // A node applied over a dead run it recovered says so; a rolled-back one does not.
    const overDead = afterBatch(
      [ok, back],
      new Map([
        ['a', 'dead-1'],
        ['r', 'dead-2'],
      ]),
      true,
    );
    expect(overDead.outcomes).toEqual([{ ...ok, recovered: 'dead-1' }, back]);
  });

  it('at the end: unstarted nodes are skipped with the reason, which is dropped when nothing was left; Ctrl-C during the last batch cancels', () => {
    const done: NodeOutcome[] = [{ node: 'a', status: 'applied', backup: '/b', changed: [] }];
    const failedStop = { reason: 'stopped at the first node…', cancelled: false };
    expect(
      endOfRollout({ outcomes: done, toChange: ['a', 'b'], halt: failedStop, interrupted: false }),
    ).toEqual({
      notStarted: [{ node: 'b', status: 'skipped', reason: 'stopped at the first node…' }],
      halt: failedStop,
    });
    // The failure was in the last batch: no node was left unstarted, so no "stopped" line.
    expect(endOfRollout({ outcomes: done, toChange: ['a'], halt: failedStop, interrupted: false })).toEqual({
      notStarted: [],
      halt: undefined,
    });
    const aborted = { reason: 'aborted at the prompt…', cancelled: true };
    expect(endOfRollout({ outcomes: done, toChange: ['a'], halt: aborted, interrupted: false }).halt).toBe(
      aborted,
    );
    expect(
      endOfRollout({ outcomes: done, toChange: ['a'], halt: undefined, interrupted: true }).halt,
    ).toEqual({
      reason: 'interrupted while the last node was in flight: it was finished (or rolled back) first',
      cancelled: true,
    });
  });

  it('an error line names each node that could not be reached or put back, unless the live board already showed it', () => {
    const outcomes: NodeOutcome[] = [
      { node: 'a', status: 'applied', backup: '/b', changed: [] },
      { node: 'u', status: 'error', reason: 'unreachable' },
      { node: 'f', status: 'rollback-failed', reason: 'x', backup: '/b', manual: [] },
      { node: 'r', status: 'rolled-back', reason: 'gate', backup: '/b', evidence: [] },
    ];
    expect(errorLinesFor(outcomes, undefined).map((o) => o.node)).toEqual(['u', 'f']);
    expect(errorLinesFor(outcomes, new Set(['u'])).map((o) => o.node)).toEqual(['f']);
  });
});
