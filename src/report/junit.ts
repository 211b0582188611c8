import type { AuditReport } from './audit-report.js';
import { visible, visibleLines } from './visible.js';

/**
 * XML-escaped, after control characters are shown escaped (visible.ts): most of them are not
 * allowed in XML 1.0 at all (a CI system rejects the whole file), and the rest would reach a CI
 * page or a log as terminal control. Text that is several lines by design keeps its newlines.
 */
const esc = (s: string, lines = false) =>
  (lines ? visibleLines(s) : visible(s)).replace(
    /[<>&"']/g,
    (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] ?? ch,
  );

/** JUnit XML: one testcase per node × control, so CI systems show each finding on its own. */
export function renderAuditJunit(report: AuditReport): string {
  const s = report.summary;
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kubemend audit" tests="${report.results.length}" failures="${s.fail}" errors="${s.error}" skipped="${s.skip}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="kubemend audit" tests="${report.results.length}" failures="${s.fail}" errors="${s.error}" skipped="${s.skip}" timestamp="${esc(report.startedAt)}">`,
  ];
  for (const r of report.results) {
    // One line per item: a newline inside a value is escaped, so it cannot make a fake item.
    const body = [
      ...r.evidence.map((e) => `${visible(e.source)}: ${visible(e.key)} = ${visible(e.value)}`),
      ...r.warnings.map((w) => `warning: ${visible(w)}`),
    ].join('\n');
    out.push(
      `    <testcase classname="${esc(r.node)}" name="${esc(r.control)} (${esc(r.benchmarks.join(', '))})">`,
    );
    if (r.status === 'fail')
      out.push(`      <failure message="${esc(r.reason)}">${esc(body, true)}</failure>`);
    else if (r.status === 'error')
      out.push(`      <error message="${esc(r.reason)}">${esc(body, true)}</error>`);
    else if (r.status === 'skip') out.push(`      <skipped message="${esc(r.reason)}"/>`);
    else if (body) out.push(`      <system-out>${esc(`${visible(r.reason)}\n${body}`, true)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
