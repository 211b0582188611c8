import { changeControls, controlById } from '../controls/index.js';
import type { AuditResult } from '../controls/types.js';
import { EditError } from '../edits/result.js';
import { NOT_FIXABLE_OVER_SSH, notFixableWarning } from '../facts/layout.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import { factsWithChanges } from '../facts/with-changes.js';
import { unifiedDiff } from '../edits/diff.js';
import type { Playbook } from '../playbook/types.js';
import type { PlanContext, PlanPart } from './change.js';
import type { NodePlan, PlannedChange, RestartKind } from './types.js';

export interface NodeIdentity {
  node: string;
  host: string;
  port: number;
  hostKey: string | null;
}

/** Pure: a node's model and audit results → what kubemend would write there, or why it cannot. */
export function planNode(
  id: NodeIdentity,
  model: NodeModel,
  results: readonly AuditResult[],
  playbook: Playbook,
  ctx: PlanContext,
  now: Date,
): NodePlan {
  const parts: PlanPart[] = [];
  // Each control plans on the node as the changes before it leave it (renovate-style): a second
  // edit of one file starts from the first one's output, and the two become one change below.
  let current = model;
  for (const r of results) {
    const notFixable = model.layout ? NOT_FIXABLE_OVER_SSH.get(model.layout) : undefined;
    if (notFixable) {
      if (r.status === 'fail' || r.status === 'error')
        parts.push({ blocked: [{ control: r.control, ...notFixable }] });
      continue;
    }
    try {
      const part = controlById(r.control).plan(current, r, playbook, ctx, now);
      parts.push(part);
      const written = parts.flatMap((p) => p.changes ?? []);
      if (part.changes?.length)
        current = {
          ...nodeModel(factsWithChanges(model.facts, written)),
          layout: model.layout,
          role: model.role,
        };
    } catch (e) {
      // A file kubemend cannot edit without risk (one it cannot parse the way it must write it, say)
      // blocks this control on this node, not the plan of every node.
      if (!(e instanceof EditError)) throw e;
      parts.push({
        blocked: [
          {
            control: r.control,
            reason: `kubemend cannot edit this safely: ${e.message}`,
            fix: 'make the change by hand (the audit result says what is needed), or simplify the file and plan again',
          },
        ],
      });
    }
  }
  // An edit that changes nothing is no change (e.g. a value that is already right).
  const changes = oneChangePerFile(
    model,
    ctx,
    parts.flatMap((p) => p.changes ?? []),
  ).filter((c) => c.before?.sha256 !== c.after.sha256);
  const blocked = parts.flatMap((p) => p.blocked ?? []);
  const issue = parts.flatMap((p) => p.issue ?? []);
  const failing = results.filter((r) => r.status === 'fail' || r.status === 'error');
  for (const r of failing) {
    const handled =
      changes.some((c) => changeControls(c).includes(r.control)) ||
      [...blocked, ...issue].some((x) => x.control === r.control);
    if (!handled)
      blocked.push({
        control: r.control,
        reason: `${r.reason}; kubemend found no edit that fixes it`,
        fix: 'fix it by hand',
      });
  }
  // What the audit warned about on a control this plan does not change (a kubelet with its client
  // CA that still serves anyone, say) stays in front of the reviewer: nothing is left out silently.
  // A control that changes says it in its changes' notes.
  // (The not-fixable warning is the block itself.)
  const notFixable = notFixableWarning(model.layout);
  // What the whole plan makes untrue (an open door another control's change closes) is left out.
  const outdated = results.flatMap((r) => controlById(r.control).outdated?.(model, current) ?? []);
  const stale = (text: string) => outdated.some((o) => text.includes(o));
  const warnings = results
    .filter((r) => !changes.some((c) => changeControls(c).includes(r.control)))
    .flatMap((r) => r.warnings.filter((w) => w !== notFixable && !stale(w)).map((w) => `${r.control}: ${w}`));
  return {
    ...id,
    role: model.role,
    layout: model.layout,
    // Anything blocked blocks the node: a failed preflight changes nothing (DESIGN.md), and a node
    // with one control fixed and the other not must not look finished. Its other changes stay in
    // the plan for the reviewer; apply skips the node.
    status: blocked.length > 0 ? 'blocked' : changes.length > 0 || issue.length > 0 ? 'change' : 'compliant',
    changes:
      outdated.length > 0 ? changes.map((c) => ({ ...c, notes: c.notes.filter((n) => !stale(n)) })) : changes,
    blocked,
    ...(issue.length > 0 ? { issue } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    playbook: playbook.name,
  };
}

const RESTART_ORDER: readonly RestartKind[] = [
  'kubelet',
  'kubelet+daemon-reload',
  'static-pod:kube-apiserver',
];

/**
 * Changes to one path, chained (each starting from the one before), become one change: the file as
 * it is on the node before, as the last edit leaves it after, one diff, the controls that made it.
 * Two changes with one `before` would otherwise make the second write stale at apply.
 */
function oneChangePerFile(
  model: NodeModel,
  ctx: PlanContext,
  changes: readonly PlannedChange[],
): PlannedChange[] {
  const byPath = new Map<string, PlannedChange[]>();
  for (const c of changes) byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  return [...byPath.values()].map((chain) => {
    const [first, ...rest] = chain as [PlannedChange, ...PlannedChange[]];
    const last = chain.at(-1) as PlannedChange;
    if (rest.length === 0) return first;
    const file = model.facts.files.get(first.path);
    const before = first.before === null ? null : (file?.content ?? '');
    const controls = [...new Set(chain.map((c) => c.control))];
    return {
      ...first,
      after: last.after,
      diff: unifiedDiff(ctx.node, first.path, before, last.after.content),
      restart: chain
        .map((c) => c.restart)
        .reduce((a, b) => (RESTART_ORDER.indexOf(b) > RESTART_ORDER.indexOf(a) ? b : a)),
      durable: chain.every((c) => c.durable),
      notes: [...new Set(chain.flatMap((c) => c.notes))],
      ...(controls.length > 1 ? { controls } : {}),
    };
  });
}
