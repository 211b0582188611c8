import { controlById } from '../controls/index.js';
import type { AuditResult } from '../controls/types.js';
import { EditError } from '../edits/result.js';
import { NOT_FIXABLE_OVER_SSH, notFixableWarning } from '../facts/layout.js';
import type { NodeModel } from '../facts/model.js';
import type { Playbook } from '../playbook/types.js';
import type { PlanContext, PlanPart } from './change.js';
import type { NodePlan } from './types.js';

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
  for (const r of results) {
    const notFixable = model.layout ? NOT_FIXABLE_OVER_SSH.get(model.layout) : undefined;
    if (notFixable) {
      if (r.status === 'fail' || r.status === 'error')
        parts.push({ blocked: [{ control: r.control, ...notFixable }] });
      continue;
    }
    try {
      parts.push(controlById(r.control).plan(model, r, playbook, ctx, now));
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
  const changes = parts.flatMap((p) => p.changes ?? []).filter((c) => c.before?.sha256 !== c.after.sha256);
  const blocked = parts.flatMap((p) => p.blocked ?? []);
  const issue = parts.flatMap((p) => p.issue ?? []);
  const failing = results.filter((r) => r.status === 'fail' || r.status === 'error');
  for (const r of failing) {
    const handled = [...changes, ...blocked, ...issue].some((x) => x.control === r.control);
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
  const warnings = results
    .filter((r) => !changes.some((c) => c.control === r.control))
    .flatMap((r) => r.warnings.filter((w) => w !== notFixable).map((w) => `${r.control}: ${w}`));
  return {
    ...id,
    role: model.role,
    layout: model.layout,
    // Anything blocked blocks the node: a failed preflight changes nothing (DESIGN.md), and a node
    // with one control fixed and the other not must not look finished. Its other changes stay in
    // the plan for the reviewer; apply skips the node.
    status: blocked.length > 0 ? 'blocked' : changes.length > 0 || issue.length > 0 ? 'change' : 'compliant',
    changes,
    blocked,
    ...(issue.length > 0 ? { issue } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    playbook: playbook.name,
  };
}
