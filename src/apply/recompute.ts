/**
 * Apply computes each node's plan entry again (pure): the same planner and the same fleet step as
 * `kubemend plan`, on the node's facts gathered under its lock. The other nodes of the plan are
 * judged as they were read at the start of this run with their own plans, that is by the state the
 * plan leaves them in (or, for a node this run failed to change, as it still is), never by a
 * moment in which a node this run just restarted is still settling.
 */
import { runControls } from '../controls/index.js';
import type { Control } from '../controls/types.js';
import type { NodeModel } from '../facts/model.js';
import { clusterOf } from '../fleet/clusters.js';
import { decideFleet, type FleetEntry } from '../fleet/decide.js';
import type { GivenCertificate } from '../fleet/trust.js';
import type { NodeTarget } from '../inventory/types.js';
import type { Playbook } from '../playbook/types.js';
import type { Templates } from '../plan/change.js';
import { planNode } from '../plan/planner.js';
import type { NodePlan } from '../plan/types.js';

export interface PlannerSettings {
  controls: readonly Control[];
  templates: Templates;
  /** The playbook `plan` would choose for the node with this layout. */
  playbookOf: (target: NodeTarget, layout: string | null) => Playbook;
  /** plan --issue-certs, as the node's plan was made. */
  issueCerts: (node: string) => boolean;
  given: readonly GivenCertificate[];
}

/** A node's own plan (before the fleet step) and what the fleet step needs of it. */
export function fleetEntry(
  target: NodeTarget,
  model: NodeModel,
  hostKey: string | null,
  s: PlannerSettings,
  now: Date,
): FleetEntry {
  const node = target.name;
  const playbook = s.playbookOf(target, model.layout);
  const plan = planNode(
    { node, host: target.host, port: target.port, hostKey },
    model,
    runControls(node, model, [...s.controls], now),
    playbook,
    { node, templates: s.templates, ...(s.issueCerts(node) ? { issueCerts: true } : {}) },
    now,
  );
  return { plan, model, playbook, cluster: clusterOf(target.cluster, model) };
}

/**
 * The node's entry as `plan` would write it now: its own plan, then the fleet step with the other
 * nodes of the plan (`others`, in the plan's order; the node's own place is kept). A node this run
 * failed to change (`failed`) counts as it is, not as its plan would leave it.
 */
export function recomputeNode(
  target: NodeTarget,
  model: NodeModel,
  hostKey: string,
  s: PlannerSettings,
  fleet: { order: readonly string[]; others: ReadonlyMap<string, FleetEntry>; failed: ReadonlySet<string> },
  now: Date,
): NodePlan {
  const own = fleetEntry(target, model, hostKey, s, now);
  const entries = fleet.order.flatMap((name): FleetEntry[] => {
    if (name === target.name) return [own];
    const e = fleet.others.get(name);
    if (!e) return [];
    // Not changed after all: its current trust, not its planned one, is what the node meets.
    return fleet.failed.has(name) ? [{ ...e, plan: { ...e.plan, status: 'blocked' } }] : [e];
  });
  if (!fleet.order.includes(target.name)) entries.push(own);
  return decideFleet(entries, s.given).get(target.name)!;
}
