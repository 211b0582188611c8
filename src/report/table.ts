import type { AuditResult, Status } from '../controls/types.js';
import type { AuditReport } from './audit-report.js';
import type { Colors } from './colors.js';
import { visibleDeep } from './visible.js';
import { wrapWords } from './wrap.js';

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

/** Below this many columns for REASON, reasons go on their own lines below the row. */
const MIN_REASON_WIDTH = 40;

/**
 * The human view of an audit: one row per node × control, evidence and warnings beneath. With a
 * `width` (the terminal's columns) no line is wider: reasons wrap at word boundaries under their
 * column, or below the row when the column would be too narrow. Without one (a pipe, a file) every
 * row is one line, as scripts expect. Control characters in node text are shown escaped (visible.ts).
 */
export function renderAuditTable(
  given: AuditReport,
  c: Colors,
  opts: { verbose?: boolean; width?: number | undefined } = {},
): string {
  // Node text (reasons, warnings, evidence, names) as data: escaped before it is laid out.
  const report = visibleDeep(given);
  const nodeWidth = Math.max(4, ...report.results.map((r) => r.node.length));
  const controlWidth = Math.max(7, ...report.results.map((r) => r.control.length));
  const lines: string[] = [];
  const reasonAt = nodeWidth + controlWidth + 12;
  const width = opts.width && opts.width > 0 ? opts.width : undefined;
  const below = width !== undefined && width - reasonAt < MIN_REASON_WIDTH;
  lines.push(
    c.bold(`${pad('NODE', nodeWidth)}  ${pad('CONTROL', controlWidth)}  STATUS${below ? '' : '  REASON'}`),
  );
  const byNode = new Map<string, AuditResult[]>();
  for (const r of report.results) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
  const indent = ' '.repeat(below ? 4 : reasonAt);
  /** Text under the reason column (or below the row), wrapped to the width when there is one. */
  const block = (text: string): string[] =>
    width === undefined ? [text] : wrapWords(text, width - indent.length);
  for (const n of report.nodes) {
    for (const r of byNode.get(n.node) ?? []) {
      const row = `${pad(r.node, nodeWidth)}  ${pad(r.control, controlWidth)}  ${statusLabel(r.status, c)}`;
      const reason = block(r.reason);
      if (below) {
        lines.push(row);
        lines.push(...reason.map((l) => `${indent}${l}`));
      } else {
        lines.push(`${row}${' '.repeat(6 - r.status.length)}  ${reason[0]}`);
        lines.push(...reason.slice(1).map((l) => `${indent}${l}`));
      }
      for (const w of r.warnings)
        lines.push(
          ...block(`warning: ${w}`).map((l, k) =>
            k === 0 ? `${indent}${c.yellow('warning:')}${l.slice('warning:'.length)}` : `${indent}${l}`,
          ),
        );
      if (opts.verbose)
        for (const e of r.evidence)
          lines.push(...block(`${e.source}: ${e.key} = ${e.value}`).map((l) => c.dim(`${indent}${l}`)));
    }
  }
  lines.push('');
  const detected = report.nodes
    .filter((n) => n.reachable)
    .map(
      (n) =>
        `${n.node} (${n.role ?? 'no kubernetes'}${n.layout ? `, ${n.layout}` : ''}${n.cluster ? `, cluster ${n.cluster}` : ''})`,
    );
  if (detected.length > 0)
    lines.push(
      ...(width === undefined
        ? [`nodes: ${detected.join(', ')}`]
        : wrapWords(`nodes: ${detected.join(', ')}`, width)
      ).map((l) => c.dim(l)),
    );
  const s = report.summary;
  lines.push(
    `${c.green(`${s.pass} passed`)}, ${s.fail ? c.red(`${s.fail} failed`) : '0 failed'}, ${s.skip} skipped, ${
      s.error ? c.magenta(`${s.error} errors`) : '0 errors'
    } on ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'}`,
  );
  return lines.join('\n') + '\n';
}
