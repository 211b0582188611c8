/**
 * The live trust gate through the API server (issue 22): after a kubelet gets a new client CA, ask
 * the cluster's API server for /api/v1/nodes/NODE/proxy/healthz and …/pods. The API server dials
 * the kubelet with its own kubelet client certificate, the channel `kubectl logs`/`exec` use, so
 * this proves it on a managed control plane that nobody can SSH to. 200 passes; the kubelet's 401
 * or 403 relayed, or a TLS failure between them, fails the gate (rolled back). An answer that
 * proves nothing (the kubelet not answering yet, the API server unreachable) leaves the SSH probes
 * from control planes (trust-gate.ts) to decide, as before. A kubelet whose door the change closed
 * is asked by those SSH probes as well, for the request with no credentials.
 */
import type { Clock } from '../apply/clock.js';
import { changesChannel } from '../controls/index.js';
import { closesDoor, type FleetNode, type ProbeRecord, type TrustResult } from '../apply/trust-gate.js';
import { proxyGet, type Cluster, type ProxyAnswer } from './kube-api.js';

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
  if ('message' in answer && /\b(tls|x509|certificate|handshake)\b/i.test(answer.message))
    return { answer: 'tls', verdict: 'rejected' };
  return { answer: answer.status === 0 ? 'unreachable' : String(answer.status), verdict: 'not proven' };
}

/** The gate's path through one cluster's API server, for the nodes of that cluster. */
export interface ApiGate {
  cluster: Cluster;
  clock: Clock;
}

/** True when this gate can prove `changed`'s channel: a kubelet change on a node of its cluster. */
export function apiGateApplies(gate: ApiGate, changed: FleetNode): boolean {
  return (
    changed.target.cluster === gate.cluster.name &&
    changesChannel(changed.plan.changes, ['kubelet-trust', 'kubelet-access'])
  );
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
 * when it does not or when the API server's answers prove nothing either way.
 */
export async function gateThroughApi(
  gate: ApiGate | undefined,
  changed: FleetNode,
  viaSsh: () => Promise<TrustResult>,
): Promise<TrustResult> {
  if (!gate || !apiGateApplies(gate, changed)) return viaSsh();
  let records = await probeOnce(gate, changed.plan.node);
  if (records.some((r) => r.verdict === 'not proven')) {
    // A kubelet that has just restarted may need a moment on its port.
    await gate.clock.sleep(3000);
    records = await probeOnce(gate, changed.plan.node);
  }
  if (records.some((r) => r.verdict === 'rejected')) return { records, skipped: [] };
  // A closed door is also asked with no credentials, which only the SSH probes do (the API server
  // always presents its own): they run too, and say so when no control plane could.
  if (records.every((r) => r.verdict === 'trusted') && !closesDoor(changed.plan))
    return { records, skipped: [] };
  const ssh = await viaSsh();
  return { records: [...records, ...ssh.records], skipped: ssh.skipped };
}
