import type { NodeModel } from '../facts/model.js';
import { apiserverKubeletClientCert } from './apiserver-kubelet-client-cert.js';
import { kubeletClientCa } from './kubelet-client-ca.js';
import type { AuditResult, Control } from './types.js';

export const CONTROLS: readonly Control[] = [apiserverKubeletClientCert, kubeletClientCa];

/** Resolves `--controls` (ids and aliases, comma-separated); returns unknown names separately. */
export function resolveControls(list: string | undefined): { controls: Control[]; unknown: string[] } {
  if (!list) return { controls: [...CONTROLS], unknown: [] };
  const controls: Control[] = [];
  const unknown: string[] = [];
  for (const name of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const c = CONTROLS.find((k) => k.id === name || k.aliases.includes(name));
    if (!c) unknown.push(name);
    else if (!controls.includes(c)) controls.push(c);
  }
  return { controls, unknown };
}

export function runControls(
  node: string,
  model: NodeModel,
  controls: readonly Control[],
  now: Date,
): AuditResult[] {
  return controls.map((c) => ({
    node,
    control: c.id,
    benchmarks: [...c.benchmarks],
    ...c.check(model, now),
  }));
}

/** Results for a node that could not be read: one error per selected control. */
export function errorResults(node: string, controls: readonly Control[], reason: string): AuditResult[] {
  return controls.map((c) => ({
    node,
    control: c.id,
    benchmarks: [...c.benchmarks],
    status: 'error',
    reason,
    evidence: [],
    warnings: [],
  }));
}
