import type { NodePlan } from '../../../src/plan/types.js';

/** A rollout entry (a node's plan and its batch size) for apply's rollout tests. */
export const rolloutEntry =
  (serial: number) =>
  (node: string, status: NodePlan['status'], extra: Partial<NodePlan> = {}) => ({
    plan: {
      node,
      host: '10.0.0.1',
      port: 22,
      hostKey: null,
      role: 'worker' as const,
      layout: 'kubeadm',
      status,
      changes: [],
      blocked: [],
      ...extra,
    } satisfies NodePlan,
    serial,
  });
