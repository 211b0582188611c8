/**
 * Plan's decide step (pure): each node audited and planned from its facts as read, then the plan
 * file with the fleet step (every node's plan judged together). commands/plan.ts reads the nodes,
 * chooses their playbooks, and writes; nothing here does I/O.
 */
import { runControls } from '../controls/index.js';
import type { AuditResult, Control } from '../controls/types.js';
import { ExitCode, worstExit, type NodeError } from '../errors.js';
import { deadRunOf, deadRunWarning } from '../facts/kubemend-state.js';
import { jsonCopy, keptCopy, type NodeRead } from '../facts/node-read.js';
import { decideSummaries, fleetSummary, type FleetSummary } from '../fleet/decide.js';
import type { FleetMember, GivenCertificate } from '../fleet/trust.js';
import type { NodeTarget } from '../inventory/types.js';
import type { Playbook } from '../playbook/types.js';
import type { CurrentMember, FleetWarn } from '../report/audit-build.js';
import { TOOL } from '../version.js';
import type { Templates } from './change.js';
import { planNode } from './planner.js';
import type { NodePlan, PlanFile } from './types.js';

/** What plan keeps of one node: its plan before the fleet step, its results, its fleet summaries. */
export interface PlannedNode<R extends NodeRead = NodeRead> {
  target: NodeTarget;
  plan: NodePlan;
  results: AuditResult[];
  error?: NodeError;
  /** The node as it runs now (audit's fleet warnings) and as planned (the plan's fleet step). */
  current?: FleetMember;
  fleet?: FleetSummary;
  /** Only for apply, which goes on with the node's facts. */
  inspection?: R;
}

export interface PlanNodeContext {
  controls: readonly Control[];
  templates: Templates;
  issueCerts?: boolean;
  /** When the node is judged (each node at the time it was read). */
  now: Date;
  /** The node's playbook (asked only of a node that was read). */
  playbook: (model: Extract<NodeRead, { ok: true }>['model']) => Playbook;
  current: CurrentMember;
  /** Keep the node's facts (apply); otherwise what is returned holds none of them. */
  keep: boolean;
  /** The node's results, judged already (the session, which shows them as its audit too): not run again. */
  judged?: readonly AuditResult[];
  /**
   * false: the node's audit results are not kept (results stays empty): only the Markdown ticket,
   * apply and the session show them, and they are as large again as the plan itself.
   */
  keepResults?: boolean;
}

/** A node read once and judged once (the session): its audit and its plan are both made from `judged`. */
export interface JudgedRead<R extends NodeRead = NodeRead> {
  read: R;
  /** When it was read and judged. */
  at: Date;
  /** The selected controls' results, in their order (none for a node that could not be read). */
  judged: AuditResult[];
}

/** Runs the controls once on a node as read. */
export const judgeRead = <R extends NodeRead>(
  read: R,
  controls: readonly Control[],
  at: Date,
): JudgedRead<R> => ({
  read,
  at,
  judged: read.ok ? runControls(read.target.name, read.model, controls, at) : [],
});

/** More controls on a node already judged: only they run, on the facts already read. */
export const judgeMore = <R extends NodeRead>(j: JudgedRead<R>, more: readonly Control[]): JudgedRead<R> => ({
  ...j,
  judged: [...j.judged, ...judgeRead(j.read, more, j.at).judged],
});

/** Audits and plans one node from its facts; what is returned holds no facts (unless kept). */
export function planRead<R extends NodeRead>(i: R, ctx: PlanNodeContext): PlannedNode<R> {
  const id = {
    node: i.target.name,
    host: i.target.host,
    port: i.target.port,
    hostKey: i.ok ? i.hostKey : null,
  };
  const kept = ctx.keep ? { inspection: i } : {};
  if (!i.ok)
    return {
      target: i.target,
      plan: {
        ...id,
        role: i.target.role ?? null,
        layout: i.target.layout ?? null,
        status: 'error',
        changes: [],
        blocked: [],
        error: i.error.message,
      },
      results: [],
      error: i.error,
      ...kept,
    };
  const { cluster, member } = ctx.current;
  const playbook = ctx.playbook(i.model);
  // Copied when given: the caller's results stay as they were (the fleet step adds warnings to these).
  const judged = ctx.judged
    ? jsonCopy([...ctx.judged])
    : runControls(i.target.name, i.model, ctx.controls, ctx.now);
  const planned = planNode(
    id,
    i.model,
    judged,
    playbook,
    { node: i.target.name, templates: ctx.templates, ...(ctx.issueCerts ? { issueCerts: true } : {}) },
    ctx.now,
  );
  const dead = deadRunOf(i.model.facts);
  const made = dead
    ? {
        ...planned,
        warnings: [deadRunWarning(i.target.name, dead), ...(planned.warnings ?? [])],
        deadRun: dead,
      }
    : planned;
  // Without the facts kept: copies that hold no slice of the node's gathered output.
  const plan = ctx.keep ? made : keptCopy(made);
  const withResults = ctx.keepResults !== false;
  const results = !withResults ? [] : ctx.keep ? judged : keptCopy(judged);
  return {
    target: i.target,
    plan,
    results,
    // Audit's fleet warnings go on the results only.
    ...(member && withResults ? { current: member } : {}),
    fleet: fleetSummary({ plan, model: i.model, playbook, cluster }),
    ...kept,
  };
}

/**
 * The plan file from what was kept of each node (in inventory order): the fleet step judges the
 * whole selection's plans together (fleet/decide.ts), and audit's fleet warnings go on the results.
 */
export function planFileOf(
  planned: readonly PlannedNode<NodeRead>[],
  opts: {
    createdAt: Date;
    controls: readonly Control[];
    given: readonly GivenCertificate[];
    fleetWarn: FleetWarn;
  },
): { plan: PlanFile; results: AuditResult[] } {
  const audited = planned.flatMap((p) => p.results);
  const decided = decideSummaries(
    planned.flatMap((p) => p.fleet ?? []),
    opts.given,
  );
  opts.fleetWarn(
    audited,
    planned.flatMap((p) => p.current ?? []),
  );
  return {
    plan: {
      version: 1,
      tool: TOOL,
      createdAt: opts.createdAt.toISOString(),
      // apply computes each node's entry again, with the same controls.
      controls: opts.controls.map((c) => c.id),
      nodes: planned.map((p) => decided.get(p.plan.node) ?? p.plan),
    },
    results: audited,
  };
}

/** 3 when a node could not be read; 1 when a node has something to change, is blocked, or holds a dead run. */
export function planExitCode(plan: PlanFile): ExitCode {
  return worstExit([
    plan.nodes.some((n) => n.status === 'error') ? ExitCode.unreachable : ExitCode.ok,
    // A dead run's record: apply restores that run's backup first, so "nothing to change" (0) would be untrue.
    plan.nodes.some((n) => n.status === 'change' || n.status === 'blocked' || n.deadRun)
      ? ExitCode.findings
      : ExitCode.ok,
  ]);
}
