/**
 * The fleet step of the decide layer (pure): the kube-apiserver → kubelet channel across nodes.
 *
 * A kubelet with a client CA answers a kube-apiserver only if that CA signed the apiserver's
 * kubelet client certificate; otherwise `kubectl logs/exec/attach/port-forward` get 401 while
 * everything looks healthy (kubeadm #2015, kops #3891). So, per cluster: every kubelet whose client
 * CA is set (now or by the plan) must verify the kubelet client certificate (now or planned) of every
 * control plane of that cluster in the selection. A planned change that would break that is
 * blocked (the kubelet's first: it is the one that starts checking); a broken channel that nothing
 * planned causes is a warning about the current state. Pairs on one node are judged by the node's
 * own plan and audit (controls/kubelet-client-ca/plan.ts, the controls' checks), not again here.
 */
import type { X509Certificate } from 'node:crypto';
import { issuedBy } from '../controls/certs.js';
import type { BlockedItem } from '../plan/types.js';
import type { ClusterId } from './clusters.js';

/** The client CA a kubelet verifies callers with. */
export interface KubeletTrust {
  caFile: string;
  /** The bundle's certificates as read on the node (empty: not readable, nothing to judge). */
  certs: X509Certificate[];
  /** Other CA bundles on the node, for the way out ("use … which does"). */
  bundles?: { path: string; certs: X509Certificate[] }[];
}

/** The client certificate a kube-apiserver presents to kubelets. */
export interface ApiserverTrust {
  certificate: string;
  key: string;
  /** The certificate as read on the node; absent when it is still to be issued. */
  cert?: X509Certificate;
  /** plan --issue-certs: the CA bundle that will sign it (its first certificate signs). */
  issuer?: { path: string; certs: X509Certificate[] };
}

export interface FleetMember {
  node: string;
  cluster?: ClusterId;
  kubelet?: { now?: KubeletTrust; planned?: KubeletTrust };
  apiserver?: { now?: ApiserverTrust; planned?: ApiserverTrust };
}

/** A public certificate the admin gave for control planes kubemend cannot reach (--apiserver-kubelet-cert). */
export interface GivenCertificate {
  source: string;
  cert: X509Certificate;
}

export interface FleetVerdict {
  blocked: BlockedItem[];
  /** About the kubelet control of this node. */
  kubeletWarnings: string[];
  /** About the apiserver control of this node. */
  apiserverWarnings: string[];
}

/** true: the kubelet accepts the certificate; false: 401; undefined: not enough known to tell. */
export function accepts(k: KubeletTrust, a: ApiserverTrust): boolean | undefined {
  if (k.certs.length === 0) return undefined;
  if (a.cert) return issuedBy(a.cert, k.certs);
  // To be issued: the signer is the issuer bundle's first certificate; a CA renewed with the same
  // subject and key signs alike.
  const signer = a.issuer?.certs[0];
  if (!signer) return undefined;
  return k.certs.some((c) => c.subject === signer.subject && c.publicKey.equals(signer.publicKey));
}

interface Caller {
  node: string;
  /** How messages name it: "cp-1's kubelet client certificate /etc/…" */
  name: string;
  trust: ApiserverTrust;
  planned: boolean;
  member?: FleetMember;
}

/** A kubelet and a caller it would reject (or could not be judged against). */
interface Pair {
  k: FleetMember;
  trust: KubeletTrust;
  kPlanned: boolean;
  c: Caller;
  verdict: boolean | undefined;
}

const key = (m: FleetMember) => m.cluster?.name ?? `?${m.node}`;

function describeCaller(node: string, a: ApiserverTrust, planned: boolean): string {
  if (!a.cert && a.issuer)
    return `the kubelet client certificate ${a.certificate} that ${node} is planned to issue from ${a.issuer.path}`;
  return `${node}'s ${planned ? 'planned ' : ''}kubelet client certificate ${a.certificate}`;
}

