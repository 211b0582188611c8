/**
 * Audit's decide step (pure): each node's results from its facts as read, then the audit document
 * with the fleet step last. commands/audit.ts reads the nodes and prints; nothing here does I/O.
 */
import { errorResults, runControls } from '../controls/index.js';
import type { AuditResult, Control } from '../controls/types.js';
import { ExitCode, worstExit } from '../errors.js';
import { deadRunOf, deadRunWarning } from '../facts/kubemend-state.js';
import { keptCopy, type NodeRead } from '../facts/node-read.js';
import type { ClusterId } from '../fleet/clusters.js';
import type { FleetMember } from '../fleet/trust.js';
import { TOOL } from '../version.js';
import { summarize, type AuditReport, type NodeSummary } from './audit-report.js';

/** A node's place in its fleet as it runs now: its cluster, and its member when it was read. */
export interface CurrentMember {
  cluster: ClusterId | undefined;
  member?: FleetMember;
}

/** The fleet step on the current state: puts its warnings on the results, from each read node's member. */
export type FleetWarn = (results: AuditResult[], members: readonly FleetMember[]) => void;

/** What an audit keeps of one node: its line in `nodes`, its results, its fleet member, its error. */
export interface AuditedNode {
  summary: NodeSummary;
  results: AuditResult[];
  error?: { node: string; error: string };
  member?: FleetMember;
}

/**
 * Judges one node's controls from its facts (or takes its results, judged already: the session
 * plans from the same ones); what is returned no longer holds the facts.
 */
export function auditNode(
  i: NodeRead,
  controls: readonly Control[],
  now: Date,
  { cluster, member }: CurrentMember,
  judged?: readonly AuditResult[],
): AuditedNode {
  const name = i.target.name;
  const transport = i.transport ? { transport: i.transport } : {};
  if (!i.ok) {
    const message = i.error.fix ? `${i.error.message} (fix: ${i.error.fix})` : i.error.message;
    return {
      summary: {
        node: name,
        host: i.target.host,
        role: i.target.role ?? null,
        layout: i.target.layout ?? null,
        reachable: false,
        ...transport,
      },
      results: errorResults(name, controls, i.error.message),
      error: { node: name, error: message },
    };
  }
  const results = keptCopy(judged ? [...judged] : runControls(name, i.model, controls, now));
  const dead = deadRunOf(i.model.facts);
  if (dead) for (const r of results) r.warnings.unshift(deadRunWarning(name, dead));
  return {
    summary: {
      node: name,
      host: i.target.host,
      role: i.model.role,
      layout: i.model.layout,
      ...(cluster ? { cluster: cluster.name } : {}),
      reachable: true,
      ...transport,
    },
    results,
    ...(member ? { member } : {}),
  };
}

/** The audit document from what was kept of each node (in inventory order), the fleet step last. */
export function auditReportOf(
  audited: readonly AuditedNode[],
  startedAt: Date,
  finishedAt: Date,
  fleetWarn: FleetWarn,
): AuditReport {
  const results = audited.flatMap((a) => a.results);
  fleetWarn(
    results,
    audited.flatMap((a) => a.member ?? []),
  );
  return {
    version: 1,
    tool: TOOL,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    nodes: audited.map((a) => a.summary),
    results,
    errors: audited.flatMap((a) => a.error ?? []),
    summary: summarize(results),
  };
}

/** The audit document of nodes read all at once (the session): each judged at `finishedAt`. */
export const buildAuditReport = (
  reads: readonly NodeRead[],
  controls: readonly Control[],
  startedAt: Date,
  finishedAt: Date,
  current: (read: NodeRead) => CurrentMember,
  fleetWarn: FleetWarn,
): AuditReport =>
  auditReportOf(
    reads.map((i) => auditNode(i, controls, finishedAt, current(i))),
    startedAt,
    finishedAt,
    fleetWarn,
  );

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
