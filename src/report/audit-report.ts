import type { AuditResult, Status } from '../controls/types.js';

export interface NodeSummary {
  node: string;
  host: string;
  role: 'control-plane' | 'worker' | null;
  layout: string | null;
  reachable: boolean;
  /** The cluster: the inventory's name, or `ca:` and a short fingerprint of its cluster CA. */
  cluster?: string;
  /** The SSH client used: builtin (ssh2) or openssh (the system ssh). */
  transport?: 'builtin' | 'openssh';
}

/** The audit result document of DESIGN.md (`-o json`). */
export interface AuditReport {
  version: 1;
  tool: string;
  startedAt: string;
  finishedAt: string;
  nodes: NodeSummary[];
  results: AuditResult[];
  errors: { node: string; error: string }[];
  summary: Record<Status, number>;
}

export function summarize(results: readonly AuditResult[]): Record<Status, number> {
  const summary: Record<Status, number> = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}