/** The way out for a kubelet: a bundle on the node that does verify the caller, or the params. */
function kubeletFix(k: KubeletTrust, callers: readonly Caller[]): string {
  const good = (k.bundles ?? []).find((b) =>
    callers.every((c) => accepts({ caFile: b.path, certs: b.certs }, c.trust) === true),
  );
  const issuers = [
    ...new Set(callers.map((c) => (c.trust.cert ? c.trust.cert.issuer.replaceAll('\n', ', ') : ''))),
  ]
    .filter(Boolean)
    .map((s) => `"${s}"`);
  return good
    ? `point kubelet.clientCAFile at ${good.path}, which verifies it (inventory params or -p playbook), and plan again`
    : `give the kubelet a client CA bundle that holds the CA that signed it${issuers.length ? ` (issuer ${issuers.join(', ')})` : ''}: copy it to the node and set kubelet.clientCAFile in the node's params, or reissue the certificate from ${k.caFile}`;
}

/**
 * Judges the fleet: the nodes to block and the warnings each node's results carry. A blocked node
 * is blocked whole (apply changes nothing on it), so both its ends are judged as they are now.
 * `mode: plan` also warns on kubelets whose planned client CA could not be checked.
 */
export function judgeFleet(
  members: readonly FleetMember[],
  opts: { given?: readonly GivenCertificate[]; mode: 'audit' | 'plan' },
): Map<string, FleetVerdict> {
  const verdicts = new Map<string, FleetVerdict>(
    members.map((m) => [m.node, { blocked: [], kubeletWarnings: [], apiserverWarnings: [] }]),
  );
  const verdict = (node: string) => verdicts.get(node)!;
  const clusters = new Map<string, FleetMember[]>();
  for (const m of members) clusters.set(key(m), [...(clusters.get(key(m)) ?? []), m]);

  const blocked = new Set<string>();
  const kubeletOf = (m: FleetMember) =>
    blocked.has(m.node) ? m.kubelet?.now : (m.kubelet?.planned ?? m.kubelet?.now);
  const apiserverOf = (m: FleetMember) =>
    blocked.has(m.node) ? m.apiserver?.now : (m.apiserver?.planned ?? m.apiserver?.now);
  const callersOf = (group: readonly FleetMember[]): Caller[] => {
    const own: Caller[] = group.flatMap((m) => {
      const trust = apiserverOf(m);
      const planned = Boolean(m.apiserver?.planned) && !blocked.has(m.node);
      return trust
        ? [{ node: m.node, name: describeCaller(m.node, trust, planned), trust, planned, member: m }]
        : [];
    });
    // A control plane in the group that presents no certificate calls kubelets anonymously: nothing to check.
    if (own.length > 0 || group.some((m) => m.apiserver)) return own;
    return (opts.given ?? []).map((g) => ({
      node: g.source,
      name: `the kube-apiserver's kubelet client certificate ${g.source} (--apiserver-kubelet-cert)`,
      trust: { certificate: g.source, key: '', cert: g.cert },
      planned: false,
    }));
  };
  /** Every kubelet–caller pair of a cluster as the plan now stands. Pairs on one node count only when planned. */
  const pairs = function* (): Generator<Pair> {
    for (const group of clusters.values()) {
      const callers = callersOf(group);
      for (const k of group) {
        const trust = kubeletOf(k);
        if (!trust) continue;
        const kPlanned = Boolean(k.kubelet?.planned) && !blocked.has(k.node);
        for (const c of callers) {
          if (c.node === k.node && !kPlanned && !c.planned) continue;
          yield { k, trust, kPlanned, c, verdict: accepts(trust, c.trust) };
        }
      }
    }
  };
  /** The first pair a planned change would break. */
  const firstBreak = (): Pair | undefined => {
    for (const p of pairs()) if (p.verdict === false && (p.kPlanned || (p.c.planned && p.c.member))) return p;
    return undefined;
  };

  // Block until no planned change breaks a channel: the kubelet's change first (it starts checking),
  // else the control plane's; each block reverts a whole node, so the fleet is judged again after it.
  const reasons = new Map<string, FleetVerdict['blocked'][number]>();
  for (let p = firstBreak(); p; p = firstBreak()) {
    const outcome = `kubectl logs/exec on ${p.k.node} would get 401 Unauthorized`;
    if (p.kPlanned) {
      blocked.add(p.k.node);
      reasons.set(p.k.node, {
        control: 'kubelet-client-ca',
        reason: `the client CA ${p.trust.caFile} on ${p.k.node} does not verify ${p.c.name}: ${outcome}`,
        fix: kubeletFix(p.trust, callersOf(clusters.get(key(p.k)) ?? [])),
      });
    } else {
      blocked.add(p.c.node);
      reasons.set(p.c.node, {
        control: 'apiserver-kubelet-client-cert',
        reason: `${p.c.name} is not signed by the client CA ${p.trust.caFile} of ${p.k.node}: ${outcome}`,
        fix: `use a kubelet client certificate signed by the CA in ${p.trust.caFile} of ${p.k.node} (apiserver.kubeletClientCertificate in the node's params), or give ${p.k.node} a client CA that holds its issuer`,
      });
    }
  }
  // A kubelet blocked early may be fine once a control plane was blocked later: let it go if so.
  for (const [node, item] of reasons) {
    if (item.control !== 'kubelet-client-ca') continue;
    blocked.delete(node);
    if (firstBreak()) blocked.add(node);
    else reasons.delete(node);
  }
  for (const [node, item] of reasons) verdict(node).blocked.push(item);

  // What stays broken was not caused by a planned change: the current state, reported.
  const unchecked = new Set<string>();
  for (const p of pairs()) {
    if (p.verdict === false && p.c.node !== p.k.node) {
      verdict(p.k.node).kubeletWarnings.push(
        `the client CA ${p.trust.caFile} on ${p.k.node} does not verify ${p.c.name}: kubectl logs/exec on ${p.k.node} get 401 Unauthorized`,
      );
      if (p.c.member)
        verdict(p.c.node).apiserverWarnings.push(
          `${p.c.name} is not accepted by the client CA ${p.trust.caFile} of ${p.k.node}: kubectl logs/exec on ${p.k.node} get 401 Unauthorized`,
        );
    }
    if (
      opts.mode === 'plan' &&
      p.verdict === undefined &&
      p.kPlanned &&
      !unchecked.has(`${p.k.node}\0${p.c.node}`)
    ) {
      unchecked.add(`${p.k.node}\0${p.c.node}`);
      verdict(p.k.node).kubeletWarnings.push(
        `fleet trust check not made between ${p.k.node} and ${p.c.node}: ${p.c.name} could not be read, so kubemend cannot tell whether the client CA ${p.trust.caFile} verifies it; check it by hand (openssl verify -CAfile ${p.trust.caFile} CERT)`,
      );
    }
  }
  if (opts.mode === 'plan')
    for (const group of clusters.values()) {
      if (callersOf(group).length > 0 || group.some((m) => m.apiserver)) continue;
      for (const k of group) {
        const trust = kubeletOf(k);
        if (!trust || !k.kubelet?.planned || blocked.has(k.node)) continue;
        const cluster = k.cluster
          ? `no control plane of cluster ${k.cluster.name} is in the selection`
          : `kubemend could not tell which cluster ${k.node} belongs to (no cluster CA in its kubelet's kubeconfig)`;
        verdict(k.node).kubeletWarnings.push(
          `fleet trust check not run for ${k.node}: ${cluster}, so kubemend cannot tell whether the client CA ${trust.caFile} verifies the kube-apiserver's kubelet client certificate; include a control plane of the cluster (-l), set cluster: in the inventory, or give the apiserver's public certificate with --apiserver-kubelet-cert FILE (on kubeadm a copy of /etc/kubernetes/pki/apiserver-kubelet-client.crt; on a managed control plane, the cluster CA signs it)`,
        );
      }
    }
  return verdicts;
}
