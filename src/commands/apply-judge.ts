/**
 * How apply judges each node's plan entry before it changes the node: computed again from the
 * node's fresh facts with the planner and the fleet step of `plan` (apply/recompute.ts). The other
 * nodes of the plan are read once, before the first change, and judged by the state the plan leaves
 * them in: a node this run has just restarted is never read while it settles.
 */
import type { ApplyContext } from '../apply/node-apply.js';
import { fleetEntry, recomputeNode, type PlannerSettings } from '../apply/recompute.js';
import { CONTROLS } from '../controls/index.js';
import type { FleetEntry } from '../fleet/decide.js';
import type { NodeTarget } from '../inventory/types.js';
import { inspectNodes, type Inspection } from '../node/inspect.js';
import type { SessionOptions } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import type { Templates } from '../plan/change.js';
import type { NodePlan, PlanFile } from '../plan/types.js';
import type { ApplyOptions } from './apply.js';
import { loadGivenCertificates } from './fleet.js';
import type { Io } from './io.js';
import { choosePlaybook, gatherForTarget } from './plan.js';

export type NodeJudge = (
  target: NodeTarget,
  failed: ReadonlySet<string>,
) => NonNullable<ApplyContext['judge']>;

export async function fleetJudge(a: {
  opts: ApplyOptions;
  io: Io;
  planned: readonly { plan: NodePlan; target: NodeTarget }[];
  /** The plan file and the inventory: its every node is part of the fleet, selected (-l) or not. */
  planFile: { plan: PlanFile; targets: readonly NodeTarget[] } | undefined;
  /** The nodes as this run's own plan read them (no plan file): not read again. */
  inspected: readonly Inspection[] | undefined;
  /** The interactive session's plan: narrowed to the findings the user ticked. */
  narrowed: boolean;
  builtins: readonly Playbook[];
  templates: Templates;
  session: SessionOptions;
}): Promise<NodeJudge> {
  const { opts, planFile } = a;
  const entries = planFile ? planFile.plan.nodes : a.planned.map((p) => p.plan);
  const fleet = planFile
    ? planFile.plan.nodes.flatMap((n) => planFile.targets.filter((t) => t.name === n.node))
    : a.planned.map((p) => p.target);
  const ids = planFile?.plan.controls;
  const settings: PlannerSettings = {
    controls: ids ? CONTROLS.filter((c) => ids.includes(c.id)) : opts.controls,
    templates: a.templates,
    playbookOf: (target, layout) => choosePlaybook(target, layout, opts.playbook, [...a.builtins]),
    // --issue-certs is not in the file: an entry that issues was planned with it.
    issueCerts: (node) => Boolean(entries.find((e) => e.node === node)?.issue?.length),
    given: loadGivenCertificates(opts.apiserverKubeletCert),
  };
  const inspections =
    a.inspected ??
    (await inspectNodes(fleet, {
      ...a.session,
      concurrency: opts.concurrency,
      gather: (t) => gatherForTarget(t, opts.playbook, a.builtins),
    }));
  const read = a.io.now();
  const others = new Map<string, FleetEntry>(
    inspections.flatMap((i) =>
      i.ok ? [[i.target.name, fleetEntry(i.target, i.model, i.hostKey, settings, read)] as const] : [],
    ),
  );
  const order = fleet.map((t) => t.name);
  return (target, failed) => ({
    given: {
      ...(target.layout ? { layout: target.layout } : {}),
      ...(target.role ? { role: target.role } : {}),
    },
    source: planFile ? 'file' : a.narrowed ? 'session' : 'fresh',
    recompute: (model, hostKey) =>
      recomputeNode(target, model, hostKey, settings, { order, others, failed }, a.io.now()),
  });
}
