import type { AuditReport } from './audit-report.js';
import { mdCode, mdText } from './md-text.js';

// Words, not emoji: a ticket system, a terminal or a printout without emoji fonts still shows them.
const word: Record<string, string> = { pass: 'PASS', fail: '**FAIL**', skip: 'SKIP', error: '**ERROR**' };

/** A summary to paste into a change ticket; node text in it is shown, never rendered (md-text.ts). */
export function renderAuditMarkdown(report: AuditReport): string {
  const s = report.summary;
  const lines = [
    `# kubemend audit`,
    '',
    `${mdText(report.tool)}, ${mdText(report.startedAt)}. ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped, ${s.error} errors on ${report.nodes.length} nodes.`,
    '',
    '| node | role | layout | control | status | reason |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of report.results) {
    const n = report.nodes.find((x) => x.node === r.node);
    lines.push(
      `| ${mdText(r.node)} | ${mdText(n?.role ?? '')} | ${mdText(n?.layout ?? '')} | ${mdText(r.control)} | ${word[r.status]} | ${mdText(r.reason)} |`,
    );
  }
  const detailed = report.results.filter((r) => r.evidence.length > 0 || r.warnings.length > 0);
  if (detailed.length > 0) {
    lines.push('', '## Evidence', '');
    for (const r of detailed) {
      lines.push(
        `### ${mdText(r.node)}: ${mdText(r.control)}`,
        '',
        `Benchmarks: ${mdText(r.benchmarks.join(', '))}`,
        '',
      );
      for (const e of r.evidence) lines.push(`- ${mdCode(e.source)}: ${mdCode(e.key)} = ${mdCode(e.value)}`);
      for (const w of r.warnings) lines.push(`- **warning**: ${mdText(w)}`);
      lines.push('');
    }
  }
  return lines.join('\n') + '\n';
}
