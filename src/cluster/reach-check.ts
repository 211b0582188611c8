/**
 * The read-only audit check "the API server can reach this kubelet" (issue 22): for each node of
 * the kubeconfig's cluster that was read and that its API server lists, GET /api/v1/nodes/NODE/proxy/healthz. Anything but 200
 * is a warning on the node's kubelet-client-ca result: `kubectl logs`/`exec` there fail now.
 */
import { describeProbe } from '../apply/trust-gate.js';
import type { AuditReport } from '../report/audit-report.js';
import { proxyVerdict, type ApiGate } from './api-gate.js';
import { listedNames, proxyGet } from './kube-api.js';

const AT_ONCE = 10;

export async function warnApiReach(report: AuditReport, gate: ApiGate): Promise<void> {
  const listed = await listedNames(gate.cluster);
  const nodes = report.nodes
    .filter((n) => n.reachable && n.cluster === gate.cluster.name && listed.has(n.node))
    .map((n) => n.node);
  for (let i = 0; i < nodes.length; i += AT_ONCE) {
    await Promise.all(
      nodes.slice(i, i + AT_ONCE).map(async (node) => {
        const answer = await proxyGet(gate.cluster, node, 'healthz');
        if (answer.status === 200) return;
        const { answer: said, verdict } = proxyVerdict(answer);
        const line = describeProbe({
          from: 'kube-apiserver',
          to: node,
          url: `${gate.cluster.server}/api/v1/nodes/${node}/proxy/healthz`,
          certificate: '',
          answer: said,
          verdict,
          path: 'api-server',
          ...('message' in answer ? { detail: answer.message.slice(0, 300) } : {}),
        });
        const warning = `the API server cannot reach this kubelet: ${line}; kubectl logs/exec on ${node} fail`;
        for (const r of report.results)
          if (r.node === node && r.control === 'kubelet-client-ca') r.warnings.push(warning);
      }),
    );
  }
}
