/**
 * The plan's fleet step (pure): every node's plan, judged together. A node whose change would break
 * the kube-apiserver → kubelet channel of its cluster is blocked; what apply's trust gate needs
 * (the cluster, the kubelet's port) is put on each node's plan.
 */
import { kubeletHealth } from '../facts/kubelet-health.js';
import type { NodeModel } from '../facts/model.js';
import type { Playbook } from '../playbook/types.js';
import type { NodePlan } from '../plan/types.js';
import type { ClusterId } from './clusters.js';
import { fleetMember, plannedTrust } from './members.js';
import { judgeFleet, type FleetMember, type FleetVerdict, type GivenCertificate } from './trust.js';

export interface FleetEntry {
  plan: NodePlan;
  model: NodeModel;
  playbook: Playbook;
  cluster: ClusterId | undefined;
}

/** Each node's plan after the fleet step, by node name. */
export function decideFleet(
  entries: readonly FleetEntry[],
  given: readonly GivenCertificate[] = [],
): Map<string, NodePlan> {
  const members = entries.map((e) =>
    fleetMember(e.plan.node, e.cluster, plannedTrust(e.model, e.plan, e.playbook)),
  );
  const verdicts = judgeFleet(members, { given, mode: 'plan' });
  return new Map(
    entries.map((e, i) => {
      const judged = withVerdict(e.plan, verdicts.get(e.plan.node));
      return [e.plan.node, withTrust(judged, e.model, e.cluster, members[i]!)];
    }),
  );
}

/** A node that would break the channel is blocked (its changes stay for the reviewer); warnings added. */
function withVerdict(plan: NodePlan, v: FleetVerdict | undefined): NodePlan {
  if (!v) return plan;
  const warnings = [...(plan.warnings ?? []), ...v.kubeletWarnings, ...v.apiserverWarnings];
  return {
    ...plan,
    ...(v.blocked.length > 0 ? { status: 'blocked' as const, blocked: [...plan.blocked, ...v.blocked] } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** The node's cluster, and its kubelet's port when the kubelet verifies callers (now, or once applied). */
function withTrust(
  plan: NodePlan,
  model: NodeModel,
  cluster: ClusterId | undefined,
  member: FleetMember,
): NodePlan {
  // Apply changes only a node whose status is change: the others stay as they are now.
  const changing = plan.status === 'change';
  const clientCA = member.kubelet?.now?.certs.length
    ? 'now'
    : changing && member.kubelet?.planned
      ? 'planned'
      : undefined;
  const port = model.kubelet.present ? kubeletHealth(model).securePort.port : undefined;
  return {
    ...plan,
    ...(cluster ? { cluster: cluster.name } : {}),
    ...(port && clientCA ? { trust: { kubelet: { port, clientCA } } } : {}),
  };
}
