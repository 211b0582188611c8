/**
 * The fleet step as audit and plan run it on the current state (pure): each node's member as it
 * runs now, the trust judgement of those, and its warnings put on the results they are about.
 */
import { controlById } from '../controls/index.js';
import type { AuditResult } from '../controls/types.js';
import type { NodeModel } from '../facts/model.js';
import { clusterOf, type ClusterId } from './clusters.js';
import { currentTrust, fleetMember } from './members.js';
import { judgeFleet, type FleetMember, type FleetVerdict, type GivenCertificate } from './trust.js';

/**
 * What the fleet step needs of one node (its cluster, and as it runs now the kubelet's client CA and
 * the kube-apiserver's kubelet client certificate): small, kept when the node's facts are dropped.
 * `model` is undefined for a node that could not be read.
 */
export function memberNow(
  node: string,
  given: string | undefined,
  model: NodeModel | undefined,
): { cluster: ClusterId | undefined; member?: FleetMember } {
  const cluster = clusterOf(given, model);
  return model ? { cluster, member: fleetMember(node, cluster, currentTrust(model)) } : { cluster };
}

/** The current state's verdict, from each reachable node's member as kept. */
export const judgeCurrent = (
  members: readonly FleetMember[],
  given: readonly GivenCertificate[],
): Map<string, FleetVerdict> => judgeFleet(members, { given, mode: 'audit' });

/**
 * Puts the fleet's warnings on the results they are about: the kubelet's on the control that sets
 * whom the kubelet trusts, the kube-apiserver's on the one that sets the pair it presents.
 */
export function warnResults(results: AuditResult[], verdicts: ReadonlyMap<string, FleetVerdict>): void {
  for (const r of results) {
    const v = verdicts.get(r.node);
    if (!v) continue;
    const channel = controlById(r.control).channel;
    if (channel === 'kubelet-trust') r.warnings.push(...v.kubeletWarnings);
    if (channel === 'apiserver-identity') r.warnings.push(...v.apiserverWarnings);
  }
}
