// A plan made on a node where a kubemend run died mid-apply: the node may read as compliant (the dead
// run's files are in place), but apply restores that run's backup first. The plan must not say
// "nothing to change" (exit 0) to the reviewer who approves the window.
import { describe, expect, it } from 'vitest';
import { planExitCode } from '../../../src/commands/plan.js';
import type { NodePlan, PlanFile } from '../../../src/plan/types.js';
import { makeColors } from '../../../src/report/colors.js';
import { renderPlanText } from '../../../src/report/plan-render.js';

const node = (extra: Partial<NodePlan> = {}): NodePlan => ({
  node: 'w-1',
  host: '10.0.0.21',
  port: 22,
  hostKey: 'SHA256:x',
  role: 'worker',
  layout: 'kubeadm',
  status: 'compliant',
  changes: [],
  blocked: [],
  ...extra,
});
const planOf = (...nodes: NodePlan[]): PlanFile => ({
  version: 1,
  tool: 'kubemend 0.1.0',
  createdAt: '2026-12-03T03:00:00Z',
  nodes,
});

describe('a plan on top of a dead run', () => {
  it('a compliant node is exit 0; the same node with a dead run is exit 1 and says apply restores first', () => {
    expect(planExitCode(planOf(node()))).toBe(0);
    const dead = planOf(node({ deadRun: { runId: '20261203T010000-abcdef', startedAt: null } }));
    expect(planExitCode(dead)).toBe(1);
    const text = renderPlanText(dead, makeColors(false));
    expect(text).toContain(
      'compliant as it stands, but run 20261203T010000-abcdef died here: apply restores its backup first',
    );
    expect(text).not.toContain('nothing to change');
  });
});
