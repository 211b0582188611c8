/**
 * The live trust gate: after a kubelet restarts with a new client CA, or a kube-apiserver with new
 * kubelet client flags, prove the channel between them works. From a control plane of the node's
 * cluster, one HTTPS request to the kubelet's /healthz with that kube-apiserver's kubelet client
 * certificate and key, run on the control plane (the key stays there). 200 or 403 (authenticated,
 * not authorized) passes; 401 or a rejected TLS handshake fails the gate, which rolls the changed
 * node back like any other gate. An answer that proves neither (nothing listening at the address
 * the inventory gives, no curl or openssl) is reported as "not proven", never as a pass.
 */
import type { NodeTarget } from '../inventory/types.js';
import type { ProbeAnswer } from '../node/changes.js';
import type { NodePlan } from '../plan/types.js';

export interface FleetNode {
  plan: NodePlan;
  target: NodeTarget;
}

/** One run of the probe script on a control plane: its pair, and the kubelets to ask. */
export interface ProbeSpec {
  from: FleetNode;
  certificate: string;
  key: string;
  to: { node: string; url: string }[];
}

export interface ProbeRecord {
  from: string;
  to: string;
  url: string;
  answer: string;
  verdict: 'trusted' | 'rejected' | 'not proven';
}

const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

/** The kubelet's /healthz URL as a control plane dials it (the inventory's address), or why there is none. */
export function kubeletUrl(n: FleetNode, from: string): { url: string } | { why: string } {
  const port = n.plan.trust?.kubelet?.port ?? 10250;
  const host = n.target.host;
  if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^[0-9A-Fa-f:]+$/.test(host))
    return { why: `${n.plan.node}'s address "${host}" is not a host name or IP address ${from} can dial` };
  if (LOOPBACK.test(host) && from !== n.plan.node)
    return {
      why: `${n.plan.node}'s inventory address ${host} is loopback (a tunnel?): not an address ${from} reaches its kubelet at`,
    };
  return { url: `https://${host.includes(':') ? `[${host}]` : host}:${port}/healthz` };
}

/**
 * Pure: the probes that prove the channels `changed` now depends on, or why each could not run.
 * `applied`: nodes this run has changed so far (their planned state is now their state).
 */
export function probesFor(
  changed: FleetNode,
  fleet: readonly FleetNode[],
  applied: ReadonlySet<string>,
): { probes: ProbeSpec[]; skipped: string[] } {
  const plan = changed.plan;
  const name = plan.node;
  const kubeletChanged = plan.changes.some((c) => c.control === 'kubelet-client-ca');
  const apiserverChanged =
    plan.changes.some((c) => c.control === 'apiserver-kubelet-client-cert') || Boolean(plan.issue?.length);
  const probes: ProbeSpec[] = [];
  const skipped: string[] = [];
  if (!kubeletChanged && !apiserverChanged) return { probes, skipped };
  if (!plan.cluster)
    return {
      probes,
      skipped: [
        `kubemend could not tell which cluster ${name} belongs to (no cluster CA found; set cluster: in the inventory)`,
      ],
    };
  const sameCluster = fleet.filter((n) => n.plan.cluster === plan.cluster && n.plan.status !== 'error');
  // A node is as its plan says once it is applied, or when its plan changes nothing.
  const settled = (n: FleetNode) =>
    n.plan.node === name || n.plan.status !== 'change' || applied.has(n.plan.node);

  if (kubeletChanged && plan.trust?.kubelet) {
    const callers = sameCluster.filter((n) => n.plan.trust?.apiserverClient && settled(n));
    if (callers.length === 0)
      skipped.push(
        `no control plane of cluster ${plan.cluster} is in this run, so nothing could call ${name}'s kubelet as the kube-apiserver does; include one (-l) to prove the channel`,
      );
    for (const cp of callers) {
      const where = kubeletUrl(changed, cp.plan.node);
      if ('why' in where) {
        skipped.push(where.why);
        continue;
      }
      const pair = cp.plan.trust!.apiserverClient!;
      probes.push({ from: cp, ...pair, to: [{ node: name, url: where.url }] });
    }
  }
  if (apiserverChanged && plan.trust?.apiserverClient) {
    // Kubelets that verify callers now: a planned client CA counts once it is in place.
    const kubelets = sameCluster.filter(
      (n) =>
        n.plan.trust?.kubelet &&
        (n.plan.trust.kubelet.clientCA === 'now' ||
          applied.has(n.plan.node) ||
          (n.plan.node === name && kubeletChanged)),
    );
    const to: ProbeSpec['to'] = [];
    for (const k of kubelets) {
      const where = kubeletUrl(k, name);
      if ('why' in where) skipped.push(where.why);
      else to.push({ node: k.plan.node, url: where.url });
    }
    if (kubelets.length === 0)
      skipped.push(
        `no kubelet of cluster ${plan.cluster} with a client CA is in this run: nothing to prove ${name}'s new kubelet client certificate against`,
      );
    // A kubelet already asked from this node (its own, changed in the same run) is asked once.
    const asked = new Set(
      probes.filter((p) => p.from.plan.node === name).flatMap((p) => p.to.map((t) => t.url)),
    );
    const rest = to.filter((t) => !asked.has(t.url));
    if (rest.length > 0) probes.push({ from: changed, ...plan.trust.apiserverClient, to: rest });
  }
  return { probes, skipped };
}

/** What an answer proves: 200/403 the kubelet authenticated the caller; 401 or a TLS refusal it did not. */
export function verdictOf(answer: string): ProbeRecord['verdict'] {
  if (answer === '200' || answer === '403') return 'trusted';
  if (answer === '401' || answer === 'tls') return 'rejected';
  return 'not proven';
}

const MEANING: Record<string, string> = {
  '200': 'authenticated',
  '403': 'authenticated, not authorized',
  '401': 'Unauthorized: the kubelet does not trust the certificate',
  tls: 'the TLS handshake was rejected',
  connect: 'nothing answered at that address',
  timeout: 'no answer within 10 s',
  localcert: 'the certificate or key could not be used on the control plane',
  notool: 'neither curl nor openssl on the control plane',
};

export const describeProbe = (r: ProbeRecord): string =>
  `${r.from} → ${r.to} ${r.url}: ${r.answer} (${MEANING[r.answer] ?? 'no proof either way'})`;

/** The records of one probe run, matched back to the kubelets asked. */
export function records(spec: ProbeSpec, answers: readonly ProbeAnswer[]): ProbeRecord[] {
  return spec.to.map((t) => {
    const answer = answers.find((a) => a.url === t.url)?.answer ?? 'none';
    return { from: spec.from.plan.node, to: t.node, url: t.url, answer, verdict: verdictOf(answer) };
  });
}
