import type { CONTROL_ID_LIST } from './index.js';
import type { NodeModel } from '../facts/model.js';
import type { Playbook } from '../playbook/types.js';
import type { PlanContext, PlanPart } from '../plan/change.js';
import type { PlannedChange } from '../plan/types.js';

export type Status = 'pass' | 'fail' | 'skip' | 'error';

export interface Evidence {
  /** Where the value was read: a file path or /proc/PID/cmdline. */
  source: string;
  key: string;
  value: string;
}

/** One (node, control) result, as in DESIGN.md's audit JSON. */
export interface AuditResult {
  node: string;
  control: ControlId;
  benchmarks: string[];
  status: Status;
  reason: string;
  evidence: Evidence[];
  /** Things a reviewer should know that do not change the status (e.g. "pair not verified"). */
  warnings: string[];
}

/** The ids the registry (index.ts) lists: a new control is one more id there. */
export type ControlId = (typeof CONTROL_ID_LIST)[number];

/** How a control judges one node: its audit (check.ts in the control's folder). Pure. */
export interface ControlCheck {
  id: ControlId;
  aliases: string[];
  benchmarks: string[];
  title: string;
  /**
   * Selected only when named (`--controls <id>`, `--controls all`): the default selection stays
   * what scripts and exit codes were written against.
   */
  optIn?: boolean;
  check(model: NodeModel, now: Date): Omit<AuditResult, 'node' | 'control' | 'benchmarks'>;
}

/** Files a fix may point at, fetched by the one gather (public files read; keys only stat'ed). */
export interface GatherNeeds {
  files: string[];
  keys: string[];
  pairs: [cert: string, key: string][];
}

/**
 * A control, whole: what it gathers, how it judges, how it plans, what its gate checks. One folder
 * each (src/controls/<id>/), registered in index.ts; a new control is one more folder. What spans
 * controls and nodes (the kube-apiserver → kubelet trust rule) is the fleet step, src/fleet/.
 */
export interface Control extends ControlCheck {
  /** Files the playbook points this control's fix at, so one gather sees them all. */
  gather(playbook: Playbook): GatherNeeds;
  /** The change that fixes a failing result on one node, or why it cannot be made (blocked). */
  plan(model: NodeModel, result: AuditResult, playbook: Playbook, ctx: PlanContext, now: Date): PlanPart;
  /**
   * What the control does to the kube-apiserver → kubelet channel, for the fleet step and the live
   * trust gate: `apiserver-identity` (the apiserver's client pair), `kubelet-trust` (whom the
   * kubelet's client CA verifies), `kubelet-access` (whom the kubelet serves: anonymous, authorization).
   */
  channel?: 'apiserver-identity' | 'kubelet-trust' | 'kubelet-access';
  /**
   * Texts of this control's warnings and notes that the node's whole plan makes untrue (`after`: the
   * node as every planned change leaves it): dropped from that plan. The client CA's open-door
   * warning, say, once another control's change in the same plan closes the door.
   */
  outdated?(before: NodeModel, after: NodeModel): string[];
  /** What the restarted component must show before the health gate passes (apply). */
  gate(changes: readonly PlannedChange[]): { apiserverFlags: string[] };
}
