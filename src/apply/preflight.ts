/**
 * Preflight: may this node's plan still be applied, on the facts gathered just now under its lock?
 * Pure (plan + fresh facts + the planner → a verdict), so every rule is unit-tested without a node.
 */
import { changeControls, CONTROLS, runControls } from '../controls/index.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import type { Role } from '../facts/layout.js';
import type { NodeFacts } from '../facts/types.js';
import { describeDifference, planDifference } from '../plan/compare.js';
import type { NodePlan } from '../plan/types.js';

export type Preflight =
  | { ok: true; model: NodeModel; alreadyApplied?: true }
  /** stale: a file changed since the plan (exit 4); blocked: the change is no longer safe or the same. */
  | { ok: false; status: 'stale' | 'blocked'; reason: string };

/** Commands the change steps run on the node (README lists them); a node without one is blocked. */
export const CHANGE_TOOLS = ['sha256sum', 'flock', 'timeout', 'base64', 'stat', 'systemctl'] as const;

export interface PreflightContext {
  /** What the inventory says of the node (as `plan` read it): never the plan file's layout or role. */
  given: { layout?: string; role?: Role };
  /** The node's entry as `kubemend plan` computes it from this model (apply/recompute.ts). */
  recompute: (model: NodeModel) => NodePlan;
  /**
   * Where the plan came from: a plan file (then a difference means the file), this run's plan, or
   * the interactive session's (findings the user unticked left out: its changes must be among those
   * computed now, and none of their controls blocked).
   */
  source: 'file' | 'fresh' | 'session';
  now: Date;
}

export function preflight(plan: NodePlan, facts: NodeFacts, ctx: PreflightContext): Preflight {
  const node = plan.node;
  const missing = CHANGE_TOOLS.filter((t) => facts.tools[t] === false);
  if (missing.length > 0)
    return {
      ok: false,
      status: 'blocked',
      reason: `preflight: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed on ${node}; kubemend needs ${missing.length > 1 ? 'them' : 'it'} to change files safely (install coreutils / util-linux / systemd)`,
    };
  const model = nodeModel(facts, ctx.given);
  if (alreadyApplied(plan, model, ctx.now)) return { ok: true, model, alreadyApplied: true };
  for (const c of plan.changes) {
    const f = facts.files.get(c.path);
    if (c.action === 'create' && f && f.status !== 'missing')
      return { ok: false, status: 'stale', reason: `${c.path} exists now, but the plan creates it` };
    if (c.action === 'modify') {
      if (!f || f.status !== 'ok')
        return { ok: false, status: 'stale', reason: `${c.path} no longer exists or is unreadable` };
      if (f.sha256 !== c.before?.sha256)
        return { ok: false, status: 'stale', reason: `${c.path} changed since the plan was made` };
    }
  }
  // The node is as planned: the entry must be the one kubemend computes from it, field by field.
  const fresh = ctx.recompute(model);
  if (ctx.source === 'session') return narrowedStillComputed(plan, fresh, model);
  const d = planDifference(plan, fresh);
  if (d) {
    // Blocked now: an edited file, or something the node or its cluster depends on that changed
    // since the plan (a control plane's certificate, say). Both are possible: the refusal says why.
    const why = fresh.blocked.map((b) => `${b.control}: ${b.reason} (way out: ${b.fix})`).join('; ');
    const changed =
      fresh.status === 'blocked' && why
        ? `, or what it depends on changed since the plan: blocked now because ${why}`
        : '';
    return {
      ok: false,
      status: 'blocked',
      reason: `preflight: ${describeDifference(d, ctx.source)}${changed}`,
    };
  }
  return { ok: true, model };
}

/** The session's plan holds the findings the user ticked: each must still be computed, none blocked. */
function narrowedStillComputed(plan: NodePlan, fresh: NodePlan, model: NodeModel): Preflight {
  for (const c of plan.changes) {
    const blocked = fresh.blocked.find((b) => b.control === c.control);
    if (blocked)
      return {
        ok: false,
        status: 'blocked',
        reason: `preflight: ${blocked.reason} (way out: ${blocked.fix})`,
      };
    if (!fresh.changes.some((f) => f.path === c.path && f.after.sha256 === c.after.sha256))
      return {
        ok: false,
        status: 'blocked',
        reason: `preflight: kubemend would no longer write ${c.path} as planned (the node's certificates or settings changed); plan again`,
      };
  }
  return { ok: true, model };
}

/**
 * A run of this plan already got here (a window resumed after Ctrl-C, a failed node or `-l`):
 * every file holds the plan's content and the controls it fixes pass. Nothing is written then.
 */
function alreadyApplied(plan: NodePlan, model: NodeModel, now: Date): boolean {
  if (plan.status !== 'change' || plan.changes.length === 0) return false;
  const written = plan.changes.every((c) => {
    const f = model.facts.files.get(c.path);
    return f?.status === 'ok' && f.sha256 === c.after.sha256;
  });
  if (!written) return false;
  const fixed = [...plan.changes.flatMap(changeControls), ...(plan.issue ?? []).map((c) => c.control)];
  const results = runControls(
    plan.node,
    model,
    CONTROLS.filter((k) => fixed.includes(k.id)),
    now,
  );
  return results.every((r) => r.status === 'pass');
}
