import type { NodeModel } from '../facts/model.js';
import { notFixableWarning } from '../facts/layout.js';
import { ambiguityError, ignoredProcessWarnings } from '../facts/process-identity.js';
import type { Playbook } from '../playbook/types.js';
import { apiserverKubeletClientCert } from './apiserver-kubelet-client-cert/index.js';
import { kubeletAnonymousAuth } from './kubelet-anonymous-auth/index.js';
import { kubeletAuthorizationMode } from './kubelet-authorization-mode/index.js';
import { kubeletClientCa } from './kubelet-client-ca/index.js';
import type { AuditResult, Control, ControlId, GatherNeeds } from './types.js';

/** Every control's id, in the order they are judged and planned. */
export const CONTROL_ID_LIST = [
  'apiserver-kubelet-client-cert',
  'kubelet-client-ca',
  'kubelet-anonymous-auth',
  'kubelet-authorization-mode',
] as const;

/** Every control, one folder each: the one list the commands, the planner and apply go through. */
export const CONTROLS: readonly Control[] = [
  apiserverKubeletClientCert,
  kubeletClientCa,
  kubeletAnonymousAuth,
  kubeletAuthorizationMode,
];

/** Whether a change (any control in it) touches this side of the apiserver → kubelet channel. */
export function changesChannel(
  changes: readonly { control: ControlId; controls?: ControlId[] }[],
  channels: readonly NonNullable<Control['channel']>[],
): boolean {
  return changes.some((c) =>
    changeControls(c).some((id) => {
      const k = CONTROLS.find((x) => x.id === id);
      return k?.channel !== undefined && channels.includes(k.channel);
    }),
  );
}

/** The controls that act on this side of the apiserver → kubelet channel, in registry order. */
export const channelControls = (channel: NonNullable<Control['channel']>): ControlId[] =>
  CONTROLS.filter((c) => c.channel === channel).map((c) => c.id);

/** The controls of these changes that act on this side of the channel (each once, registry order). */
export function controlsOnChannel(
  changes: readonly { control: ControlId; controls?: ControlId[] }[],
  channel: NonNullable<Control['channel']>,
): ControlId[] {
  const ids = new Set(changes.flatMap(changeControls));
  return channelControls(channel).filter((id) => ids.has(id));
}

/** What runs without --controls: every control that is not opt-in. */
export const DEFAULT_CONTROLS: readonly Control[] = CONTROLS.filter((c) => !c.optIn);

/** The controls a planned change was made by (one file edited by two controls is one change). */
export const changeControls = (c: { control: ControlId; controls?: ControlId[] }): ControlId[] =>
  c.controls ?? [c.control];

export const CONTROL_IDS = CONTROLS.map((c) => c.id);

export function controlById(id: ControlId): Control {
  const c = CONTROLS.find((k) => k.id === id);
  if (!c) throw new Error(`no control ${id}`);
  return c;
}

/** What every control needs gathered for these playbooks, in one list each. */
export function gatherNeeds(playbooks: readonly Playbook[]): GatherNeeds {
  const files = new Set<string>();
  const keys = new Set<string>();
  const pairs = new Map<string, [string, string]>();
  for (const p of playbooks)
    for (const c of CONTROLS) {
      const n = c.gather(p);
      n.files.forEach((f) => files.add(f));
      n.keys.forEach((k) => keys.add(k));
      for (const pair of n.pairs) pairs.set(pair.join('\0'), pair);
    }
  return { files: [...files], keys: [...keys], pairs: [...pairs.values()] };
}

/**
 * Resolves `--controls` (ids and aliases, comma-separated; `all` for every control, opt-in ones
 * too); returns unknown names separately. Without a list: the default controls.
 */
export function resolveControls(list: string | undefined): { controls: Control[]; unknown: string[] } {
  if (!list) return { controls: [...DEFAULT_CONTROLS], unknown: [] };
  const controls: Control[] = [];
  const unknown: string[] = [];
  for (const name of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (name === 'all') {
      for (const k of CONTROLS) if (!controls.includes(k)) controls.push(k);
      continue;
    }
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
  const notFixable = notFixableWarning(model.layout);
  return controls.map((c) => {
    const of = c.id.startsWith('apiserver-') ? 'kube-apiserver' : 'kubelet';
    const ambiguous = ambiguityError(model.facts, of);
    const r: AuditResult = ambiguous
      ? { ...errorResults(node, [c], ambiguous)[0]! }
      : { node, control: c.id, benchmarks: [...c.benchmarks], ...c.check(model, now) };
    // On a layout whose files are the distribution's, a failure says at once that SSH cannot fix it.
    if (notFixable && (r.status === 'fail' || r.status === 'error')) r.warnings = [...r.warnings, notFixable];
    // Processes named like the component this control judges but not the node's: named, never judged.
    const ignored = ignoredProcessWarnings(model.facts, of);
    if (ignored.length > 0) r.warnings = [...r.warnings, ...ignored];
    return r;
  });
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
