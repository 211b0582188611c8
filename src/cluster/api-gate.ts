/**
 * The live trust gate through the API server (issue 22): after a kubelet gets a new client CA, ask
 * the cluster's API server for /api/v1/nodes/NODE/proxy/healthz and …/pods. The API server dials
 * the kubelet with its own kubelet client certificate, the channel `kubectl logs`/`exec` use, so
 * this proves it on a managed control plane that nobody can SSH to. 200 passes; the kubelet's 401
 * or 403 relayed, or a TLS failure between them, fails the gate (rolled back). An answer that
 * proves nothing (the kubelet not answering yet, the API server unreachable) leaves the SSH probes
 * from control planes (trust-gate.ts) to decide, as before. After a kube-apiserver gets a new
 * kubelet client pair, one kubelet that verifies callers is asked the same way (apiGateTargets).
 * A kubelet whose door the change closed is asked by those SSH probes as well, for the request
 * with no credentials.
 */
import type { Clock } from '../apply/clock.js';
import {
  changesApiserver,
  changesKubelet,
  closesDoor,
  verifyingKubelets,
  type FleetNode,
  type ProbeRecord,
  type TrustResult,
} from '../apply/trust-gate.js';
import { listedNames, proxyGet, type Cluster, type ProxyAnswer } from './kube-api.js';

/** The kubelet paths asked through the proxy: health, and the pod list `kubectl logs` starts from. */
export const PROXY_PATHS = ['healthz', 'pods'] as const;

/** What one proxied answer proves. */
export function proxyVerdict(answer: ProxyAnswer): { answer: string; verdict: ProbeRecord['verdict'] } {
  if (answer.status === 200) return { answer: '200', verdict: 'trusted' };
  if (
    'refusedBy' in answer &&
    answer.refusedBy === 'kubelet' &&
    (answer.status === 401 || answer.status === 403)
  )
    return { answer: String(answer.status), verdict: 'rejected' };
  // Only the API server's own Status on its failure to reach the kubelet can tell of a TLS failure
  // between them; never the API server refusing us, a transport failure, or names in our message.
  if (
    'apiStatus' in answer &&
    answer.status >= 500 &&
    /\b(tls|x509|certificate|handshake)\b/i.test(answer.apiStatus ?? '')
  )
    return { answer: 'tls', verdict: 'rejected' };
  return { answer: answer.status === 0 ? 'unreachable' : String(answer.status), verdict: 'not proven' };
}

/** The gate's path through one cluster's API server, for the nodes of that cluster. */
export interface ApiGate {
  cluster: Cluster;
  clock: Clock;
}

/**
 * The kubelets whose answers through this gate's API server prove `changed`'s channel:
 * - a kubelet change (client CA, anonymous, authorization mode) on a node of the cluster: that
 *   kubelet, whichever API server answers;
 * - a kube-apiserver change (its kubelet client pair) on a control plane of the cluster: one kubelet
 *   that verifies callers (its own, else another of the cluster, trust-gate.ts verifyingKubelets).
 *   The answer comes from the API server the kubeconfig names: the changed one on a single control
 *   plane or where the kubeconfig points at it, maybe another behind a load balancer. So the SSH
 *   probe from the changed control plane, with the pair its running kube-apiserver presents, runs
 *   too, and either one's rejection rolls it back.
 */
export function apiGateTargets(
  gate: ApiGate,
  changed: FleetNode,
  fleet: readonly FleetNode[],
  applied: ReadonlySet<string>,
): { kubelets: string[]; apiserver: boolean } {
  const none = { kubelets: [], apiserver: false };
  if (changed.target.cluster !== gate.cluster.name) return none;
  const apiserver = changesApiserver(changed.plan) && changed.plan.role === 'control-plane';
  if (changesKubelet(changed.plan)) return { kubelets: [changed.plan.node], apiserver };
  if (!apiserver) return none;
  const kubelets = verifyingKubelets(changed, fleet, applied).filter(
    (k) => k.target.cluster === gate.cluster.name,
  );
  const one = kubelets.find((k) => k.plan.node === changed.plan.node) ?? kubelets[0];
  return one ? { kubelets: [one.plan.node], apiserver: true } : none;
}

async function probeOnce(gate: ApiGate, node: string): Promise<ProbeRecord[]> {
  const records: ProbeRecord[] = [];
  for (const path of PROXY_PATHS) {
    const answer = await proxyGet(gate.cluster, node, path);
    records.push({
      from: 'kube-apiserver',
      to: node,
      url: `${gate.cluster.server}/api/v1/nodes/${node}/proxy/${path}`,
      certificate: "the API server's --kubelet-client-certificate",
      ...proxyVerdict(answer),
      path: 'api-server',
      ...('message' in answer ? { detail: answer.message.slice(0, 300) } : {}),
    });
  }
  return records;
}

/**
 * The gate for `changed`: through the API server where it applies, and the SSH probes (`viaSsh`)
 * when it does not, when the API server's answers prove nothing either way, and (as well) for a
 * kube-apiserver change. `fleet` and `applied` are the run's nodes and those changed so far.
 */
export async function gateThroughApi(
  gate: ApiGate | undefined,
  changed: FleetNode,
  viaSsh: () => Promise<TrustResult>,
  fleet: readonly FleetNode[] = [changed],
  applied: ReadonlySet<string> = new Set(),
): Promise<TrustResult> {
  const { kubelets, apiserver } = gate
    ? apiGateTargets(gate, changed, fleet, applied)
    : { kubelets: [], apiserver: false };
  if (!gate || kubelets.length === 0) return viaSsh();
  const node = kubelets[0]!;
  // Only a Node this API server lists: not an inventory node that merely names the cluster.
  if (!(await listedNames(gate.cluster)).has(node)) return viaSsh();
  let records = await probeOnce(gate, node);
  if (records.some((r) => r.verdict === 'not proven')) {
    // A kubelet (or a kube-apiserver) that has just restarted may need a moment.
    await gate.clock.sleep(3000);
    records = await probeOnce(gate, node);
  }
  if (records.some((r) => r.verdict === 'rejected')) return { records, skipped: [] };
  // A closed door is also asked with no credentials, which only the SSH probes do (the API server
  // always presents its own): they run too, and say so when no control plane could.
  if (!apiserver && records.every((r) => r.verdict === 'trusted') && !closesDoor(changed.plan))
    return { records, skipped: [] };
  const ssh = await viaSsh();
  return { records: [...records, ...ssh.records], skipped: ssh.skipped };
}
