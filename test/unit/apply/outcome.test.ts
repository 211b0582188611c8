import { describe, expect, it } from 'vitest';
import {
  errorExit,
  failedStep,
  failureKind,
  failureReason,
  internalMark,
  outcomeExit,
} from '../../../src/apply/outcome.js';
import { GateError } from '../../../src/apply/restart-gate.js';
import { InternalError, NodeError, UsageError } from '../../../src/errors.js';
import { StepError } from '../../../src/node/remote.js';

const step = new StepError('cp-1', 'backup', 'backup', 1, 'nospace', 'no space left', '');
const gate = new GateError('health: kubelet', 'the kubelet did not come back');
const lost = new NodeError('cp-1', 'connection lost', 'unreachable');

describe('one failure classifier', () => {
  it('a failed step, a gate, a node and a usage error are not bugs; anything else is (exit 70)', () => {
    expect(
      [step, gate, lost, new UsageError('bad'), new TypeError('x'), new InternalError('y')].map(failureKind),
    ).toEqual(['step', 'gate', 'node', 'usage', 'bug', 'bug']);
    expect([step, gate, lost, new UsageError('bad'), new TypeError('x')].map(errorExit)).toEqual([
      3, 3, 3, 2, 70,
    ]);
  });

  it('says "a bug in kubemend" and marks the outcome internal only for a bug', () => {
    expect(failureReason(step)).toBe(step.message);
    expect(internalMark(step)).toEqual({});
    expect(failureReason(new TypeError('undefined is not a function'))).toBe(
      'internal error (a bug in kubemend): undefined is not a function',
    );
    expect(internalMark(new TypeError('x'))).toEqual({ internal: true });
    expect([step, gate, lost, new Error('x')].map(failedStep)).toEqual([
      'backup',
      'health: kubelet',
      'node',
      'internal',
    ]);
  });

  it("a node's outcome maps to its exit code; a bug's mark wins", () => {
    expect(outcomeExit({ node: 'n', status: 'stale', reason: '' })).toBe(4);
    expect(outcomeExit({ node: 'n', status: 'error', reason: '' })).toBe(3);
    expect(outcomeExit({ node: 'n', status: 'error', reason: '', internal: true })).toBe(70);
    expect(outcomeExit({ node: 'n', status: 'rolled-back', reason: '', backup: '', evidence: [] })).toBe(1);
  });
});
