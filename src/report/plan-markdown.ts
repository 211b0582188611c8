import type { AuditResult } from '../controls/types.js';
import type { NodePlan, PlanFile } from '../plan/types.js';
import { mdCode as code, mdFence, mdText as text } from './md-text.js';

/** What a restart means for the people running on the node, in words a change board reads. */
export function restartImpact(node: NodePlan): string[] {
  const kubelet = `the kubelet on ${node.node} restarts: running pods keep running; for a few seconds the node reports no status and starts no new pods`;
  const impact: Record<string, string> = {
    kubelet,
    'kubelet+daemon-reload': `systemd reloads its units, then ${kubelet}`,
    'static-pod:kube-apiserver': `the kube-apiserver on ${node.node} restarts: its API is unavailable on that node for about a minute`,
  };
  return [...new Set(node.changes.map((c) => impact[c.restart] ?? c.restart))];
}

export interface PlanMarkdownOptions {
  /** The plan file written with --out, and its sha256: the ticket names exactly what was reviewed. */
  file?: { path: string; sha256: string; signature?: { path: string; key: string } };
  /** The command that applies this plan, with the options it needs. */
  applyCommand?: string;
  /** The audit results the plan was made from: each failure's evidence goes under its node. */
  results?: readonly AuditResult[];
}

/**
 * A summary for a change ticket: per node, address, controls, files, diffs, restart impact, blocked
 * items. Node text is shown, never rendered: escaped in prose and cells, code spans and fences
 * longer than any backtick run they hold, no HTML of the node's (md-text.ts).
 */
export function renderPlanMarkdown(plan: PlanFile, opts: PlanMarkdownOptions = {}): string {
  const apply = opts.applyCommand ?? 'kubemend apply --plan <file> --yes';
  const lines = [
    '# kubemend change plan',
    '',
    `${text(plan.tool)}, created ${text(plan.createdAt)}.`,
    '',
    ...(opts.file ? [`Plan file: ${code(opts.file.path)}, sha256 ${code(opts.file.sha256)}.`, ''] : []),
    ...(opts.file?.signature
      ? [
          `Signed: ${code(opts.file.signature.path)} (OpenSSH signature, namespace ${code('kubemend-plan')}) by the key ${code(opts.file.signature.key)}; \`apply --allowed-signers FILE\` accepts the plan only with a valid signature by a principal of FILE.`,
          '',
        ]
      : []),
    `Apply exactly this plan with ${code(apply)}: ${opts.file ? 'a plan file with another sha256 is refused before any node is contacted (exit 2), and ' : ''}a node whose files changed since is refused (exit 4).`,
    '',
    '| node | address | role | layout | status | files | restart impact |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const n of plan.nodes) {
    lines.push(
      `| ${text(n.node)} | ${text(`${n.host}:${n.port}`)} | ${text(n.role ?? 'unknown')} | ${text(n.layout ?? 'unknown')} | ${text(n.status)} | ${n.changes.map((c) => code(c.path, { inTable: true })).join('<br>') || 'none'} | ${text(restartImpact(n).join('; ')) || 'none'} |`,
    );
  }
  for (const n of plan.nodes.filter(
    (x) => x.changes.length > 0 || x.blocked.length > 0 || x.error || x.warnings?.length,
  )) {
    lines.push('', `## ${text(n.node)} (${text(`${n.host}:${n.port}`)})`, '');
    if (n.error) lines.push(`Could not be planned: ${text(n.error)}`, '');
    for (const w of n.warnings ?? []) lines.push(`**Warning:** ${text(w)}`, '');
    const failures = (opts.results ?? []).filter(
      (r) => r.node === n.node && r.status !== 'pass' && r.status !== 'skip',
    );
    if (failures.length > 0) {
      lines.push('### Findings', '');
      for (const r of failures) {
        lines.push(
          `- **${r.status.toUpperCase()}** ${text(r.control)} (${text(r.benchmarks.join(', '))}): ${text(r.reason)}`,
        );
        for (const e of r.evidence)
          lines.push(`  - evidence: ${code(e.source)}: ${code(e.key)} = ${code(e.value)}`);
      }
      lines.push('');
    }
    const impact = restartImpact(n);
    if (impact.length > 0) lines.push(`**Restart impact:** ${text(impact.join('; '))}.`, '');
    for (const i of n.issue ?? [])
      lines.push(
        `### issue ${code(i.certificate)} and ${code(i.key)} (${text(i.control)})`,
        '',
        `A new key and certificate made on the node itself (the key never leaves it): subject ${code(i.subject)}, extended key usage clientAuth, ${text(String(i.days))} days, signed by ${code(i.caCertificate)} with ${code(i.caKey)}.`,
        '',
      );
    for (const c of n.changes) {
      lines.push(`### ${text(c.action)} ${code(c.path)} (${text(c.control)})`, '');
      if (!c.durable)
        lines.push("**Not durable:** the node's tooling writes this file again (see the note).", '');
      for (const note of c.notes) lines.push(`- ${text(note)}`);
      if (c.notes.length > 0) lines.push('');
      lines.push(...mdFence(c.diff.trimEnd(), 'diff'), '');
    }
    if (n.blocked.length > 0) {
      lines.push('### Blocked', '');
      for (const b of n.blocked)
        lines.push(`- **BLOCKED** ${text(b.control)}: ${text(b.reason)}. Way out: ${text(b.fix)}`);
      lines.push('');
    }
  }
  return lines.join('\n') + '\n';
}
