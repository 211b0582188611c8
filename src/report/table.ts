import type { AuditResult, Status } from '../controls/types.js';
import type { AuditReport } from './audit-report.js';
import type { Colors } from './colors.js';

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - s.length));

export function statusLabel(status: Status, c: Colors): string {
  const label = status.toUpperCase();
  switch (status) {
    case 'pass':
      return c.green(label);
    case 'fail':
      return c.red(c.bold(label));
    case 'skip':
      return c.dim(label);
    case 'error':
      return c.magenta(c.bold(label));
  }
}

/** The human view of an audit: one row per node × control, evidence and warnings beneath. */
export function renderAuditTable(report: AuditReport, c: Colors, opts: { verbose?: boolean } = {}): string {
  const nodeWidth = Math.max(4, ...report.results.map((r) => r.node.length));
  const controlWidth = Math.max(7, ...report.results.map((r) => r.control.length));
  const lines: string[] = [];
  lines.push(c.bold(`${pad('NODE', nodeWidth)}  ${pad('CONTROL', controlWidth)}  STATUS  REASON`));
  const byNode = new Map<string, AuditResult[]>();
  for (const r of report.results) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
  for (const n of report.nodes) {
    for (const r of byNode.get(n.node) ?? []) {
      lines.push(
        `${pad(r.node, nodeWidth)}  ${pad(r.control, controlWidth)}  ${statusLabel(r.status, c)}${' '.repeat(6 - r.status.length)}  ${r.reason}`,
      );
      const indent = ' '.repeat(nodeWidth + controlWidth + 12);
      for (const w of r.warnings) lines.push(`${indent}${c.yellow('warning:')} ${w}`);
      if (opts.verbose)
        for (const e of r.evidence) lines.push(c.dim(`${indent}${e.source}: ${e.key} = ${e.value}`));
    }
  }
  lines.push('');
  const detected = report.nodes
    .filter((n) => n.reachable)
    .map((n) => `${n.node} (${n.role ?? 'no kubernetes'}${n.layout ? `, ${n.layout}` : ''})`);
  if (detected.length > 0) lines.push(c.dim(`nodes: ${detected.join(', ')}`));
  const s = report.summary;
  lines.push(
    `${c.green(`${s.pass} passed`)}, ${s.fail ? c.red(`${s.fail} failed`) : '0 failed'}, ${s.skip} skipped, ${
      s.error ? c.magenta(`${s.error} errors`) : '0 errors'
    } on ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'}`,
  );
  return lines.join('\n') + '\n';
}
