import type { AuditReport } from './audit-report.js';

const esc = (s: string) =>
  s.replace(
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
    const body = [
      ...r.evidence.map((e) => `${e.source}: ${e.key} = ${e.value}`),
      ...r.warnings.map((w) => `warning: ${w}`),
    ].join('\n');
    out.push(
      `    <testcase classname="${esc(r.node)}" name="${esc(r.control)} (${esc(r.benchmarks.join(', '))})">`,
    );
    if (r.status === 'fail') out.push(`      <failure message="${esc(r.reason)}">${esc(body)}</failure>`);
    else if (r.status === 'error') out.push(`      <error message="${esc(r.reason)}">${esc(body)}</error>`);
    else if (r.status === 'skip') out.push(`      <skipped message="${esc(r.reason)}"/>`);
    else if (body) out.push(`      <system-out>${esc(`${r.reason}\n${body}`)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
