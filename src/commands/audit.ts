import { errorResults, runControls } from '../controls/index.js';
import type { AuditResult } from '../controls/types.js';
import { ExitCode, worstExit } from '../errors.js';
import { deadRunOf, deadRunWarning } from '../facts/kubemend-state.js';
import { selectNodes } from '../inventory/load.js';
import type { NodeTarget } from '../inventory/types.js';
import type { GatherOptions } from '../node/gather-script.js';
import { inspectNodes, type Inspection } from '../node/inspect.js';
import { terminalPassphrasePrompt } from '../node/ssh/index.js';
import { checkPlaybookChoices } from '../playbook/load.js';
import { summarize, type AuditReport, type NodeSummary } from '../report/audit-report.js';
import { makeColors, type Colors } from '../report/colors.js';
import { errorLine } from '../report/error-line.js';
import { renderAuditJunit } from '../report/junit.js';
import { renderAuditMarkdown } from '../report/markdown.js';
import { renderAuditTable } from '../report/table.js';
import type { GivenCertificate } from '../fleet/trust.js';
import { TOOL } from '../version.js';
import { auditFleet, clustersOf, loadGivenCertificates, warnResults } from './fleet.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { Progress } from './progress.js';
import { commandApiGate, commandTargets } from './targets.js';
import { warnApiReach } from '../cluster/reach-check.js';
import { realClock } from '../apply/clock.js';

/** Connects to the selected nodes and inspects them, with progress on stderr. */
export async function inspectSelected(
  opts: CommonOptions,
  io: Io,
  verb: string,
  gather?: (target: NodeTarget) => GatherOptions,
): Promise<Inspection[]> {
  const nodes = selectNodes(await commandTargets(opts, io), opts.limit);
  checkPlaybookChoices(nodes, opts.playbook);
  const progress = new Progress(io, nodes.length, verb, opts.verbose);
  const inspections = await inspectNodes(nodes, {
    concurrency: opts.concurrency,
    connectTimeoutSec: opts.connectTimeout,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    env: io.env,
    ...(gather ? { gather } : {}),
    ...(io.stdinIsTTY && io.stderr.isTTY ? { askPassphrase: terminalPassphrasePrompt() } : {}),
    onStart: (n) => progress.start(n),
    onDone: (i) =>
      progress.finish(
        i.target.name,
        `${i.ok ? 'read' : `unreachable: ${i.error.message}`}${i.transport ? ` [ssh: ${i.transport}, ${i.transportWhy}]` : ''}`,
      ),
  });
  progress.end();
  return inspections;
}

export function buildAuditReport(
  inspections: readonly Inspection[],
  opts: Pick<CommonOptions, 'controls'>,
  startedAt: Date,
  finishedAt: Date,
  given: readonly GivenCertificate[] = [],
): AuditReport {
  const results: AuditResult[] = [];
  const nodes: NodeSummary[] = [];
  const clusters = clustersOf(inspections);
  const errors: { node: string; error: string }[] = [];
  for (const i of inspections) {
    const name = i.target.name;
    if (i.ok) {
      nodes.push({
        node: name,
        host: i.target.host,
        role: i.model.role,
        layout: i.model.layout,
        ...(clusters.get(name) ? { cluster: clusters.get(name)!.name } : {}),
        reachable: true,
        ...(i.transport ? { transport: i.transport } : {}),
      });
      const own = runControls(name, i.model, opts.controls, finishedAt);
      const dead = deadRunOf(i.model.facts);
      if (dead) for (const r of own) r.warnings.unshift(deadRunWarning(name, dead));
      results.push(...own);
    } else {
      nodes.push({
        node: name,
        host: i.target.host,
        role: i.target.role ?? null,
        layout: i.target.layout ?? null,
        reachable: false,
        ...(i.transport ? { transport: i.transport } : {}),
      });
      const message = i.error.fix ? `${i.error.message} (fix: ${i.error.fix})` : i.error.message;
      errors.push({ node: name, error: message });
      results.push(...errorResults(name, opts.controls, i.error.message));
    }
  }
  warnResults(results, auditFleet(inspections, given));
  return {
    version: 1,
    tool: TOOL,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    nodes,
    results,
    errors,
    summary: summarize(results),
  };
}

/** 3 when a node could not be read; 1 for a failure or an undecidable result on a node that was read. */
export function auditExitCode(report: AuditReport): ExitCode {
  const down = new Set(report.errors.map((e) => e.node));
  const findings = report.results.some(
    (r) => r.status === 'fail' || (r.status === 'error' && !down.has(r.node)),
  );
  return worstExit([
    down.size > 0 ? ExitCode.unreachable : ExitCode.ok,
    findings ? ExitCode.findings : ExitCode.ok,
  ]);
}

export function renderAudit(report: AuditReport, opts: CommonOptions, io: Io): string {
  switch (opts.output) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'junit':
      return renderAuditJunit(report);
    case 'markdown':
      return renderAuditMarkdown(report);
    case 'table': {
      const colors = makeColors(wantColor(io, 'stdout', !opts.color));
      const out = renderAuditTable(report, colors, {
        verbose: opts.verbose,
        // Sized to the terminal; a pipe or a file gets one line per row, as before.
        width: io.stdout.isTTY ? io.stdout.columns : undefined,
      });
      return out;
    }
  }
}

/** Each node that could not be read: one error line for stderr, naming it (whatever the output format). */
export const renderAuditErrors = (report: AuditReport, c: Colors): string =>
  report.errors.map((e) => errorLine(e.node, e.error, c)).join('');

export async function runAudit(opts: CommonOptions, io: Io): Promise<ExitCode> {
  const startedAt = io.now();
  const given = loadGivenCertificates(opts.apiserverKubeletCert);
  const inspections = await inspectSelected(opts, io, 'auditing');
  const report = buildAuditReport(inspections, opts, startedAt, io.now(), given);
  // With the cluster's kubeconfig: can its API server reach each kubelet (read-only)?
  const gate = await commandApiGate(opts, io, realClock);
  if (gate) await warnApiReach(report, gate);
  io.stdout.write(renderAudit(report, opts, io));
  io.stderr.write(renderAuditErrors(report, makeColors(wantColor(io, 'stderr', !opts.color))));
  return auditExitCode(report);
}
