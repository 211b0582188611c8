/**
 * The plan that was reviewed is the plan that runs (pure): a node's entry in a plan file against
 * the entry kubemend computes again from the node's fresh facts, field by field. The first field
 * that differs is named with both values, so a refusal says exactly what was edited.
 */
import type { NodePlan, PlannedChange } from './types.js';

export interface PlanDifference {
  /** Where in the node's entry, e.g. `status`, `changes[0].after.content`. */
  field: string;
  /** The value in the plan file and the value kubemend computes, each shown short. */
  file: string;
  computed: string;
}

const MAX = 120;

/** A value as a refusal shows it: JSON, cut short; absent fields say so. */
export function showValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v);
  return text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
}

/** Two texts by their first differing line: a reviewer sees the setting that was added or changed. */
function contentDifference(field: string, file: string, computed: string): PlanDifference {
  const a = file.split('\n');
  const b = computed.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const line = (l: string[]) => (i < l.length ? showValue(l[i]) : '(end of file)');
  return { field: `${field} line ${i + 1}`, file: line(a), computed: line(b) };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first leaf where two values differ (`issue[0].days`), so a refusal names the very setting. */
function leafDifference(at: string, a: unknown, b: unknown): PlanDifference | undefined {
  if (same(a, b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (const [i, x] of a.entries()) {
      const d = leafDifference(`${at}[${i}]`, x, b[i]);
      if (d) return d;
    }
  }
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
      const d = leafDifference(`${at}.${k}`, a[k], b[k]);
      if (d) return d;
    }
  }
  // Different lengths, types, or the same fields in another order: the whole value.
  return { field: at, file: showValue(a), computed: showValue(b) };
}

/** A change's fields in the order a reviewer reads them; each compared on its own. */
function changeDifference(at: string, f: PlannedChange, c: PlannedChange): PlanDifference | undefined {
  const fields: [string, unknown, unknown][] = [
    ['control', f.control, c.control],
    ['controls', f.controls, c.controls],
    ['path', f.path, c.path],
    ['action', f.action, c.action],
    ['before', f.before, c.before],
    ['after.sha256', f.after.sha256, c.after.sha256],
    ['restart', f.restart, c.restart],
    ['durable', f.durable, c.durable],
    ['notes', f.notes, c.notes],
    ['diff', f.diff, c.diff],
  ];
  for (const [name, a, b] of fields) {
    if (same(a, b)) continue;
    // The content is what gets written: its differing line says more than two hashes would.
    if (name === 'after.sha256' && f.after.content !== c.after.content)
      return contentDifference(`${at}.after.content`, f.after.content, c.after.content);
    if (name === 'diff') return contentDifference(`${at}.diff`, f.diff, c.diff);
    return leafDifference(`${at}.${name}`, a, b);
  }
  return undefined;
}

/**
 * The first field where the plan file's entry and the computed one differ, or undefined when they
 * agree on everything apply acts on or the reviewer read: status, role, layout, playbook, cluster,
 * blocked items, each change (path, action, before, after, restart, durable, notes, diff), trust,
 * issue, hostKey. Warnings are not compared: they describe the fleet as it was seen, not the change.
 */
export function planDifference(file: NodePlan, computed: NodePlan): PlanDifference | undefined {
  const scalar: [string, unknown, unknown][] = [
    ['status', file.status, computed.status],
    ['role', file.role, computed.role],
    ['layout', file.layout, computed.layout],
    ['playbook', file.playbook, computed.playbook],
    ['cluster', file.cluster, computed.cluster],
    ['blocked', file.blocked, computed.blocked],
  ];
  for (const [field, a, b] of scalar) {
    const d = leafDifference(field, a, b);
    if (d) return d;
  }
  const paths = (p: NodePlan) => p.changes.map((c) => c.path);
  if (!same(paths(file), paths(computed)))
    return { field: 'changes (paths)', file: showValue(paths(file)), computed: showValue(paths(computed)) };
  for (const [i, f] of file.changes.entries()) {
    const d = changeDifference(`changes[${i}]`, f, computed.changes[i]!);
    if (d) return d;
  }
  const rest: [string, unknown, unknown][] = [
    ['trust', file.trust, computed.trust],
    ['issue', file.issue ?? [], computed.issue ?? []],
    ['hostKey', file.hostKey, computed.hostKey],
  ];
  for (const [field, a, b] of rest) {
    const d = leafDifference(field, a, b);
    if (d) return d;
  }
  return undefined;
}

/** The refusal a reviewer reads: the field, both values, and what that means. */
export function describeDifference(d: PlanDifference, source: 'file' | 'fresh'): string {
  return source === 'file'
    ? `the plan file says ${d.field} = ${d.file}; kubemend computes ${d.computed} from the node: the file was edited or made by another kubemend version`
    : `the plan says ${d.field} = ${d.file}; kubemend computes ${d.computed} from the node now: the node changed since it was planned; plan again`;
}
