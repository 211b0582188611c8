/**
 * The plan's fleet step (pure): every node's plan, judged together. A node whose change would break
 * the kube-apiserver → kubelet channel of its cluster is blocked; what apply's trust gate needs
 * (the cluster, the kubelet's port) is put on each node's plan.
 */
import { controlsOnChannel } from '../controls/index.js';
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

/**
 * What the fleet step needs of a node's plan, without the node's facts: its member (now and as
 * planned) and its kubelet's port. Made as the node is planned, so its facts can be dropped.
 */
export interface FleetSummary {
  plan: NodePlan;
  member: FleetMember;
  cluster: ClusterId | undefined;
  /** The kubelet's secure port, when the node runs a kubelet. */
  kubeletPort?: number;
}

export function fleetSummary(e: FleetEntry): FleetSummary {
  const port = e.model.kubelet.present ? kubeletHealth(e.model).securePort.port : undefined;
  const closes = e.plan.status === 'change' ? controlsOnChannel(e.plan.changes, 'kubelet-access') : [];
  const member = fleetMember(e.plan.node, e.cluster, plannedTrust(e.model, e.plan, e.playbook));
  return {
    plan: e.plan,
    member: closes.length > 0 ? { ...member, closes } : member,
    cluster: e.cluster,
    ...(port ? { kubeletPort: port } : {}),
  };
}

/** Each node's plan after the fleet step, by node name. */
export const decideFleet = (
  entries: readonly FleetEntry[],
  given: readonly GivenCertificate[] = [],
): Map<string, NodePlan> => decideSummaries(entries.map(fleetSummary), given);

/** The same, from the summaries kept of each node. */
export function decideSummaries(
  entries: readonly FleetSummary[],
  given: readonly GivenCertificate[] = [],
): Map<string, NodePlan> {
  const verdicts = judgeFleet(
    entries.map((e) => e.member),
    { given, mode: 'plan' },
  );
  return new Map(
    entries.map((e) => {
      const judged = withVerdict(e.plan, verdicts.get(e.plan.node));
      return [e.plan.node, withTrust(judged, e)];
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
function withTrust(plan: NodePlan, { member, cluster, kubeletPort: port }: FleetSummary): NodePlan {
  // Apply changes only a node whose status is change: the others stay as they are now.
  const changing = plan.status === 'change';
  const clientCA = member.kubelet?.now?.certs.length
    ? 'now'
    : changing && member.kubelet?.planned
      ? 'planned'
      : undefined;
  return {
    ...plan,
    ...(cluster ? { cluster: cluster.name } : {}),
    ...(port && clientCA ? { trust: { kubelet: { port, clientCA } } } : {}),
  };
}
