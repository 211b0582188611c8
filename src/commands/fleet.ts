/** The fleet step as audit and plan run it: clusters, the trust judgement, its verdicts on results and plans. */
import { readFileSync } from 'node:fs';
import { parsePemBundle } from '../controls/certs.js';
import type { AuditResult } from '../controls/types.js';
import { UsageError } from '../errors.js';
import { clusterOf, type ClusterId } from '../fleet/clusters.js';
import { currentTrust, fleetMember } from '../fleet/members.js';
import { judgeFleet, type FleetMember, type FleetVerdict, type GivenCertificate } from '../fleet/trust.js';
import type { Inspection } from '../node/inspect.js';

/** --apiserver-kubelet-cert FILE: public certificates only; a file with a private key is refused. */
export function loadGivenCertificates(path: string | undefined): GivenCertificate[] {
  if (!path) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read --apiserver-kubelet-cert ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new UsageError(`--apiserver-kubelet-cert ${path} holds a private key`, [
      'give only the public certificate (e.g. a copy of /etc/kubernetes/pki/apiserver-kubelet-client.crt); keys never leave a node',
    ]);
  const certs = parsePemBundle(text);
  if (certs.length === 0)
    throw new UsageError(`--apiserver-kubelet-cert ${path} holds no PEM certificate`, [
      'give the kube-apiserver\'s kubelet client certificate in PEM ("-----BEGIN CERTIFICATE-----")',
    ]);
  return certs.map((cert) => ({ source: path, cert }));
}

/** Each reachable node's cluster: the inventory's name, else its cluster CA's short fingerprint. */
export function clustersOf(inspections: readonly Inspection[]): Map<string, ClusterId | undefined> {
  return new Map(
    inspections.map((i) => [i.target.name, clusterOf(i.target.cluster, i.ok ? i.model : undefined)]),
  );
}

/**
 * What the fleet step needs of one node (its cluster, and as it runs now the kubelet's client CA and
 * the kube-apiserver's kubelet client certificate): small, kept when the node's facts are dropped.
 */
export function currentMember(i: Inspection): { cluster: ClusterId | undefined; member?: FleetMember } {
  const cluster = clusterOf(i.target.cluster, i.ok ? i.model : undefined);
  return i.ok ? { cluster, member: fleetMember(i.target.name, cluster, currentTrust(i.model)) } : { cluster };
}

/** The current state's verdict: warnings for each node's results (audit). */
export function auditFleet(
  inspections: readonly Inspection[],
  given: readonly GivenCertificate[],
): Map<string, FleetVerdict> {
  return judgeCurrent(
    inspections.flatMap((i) => currentMember(i).member ?? []),
    given,
  );
}

/** The same, from each reachable node's member as kept. */
export const judgeCurrent = (
  members: readonly FleetMember[],
  given: readonly GivenCertificate[],
): Map<string, FleetVerdict> => judgeFleet(members, { given, mode: 'audit' });

/** Puts the fleet's warnings on the results they are about. */
export function warnResults(results: AuditResult[], verdicts: ReadonlyMap<string, FleetVerdict>): void {
  for (const r of results) {
    const v = verdicts.get(r.node);
    if (!v) continue;
    r.warnings.push(...(r.control === 'kubelet-client-ca' ? v.kubeletWarnings : v.apiserverWarnings));
  }
}

/**
 * A copy of what a node's result keeps, made of JSON values only: text cut out of the node's
 * gathered output (evidence, values) is a slice that keeps the whole output alive in V8; the copy
 * holds its own strings. The result documents are JSON, so nothing they show changes.
 */
export const keptCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
