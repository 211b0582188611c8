import type { PlanFile, NodePlan } from '../plan/types.js';
import type { Colors } from './colors.js';
import { PLAN_LINES, visibleDeep, visibleLines } from './visible.js';

const RESTART_TEXT: Record<string, string> = {
  kubelet: 'restart the kubelet',
  'kubelet+daemon-reload': 'systemctl daemon-reload, then restart the kubelet',
  'static-pod:kube-apiserver':
    'the kubelet restarts the kube-apiserver static pod (API unavailable on this node meanwhile)',
};

export function restartsOf(node: NodePlan): string[] {
  return [...new Set(node.changes.map((c) => RESTART_TEXT[c.restart] ?? c.restart))];
}

/** Colors a unified diff the way git does; control characters in its lines are shown escaped. */
export function colorDiff(diff: string, c: Colors): string {
  return visibleLines(diff)
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? c.bold(l)
        : l.startsWith('+')
          ? c.green(l)
          : l.startsWith('-')
            ? c.red(l)
            : l.startsWith('@@')
              ? c.cyan(l)
              : l,
    )
    .join('\n');
}

/** The terminal view of a plan: per node, its diffs, blocked items and the restarts it needs. */
export function renderPlanText(given: PlanFile, c: Colors): string {
  // Paths, reasons, notes and diffs are the node's text: shown escaped, never as terminal control.
  const plan = visibleDeep(given, PLAN_LINES);
  const out: string[] = [];
  for (const n of plan.nodes) {
    const head = `${c.bold(n.node)} (${n.host}${n.role ? `, ${n.role}` : ''}${n.layout ? `, ${n.layout}` : ''}): `;
    const status =
      n.status === 'compliant'
        ? n.deadRun
          ? c.yellow(
              `compliant as it stands, but run ${n.deadRun.runId} died here: apply restores its backup first`,
            )
          : c.green('compliant, nothing to change')
        : n.status === 'change'
          ? c.yellow(`${n.changes.length} change${n.changes.length > 1 ? 's' : ''}`)
          : n.status === 'blocked'
            ? c.red('blocked')
            : c.magenta('not planned: the node could not be read (the error is on stderr)');
    out.push(head + status);
    for (const w of n.warnings ?? []) out.push(`  ${c.yellow('warning:')} ${w}`);
    for (const i of n.issue ?? [])
      out.push(
        `  issue ${i.certificate} and ${i.key} on the node: subject ${i.subject}, clientAuth, ${i.days} days, signed by ${i.caCertificate}  [${i.control}]`,
      );
    for (const ch of n.changes) {
      out.push(`  ${ch.action === 'create' ? 'create' : 'modify'} ${ch.path}  [${ch.control}]`);
      if (!ch.durable)
        out.push(`  ${c.yellow('not durable:')} the node's tooling writes this file again (see the note)`);
      for (const note of ch.notes) out.push(`  ${c.dim(`note: ${note}`)}`);
      out.push(
        colorDiff(ch.diff, c)
          .split('\n')
          .map((l) => (l ? `    ${l}` : l))
          .join('\n')
          .trimEnd(),
      );
    }
    for (const b of n.blocked) {
      out.push(`  ${c.red('blocked')} [${b.control}]: ${b.reason}`);
      out.push(`    way out: ${b.fix}`);
    }
    const restarts = restartsOf(n);
    if (restarts.length > 0) out.push(`  restarts: ${restarts.join('; ')}`);
    out.push('');
  }
  const count = (s: string) => plan.nodes.filter((n) => n.status === s).length;
  out.push(
    `${count('change')} node(s) to change, ${count('blocked')} blocked, ${count('compliant')} compliant, ${count('error')} unreachable`,
  );
  return out.join('\n') + '\n';
}

/**
 * One patch for all nodes; paths are prefixed with the node name (a/<node>/etc/…). Exact, not
 * escaped: it is data for `git apply` / `patch`, and the files' bytes are what it must carry
 * (a path with a control character is quoted in the header the way git quotes it, edits/diff.ts).
 */
export function renderPlanPatch(plan: PlanFile): string {
  return plan.nodes.flatMap((n) => n.changes.map((c) => c.diff)).join('');
}
