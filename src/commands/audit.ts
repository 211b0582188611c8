import type { ExitCode } from '../errors.js';
import { selectNodes } from '../inventory/load.js';
import type { NodeTarget } from '../inventory/types.js';
import type { GatherOptions } from '../node/gather-script.js';
import { inspectNodesKeeping, type Inspection } from '../node/inspect.js';
import { terminalPassphrasePrompt } from '../node/ssh/index.js';
import { checkPlaybookChoices } from '../playbook/load.js';
import {
  auditExitCode,
  auditNode as judgeNode,
  auditReportOf,
  buildAuditReport as buildReport,
  type AuditedNode,
  type FleetWarn,
} from '../report/audit-build.js';
import type { AuditReport } from '../report/audit-report.js';
import type { JudgedRead } from '../plan/build.js';
import { makeColors, type Colors } from '../report/colors.js';
import { errorLine } from '../report/error-line.js';
import { renderAuditJunit } from '../report/junit.js';
import { renderAuditMarkdown } from '../report/markdown.js';
import { writeJson } from '../report/json-stream.js';
import { renderAuditTable } from '../report/table.js';
import type { GivenCertificate } from '../fleet/trust.js';
import { currentMember, judgeCurrent, loadGivenCertificates, warnResults } from './fleet.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { Progress } from './progress.js';
import { commandApiGate, commandTargets } from './targets.js';
import { warnApiReach } from '../cluster/reach-check.js';
import { realClock } from '../apply/clock.js';

/** Connects to the selected nodes and inspects them, with progress on stderr. */
export const inspectSelected = (
  opts: CommonOptions,
  io: Io,
  verb: string,
  gather?: (target: NodeTarget) => GatherOptions,
): Promise<Inspection[]> => inspectSelectedKeeping(opts, io, verb, (i) => i, gather);

/** The same, keeping of each node only what `keep` returns (as it finishes; its facts are dropped). */
export async function inspectSelectedKeeping<T>(
  opts: CommonOptions,
  io: Io,
  verb: string,
  keep: (inspection: Inspection) => T,
  gather?: (target: NodeTarget) => GatherOptions,
): Promise<T[]> {
  const nodes = selectNodes(await commandTargets(opts, io), opts.limit);
  checkPlaybookChoices(nodes, opts.playbook);
  const progress = new Progress(io, nodes.length, verb, opts.verbose);
  const kept = await inspectNodesKeeping(
    nodes,
    {
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
          !i.ok,
        ),
    },
    keep,
  );
  progress.end();
  return kept;
}

/** The fleet step on the current state, as commands/fleet.ts runs it (with --apiserver-kubelet-cert's certificates). */
const fleetWarnWith =
  (given: readonly GivenCertificate[]): FleetWarn =>
  (results, members) =>
    warnResults(results, judgeCurrent(members, given));

/** Judges one node as it finishes reading (report/audit-build.ts), its fleet member from its inspection. */
export const auditNode = (i: Inspection, controls: CommonOptions['controls'], now: Date): AuditedNode =>
  judgeNode(i, controls, now, currentMember(i));

/** The audit document of nodes read all at once (report/audit-build.ts), the fleet step bound here. */
export const buildAuditReport = (
  inspections: readonly Inspection[],
  opts: Pick<CommonOptions, 'controls'>,
  startedAt: Date,
  finishedAt: Date,
  given: readonly GivenCertificate[] = [],
): AuditReport =>
  buildReport(inspections, opts.controls, startedAt, finishedAt, currentMember, fleetWarnWith(given));

/** The audit document of nodes judged already (the session): the results as judged, the fleet step last. */
export const auditJudged = (
  nodes: readonly JudgedRead<Inspection>[],
  opts: Pick<CommonOptions, 'controls' | 'apiserverKubeletCert'>,
  startedAt: Date,
  finishedAt: Date,
): AuditReport =>
  auditReportOf(
    nodes.map((n) => judgeNode(n.read, opts.controls, n.at, currentMember(n.read), n.judged)),
    startedAt,
    finishedAt,
    fleetWarnWith(loadGivenCertificates(opts.apiserverKubeletCert)),
  );

export { auditExitCode };

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

/** The audit on stdout: JSON piece by piece (the same bytes as renderAudit), never one string. */
export function writeAudit(report: AuditReport, opts: CommonOptions, io: Io): void {
  if (opts.output !== 'json') {
    io.stdout.write(renderAudit(report, opts, io));
    return;
  }
  writeJson(report, (chunk) => io.stdout.write(chunk));
  io.stdout.write('\n');
}

/** Each node that could not be read: one error line for stderr, naming it (whatever the output format). */
export const renderAuditErrors = (report: AuditReport, c: Colors): string =>
  report.errors.map((e) => errorLine(e.node, e.error, c)).join('');

export async function runAudit(opts: CommonOptions, io: Io): Promise<ExitCode> {
  const startedAt = io.now();
  const given = loadGivenCertificates(opts.apiserverKubeletCert);
  // Each node judged as it finishes, its facts dropped: memory stays flat in the number of nodes.
  const audited = await inspectSelectedKeeping(opts, io, 'auditing', (i) =>
    auditNode(i, opts.controls, io.now()),
  );
  const report = auditReportOf(audited, startedAt, io.now(), fleetWarnWith(given));
  // With the cluster's kubeconfig: can its API server reach each kubelet (read-only)?
  const gate = await commandApiGate(opts, io, realClock);
  if (gate) await warnApiReach(report, gate);
  writeAudit(report, opts, io);
  io.stderr.write(renderAuditErrors(report, makeColors(wantColor(io, 'stderr', !opts.color))));
  return auditExitCode(report);
}
