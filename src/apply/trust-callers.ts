/**
 * The control planes of the inventory that the run did not select, as callers for the live trust
 * gate (DESIGN.md "Fleet trust": "where a control plane of the cluster is in the inventory"). Found
 * before the rollout with the read-only gather audit uses, and only when the run changes a kubelet
 * whose cluster may have one there: nothing is written or locked on them, and a probe later runs
 * from them exactly as from a selected control plane.
 *
 * Which inventory nodes are read: not in the run, not `role: worker` in the inventory, and in the
 * cluster of such a kubelet as far as the inventory says. A node with an inventory `cluster` is read
 * only when a changed kubelet has that cluster; one without is read only when a changed kubelet's
 * cluster was named by its CA (no `cluster` in the inventory), since only its facts can tell.
 */
import { changesChannel } from '../controls/index.js';
import { clusterOf } from '../fleet/clusters.js';
import type { NodeTarget } from '../inventory/types.js';
import { inspectNodes, type InspectOptions, type Inspection } from '../node/inspect.js';
import type { FleetNode, OutsideCallers } from './trust-gate.js';

/** A changed kubelet the gate must prove, whose callers may be outside the run. */
const needsCallers = (n: FleetNode): boolean =>
  n.plan.status === 'change' &&
  Boolean(n.plan.cluster) &&
  Boolean(n.plan.trust?.kubelet) &&
  changesChannel(n.plan.changes, ['kubelet-trust', 'kubelet-access']);

/**
 * A node the cluster's API lists without a node-role control-plane label (group `role=worker`,
 * cluster/nodes.ts), and no role in the inventory: a worker. Under NodeRestriction a kubelet cannot
 * set node-role.kubernetes.io/* labels on its Node, so no node can make itself read as a caller.
 */
const apiWorker = (t: NodeTarget): boolean =>
  t.role === undefined && (t.groups as readonly string[] | undefined)?.includes('role=worker') === true;

/** Pure: the inventory nodes outside the run that may be control planes of a changed kubelet's cluster. */
export function callerCandidates(run: readonly FleetNode[], inventory: readonly NodeTarget[]): NodeTarget[] {
  const changing = run.filter(needsCallers);
  const named = new Set(changing.flatMap((n) => (n.target.cluster ? [n.target.cluster] : [])));
  const byCa = changing.some((n) => !n.target.cluster);
  const inRun = new Set(run.map((n) => n.plan.node));
  return inventory.filter(
    (t) =>
      !inRun.has(t.name) && t.role !== 'worker' && !apiWorker(t) && (t.cluster ? named.has(t.cluster) : byCa),
  );
}

/** Pure: what the read found: each control plane with its cluster, each node that could not be read. */
export function callersFrom(inspections: readonly Inspection[]): OutsideCallers {
  const out: OutsideCallers = { callers: [], unreached: [] };
  for (const i of inspections) {
    const t = i.target;
    if (!i.ok) {
      out.unreached.push({
        node: t.name,
        ...(t.cluster ? { cluster: t.cluster } : {}),
        why: i.error.message,
      });
      continue;
    }
    const cluster = clusterOf(t.cluster, i.model);
    if (i.model.role === 'control-plane' && cluster)
      out.callers.push({ node: t.name, target: t, hostKey: i.hostKey, cluster: cluster.name });
  }
  return out;
}

/**
 * Reads the candidates (the audit's gather: nothing written) and returns the callers among them.
 * The inventory is loaded only when the run changes a kubelet that needs callers.
 */
export async function findOutsideCallers(
  run: readonly FleetNode[],
  inventory: () => Promise<readonly NodeTarget[]>,
  opts: InspectOptions,
): Promise<{ read: string[]; found: OutsideCallers }> {
  const none = { read: [], found: { callers: [], unreached: [] } };
  if (!run.some(needsCallers)) return none;
  const candidates = callerCandidates(run, await inventory());
  if (candidates.length === 0) return none;
  return { read: candidates.map((t) => t.name), found: callersFrom(await inspectNodes(candidates, opts)) };
}
