import type { AuditReport } from './audit-report.js';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
// Words, not emoji: a ticket system, a terminal or a printout without emoji fonts still shows them.
const word: Record<string, string> = { pass: 'PASS', fail: '**FAIL**', skip: 'SKIP', error: '**ERROR**' };

/** A summary to paste into a change ticket. */
export function renderAuditMarkdown(report: AuditReport): string {
  const s = report.summary;
  const lines = [
    `# kubemend audit`,
    '',
    `${report.tool}, ${report.startedAt}. ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors on ${report.nodes.length} nodes.`,
    '',
    '| node | role | layout | control | status | reason |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of report.results) {
    const n = report.nodes.find((x) => x.node === r.node);
    lines.push(
      `| ${cell(r.node)} | ${n?.role ?? ''} | ${n?.layout ?? ''} | ${r.control} | ${word[r.status]} | ${cell(r.reason)} |`,
    );
  }
  const detailed = report.results.filter((r) => r.evidence.length > 0 || r.warnings.length > 0);
  if (detailed.length > 0) {
    lines.push('', '## Evidence', '');
    for (const r of detailed) {
      lines.push(`### ${r.node}: ${r.control}`, '', `Benchmarks: ${r.benchmarks.join(', ')}`, '');
      for (const e of r.evidence) lines.push(`- \`${e.source}\`: \`${e.key}\` = \`${e.value}\``);
      for (const w of r.warnings) lines.push(`- **warning**: ${w}`);
      lines.push('');
    }
  }
  return lines.join('\n') + '\n';
}
