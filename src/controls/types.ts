import type { NodeModel } from '../facts/model.js';

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

export type ControlId = 'apiserver-kubelet-client-cert' | 'kubelet-client-ca';

export interface Control {
  id: ControlId;
  aliases: string[];
  benchmarks: string[];
  title: string;
  check(model: NodeModel, now: Date): Omit<AuditResult, 'node' | 'control' | 'benchmarks'>;
}
