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
import { channelControls } from '../controls/index.js';
import type { ControlId } from '../controls/types.js';
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
  /**
   * The controls of the node's plan that close the kubelet's door (channel `kubelet-access`: anonymous
   * requests refused, AlwaysAllow off). After them the kubelet serves the kube-apiserver only if its
   * client CA verifies the apiserver's kubelet client certificate.
   */
  closes?: ControlId[];
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

/** A door a planned change would close on a kubelet that could not then recognise its kube-apiserver. */
interface Door {
  k: FleetMember;
  /** No client CA (now or planned), or a control plane of the cluster that presents no kubelet client pair. */
  missing: 'client-ca' | 'apiserver-pair';
  cp?: FleetMember;
}

/** `--controls a,b`: the ids of these channels' controls and the node's own, each once. */
const controlsFlag = (
  channels: NonNullable<Parameters<typeof channelControls>[0]>[],
  own: readonly ControlId[],
) => `--controls ${[...new Set([...channels.flatMap(channelControls), ...own])].join(',')}`;

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
  const closing = (m: FleetMember) => Boolean(m.closes?.length) && !blocked.has(m.node);
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
        const kPlanned = (Boolean(k.kubelet?.planned) || closing(k)) && !blocked.has(k.node);
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

  /**
   * The first kubelet whose planned door closing would shut out its kube-apiserver whatever the
   * certificates: no client CA to recognise it with, or a control plane of its cluster in the
   * selection that calls kubelets with no client certificate at all (as the plan leaves it).
   */
  const firstDoor = (): Door | undefined => {
    for (const group of clusters.values())
      for (const k of group) {
        if (!closing(k)) continue;
        if (!kubeletOf(k)) return { k, missing: 'client-ca' };
        const cp = group.find((m) => m.apiserver && !apiserverOf(m));
        if (cp) return { k, missing: 'apiserver-pair', cp };
      }
    return undefined;
  };
  const doorItem = ({ k, missing, cp }: Door): BlockedItem => {
    const own = k.closes ?? [];
    const closes = `once ${k.node}'s kubelet refuses anonymous requests or stops allowing everything (${own.join(', ')}), kubectl logs/exec on ${k.node} would get 401 Unauthorized or 403 Forbidden`;
    const planned = k.kubelet?.planned ? ['kubelet-trust' as const] : [];
    return missing === 'client-ca'
      ? {
          control: own[0]!,
          reason: `${k.node}'s kubelet has no client CA (clientCAFile, --client-ca-file), so it cannot recognise the kube-apiserver's kubelet client certificate: ${closes}`,
          fix: `plan the client CA in the same apply (${controlsFlag(['kubelet-trust'], own)}), or give the kubelet a client CA first`,
        }
      : {
          control: own[0]!,
          reason: `the kube-apiserver on ${cp!.node} presents no kubelet client certificate (--kubelet-client-certificate/--kubelet-client-key): it calls kubelets anonymously, so ${closes}`,
          fix: `plan the apiserver's pair in the same apply (${controlsFlag([...planned, 'apiserver-identity'], own)}, with ${cp!.node} selected), or give the kube-apiserver its kubelet client pair first`,
        };
  };

  // Block until no planned change breaks a channel: the kubelet's change first (it starts checking),
  // else the control plane's; each block reverts a whole node, so the fleet is judged again after it.
  // A door that would shut the kube-apiserver out whatever the certificates blocks its kubelet.
  const reasons = new Map<string, FleetVerdict['blocked'][number]>();
  const kubeletSide = new Set<string>();
  const [trustControl] = channelControls('kubelet-trust');
  const [identityControl] = channelControls('apiserver-identity');
  for (
    let p = firstBreak(), d = p ? undefined : firstDoor();
    p || d;
    p = firstBreak(), d = p ? undefined : firstDoor()
  ) {
    if (d) {
      blocked.add(d.k.node);
      reasons.set(d.k.node, doorItem(d));
      continue;
    }
    if (!p) break;
    const outcome = `kubectl logs/exec on ${p.k.node} would get 401 Unauthorized`;
    if (p.kPlanned) {
      blocked.add(p.k.node);
      kubeletSide.add(p.k.node);
      // The client CA's change, or (the CA as it is now) the change that closes the door.
      const closed = !p.k.kubelet?.planned;
      reasons.set(p.k.node, {
        control: closed ? p.k.closes![0]! : trustControl!,
        reason: `the client CA ${p.trust.caFile} on ${p.k.node} does not verify ${p.c.name}: ${closed ? `once ${p.k.node}'s kubelet refuses anonymous requests or stops allowing everything, ` : ''}${outcome}`,
        fix: kubeletFix(p.trust, callersOf(clusters.get(key(p.k)) ?? [])),
      });
    } else {
      blocked.add(p.c.node);
      reasons.set(p.c.node, {
        control: identityControl!,
        reason: `${p.c.name} is not signed by the client CA ${p.trust.caFile} of ${p.k.node}: ${outcome}`,
        fix: `use a kubelet client certificate signed by the CA in ${p.trust.caFile} of ${p.k.node} (apiserver.kubeletClientCertificate in the node's params), or give ${p.k.node} a client CA that holds its issuer`,
      });
    }
  }
  // A kubelet blocked early may be fine once a control plane was blocked later: let it go if so.
  for (const node of kubeletSide) {
    blocked.delete(node);
    if (firstBreak() ?? firstDoor()) blocked.add(node);
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
        if (!trust || !(k.kubelet?.planned || k.closes?.length) || blocked.has(k.node)) continue;
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
