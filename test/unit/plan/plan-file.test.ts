import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parsePlanFile } from '../../../src/plan/plan-file.js';

const node = (extra: Record<string, unknown>) => ({
  node: 'w-1',
  host: '10.0.0.21',
  port: 22,
  hostKey: null,
  status: 'compliant',
  changes: [],
  blocked: [],
  ...extra,
});
const planText = (extra: Record<string, unknown>) =>
  JSON.stringify({
    version: 1,
    tool: 'kubemend 0.1.0',
    createdAt: '2026-12-03T00:00:00Z',
    nodes: [node(extra)],
  });

describe('the trust fields of a plan file are input, checked before apply dials anything', () => {
  it('accepts what plan writes', () => {
    const plan = parsePlanFile(
      'p.json',
      planText({
        cluster: 'ca:1a2b3c4d',
        trust: {
          kubelet: { port: 10250, clientCA: 'now' },
        },
      }),
    );
    expect(plan.nodes[0]!.trust?.kubelet?.port).toBe(10250);
  });

  it.each([
    [
      'a port that is not one',
      { trust: { kubelet: { port: 0, clientCA: 'now' } } },
      '/nodes/0/trust/kubelet/port',
    ],
    ['a cluster name with a space', { cluster: 'prod eu' }, '/nodes/0/cluster'],
  ])('refuses %s', (_what, extra, where) => {
    let error: unknown;
    try {
      parsePlanFile('p.json', planText(extra));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).details.join('\n')).toContain(where);
  });
});
