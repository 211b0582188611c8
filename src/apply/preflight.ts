/**
 * Preflight: may this node's plan still be applied, on the facts gathered just now under its lock?
 * Pure (plan + fresh facts + playbook → a verdict), so every rule is unit-tested without a node.
 */
import { CONTROLS, runControls } from '../controls/index.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import type { NodeFacts } from '../facts/types.js';
import type { Playbook } from '../playbook/types.js';
import type { Templates } from '../plan/change.js';
import { planNode } from '../plan/planner.js';
import type { NodePlan } from '../plan/types.js';

export type Preflight =
  | { ok: true; model: NodeModel }
  /** stale: a file changed since the plan (exit 4); blocked: the change is no longer safe or the same. */
  | { ok: false; status: 'stale' | 'blocked'; reason: string };

/** Commands the change steps run on the node (README lists them); a node without one is blocked. */
export const CHANGE_TOOLS = ['sha256sum', 'flock', 'timeout', 'base64', 'stat', 'systemctl'] as const;

export function preflight(
  plan: NodePlan,
  facts: NodeFacts,
  ctx: { playbook: Playbook; templates: Templates; now: Date },
): Preflight {
  const node = plan.node;
  const missing = CHANGE_TOOLS.filter((t) => facts.tools[t] === false);
  if (missing.length > 0)
    return {
      ok: false,
      status: 'blocked',
      reason: `preflight: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed on ${node}; kubemend needs ${missing.length > 1 ? 'them' : 'it'} to change files safely (install coreutils / util-linux / systemd)`,
    };
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
  const model = nodeModel(facts, plan.layout ? { layout: plan.layout } : {});
  const fresh = planNode(
    { node, host: plan.host, port: plan.port, hostKey: plan.hostKey },
    model,
    runControls(node, model, CONTROLS, ctx.now),
    ctx.playbook,
    { node, templates: ctx.templates, issueCerts: (plan.issue?.length ?? 0) > 0 },
    ctx.now,
  );
  for (const i of plan.issue ?? []) {
    if (!fresh.issue?.some((f) => f.certificate === i.certificate && f.key === i.key && f.caKey === i.caKey))
      return {
        ok: false,
        status: 'blocked',
        reason: `preflight: ${i.certificate} can no longer be issued as planned (${fresh.blocked.map((b) => b.reason).join('; ') || 'the node changed'}); plan again`,
      };
  }
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
