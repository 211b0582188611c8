import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadTargets, type SourceOptions } from '../../../src/cluster/targets.js';
import { clusterNodes, providerHost } from '../../../src/cluster/nodes.js';
import { openCluster } from '../../../src/cluster/kube-api.js';
import { warnApiReach } from '../../../src/cluster/reach-check.js';
import type { AuditReport } from '../../../src/report/audit-report.js';
import { gateThroughApi, type ApiGate } from '../../../src/cluster/api-gate.js';
import { describeProbe, type FleetNode } from '../../../src/apply/trust-gate.js';
import { selectNodes } from '../../../src/inventory/load.js';
import { workspace, yaml, type Workspace } from '../inventory/workspace.js';
import { writeSelfSigned } from '../../lab/sims/serving-cert.mjs';

/** A Node as the API returns it. */
function node(
  name: string,
  opts: { ip?: string; labels?: Record<string, string>; providerID?: string; external?: string } = {},
) {
  return {
    metadata: { name, labels: opts.labels ?? {} },
    spec: opts.providerID ? { providerID: opts.providerID } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: opts.ip ?? '10.0.0.1' },
        ...(opts.external ? [{ type: 'ExternalIP', address: opts.external }] : []),
        { type: 'Hostname', address: name },
      ],
    },
  };
}

/** Serving certificates for 127.0.0.1 (self-signed: each is its own CA), as the lab's simulators make them. */
const tls = { cert: '', key: '', otherCa: '' };
let pkiDir = '';
beforeAll(() => {
  pkiDir = mkdtempSync(path.join(tmpdir(), 'kubemend-kube-'));
  const server = writeSelfSigned(pkiDir, 'server', '127.0.0.1');
  tls.cert = readFileSync(server.certFile, 'utf8');
  tls.key = readFileSync(server.keyFile, 'utf8');
  tls.otherCa = readFileSync(writeSelfSigned(pkiDir, 'other', '127.0.0.1').certFile, 'utf8');
});
afterAll(() => rmSync(pkiDir, { recursive: true, force: true }));

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((done) => s.close(done));
});

/** A real HTTP server answering GET /api/v1/nodes like an API server (bearer token checked). */
async function apiServer(
  items: unknown[],
  answer?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<string> {
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if (answer?.(req, res)) return;
    if (req.headers.authorization !== 'Bearer good-token') {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: 'Unauthorized', code: 401 }));
      return;
    }
    if (req.url?.startsWith('/api/v1/nodes')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items }));
      return;
    }
    res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function kubeconfig(
  ws: Workspace,
  server: string,
  token = 'good-token',
  ca = tls.cert,
): Promise<string> {
  const caData = Buffer.from(ca).toString('base64');
  return ws.write(
    'kubeconfig',
    yaml`
      apiVersion: v1
      kind: Config
      clusters:
        - name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
          cluster: { server: "${server}", certificate-authority-data: ${caData} }
      users:
        - name: admin
          user: { token: ${token} }
      contexts:
        - name: prod
          context: { cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/prod", user: admin }
      current-context: prod
    `,
  );
}

function options(ws: Workspace, more: Partial<SourceOptions>): SourceOptions {
  return {
    inventory: path.join(ws.dir, 'inventory.yaml'),
    inventoryIsDefault: true,
    homeDir: ws.home,
    sshConfigPath: path.join(ws.home, '.ssh', 'config'),
    ...more,
  };
}

async function failure(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('nodes from the cluster (--kubeconfig)', () => {
  it('takes every node with its InternalIP, the cluster name from the context, and no inventory file', async () => {
    const ws = await workspace();
    const server = await apiServer([
      node('ip-10-0-1-5.eu-west-1.compute.internal', { ip: '10.0.1.5' }),
      node('ip-10-0-1-6.eu-west-1.compute.internal', { ip: '10.0.1.6' }),
    ]);
    const file = await kubeconfig(ws, server);
    const { nodes, warnings } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(nodes.map((n) => [n.name, n.host, n.cluster])).toEqual([
      ['ip-10-0-1-5.eu-west-1.compute.internal', '10.0.1.5', 'prod'],
      ['ip-10-0-1-6.eu-west-1.compute.internal', '10.0.1.6', 'prod'],
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads KUBECONFIG with --context, as kubectl does', async () => {
    const ws = await workspace();
    const file = await kubeconfig(ws, await apiServer([node('w1', { ip: '10.0.0.9' })]));
    const { nodes } = await loadTargets(options(ws, { context: 'prod' }), { KUBECONFIG: file });
    expect(nodes.map((n) => n.host)).toEqual(['10.0.0.9']);
  });

  it('merges with the inventory file: its per-node fields win; its nodes the API does not list are flagged', async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([node('w1', { ip: '10.0.0.9' }), node('w2', { ip: '10.0.0.10' })]),
    );
    const inventory = await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          w1: { host: bastion-w1, user: admin, become: sudo }
          old-node: { host: 10.0.0.99 }
      `,
    );
    const { nodes, warnings } = await loadTargets(
      options(ws, { kubeconfig: file, inventory, inventoryIsDefault: false }),
      {},
    );
    expect(nodes.map((n) => [n.name, n.host, n.user, n.become])).toEqual([
      ['w1', 'bastion-w1', 'admin', 'sudo'],
      ['w2', '10.0.0.10', expect.any(String), 'none'],
      ['old-node', '10.0.0.99', expect.any(String), 'none'],
    ]);
    expect(warnings).toEqual([
      `node old-node (${inventory}:3) is not a node of cluster prod: its API server does not list it`,
    ]);
  });

  it('-l selects by role and by label', async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([
        node('cp1', { labels: { 'node-role.kubernetes.io/control-plane': '' } }),
        node('w1', { labels: { 'topology.kubernetes.io/zone': 'eu-west-1a' } }),
        node('w2', { labels: { 'topology.kubernetes.io/zone': 'eu-west-1b' } }),
      ]),
    );
    const { nodes } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(selectNodes(nodes, 'role=worker').map((n) => n.name)).toEqual(['w1', 'w2']);
    expect(selectNodes(nodes, 'role=control-plane').map((n) => n.name)).toEqual(['cp1']);
    expect(selectNodes(nodes, 'label:topology.kubernetes.io/zone=eu-west-1b').map((n) => n.name)).toEqual([
      'w2',
    ]);
    expect(selectNodes(nodes, 'label:topology.kubernetes.io/zone=eu-*,!w1').map((n) => n.name)).toEqual([
      'w2',
    ]);
    // The label decides selection only: kubemend still detects each node's role on the node.
    expect(nodes.every((n) => n.role === undefined)).toBe(true);
  });

  it('dials the provider id through ~/.ssh/config (SSM: Host i-*)', async () => {
    const ws = await workspace();
    await ws.sshConfig('Host i-*\n  User ec2-user\n  ProxyCommand aws ssm start-session --target %h\n');
    const file = await kubeconfig(
      ws,
      await apiServer([node('w1', { providerID: 'aws:///eu-west-1a/i-0123456789abcdef0' })]),
    );
    const { nodes } = await loadTargets(options(ws, { kubeconfig: file, nodeAddress: 'provider-id' }), {});
    expect(nodes.map((n) => [n.name, n.host, n.user])).toEqual([['w1', 'i-0123456789abcdef0', 'ec2-user']]);
    expect(nodes[0]?.opensshOnly).toMatch(/ProxyCommand/);
  });

  it('leaves out a node whose address is hostile, and says why', async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([
        node('evil', { ip: 'x$(touch /tmp/pwned)' }),
        node('w1', { ip: '10.0.0.9', labels: { 'bad key!': 'v' } }),
      ]),
    );
    const { nodes, warnings } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(nodes.map((n) => n.name)).toEqual(['w1']);
    expect(warnings).toEqual([
      'cluster prod: node w1: label "bad key!" ignored (not a valid label)',
      expect.stringMatching(
        /^node evil of cluster prod is left out: its InternalIP 'x\$\(touch \/tmp\/pwned\)' is not a host name or address/,
      ),
    ]);
  });

  it('an expired token: the API server 401 becomes one error with the fix', async () => {
    const ws = await workspace();
    const file = await kubeconfig(ws, await apiServer([node('w1')]), 'expired');
    const error = await failure(loadTargets(options(ws, { kubeconfig: file }), {}));
    expect(error.message).toMatch(
      /^the API server of context prod \(https:\/\/127\.0\.0\.1:\d+\) refused the credentials \(401 Unauthorized\)$/,
    );
    expect(error.details[0]).toMatch(/expired/);
  });

  it('RBAC: a 403 names the verb and resource needed', async () => {
    const ws = await workspace();
    const server = await apiServer([], (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 403, message: 'nodes is forbidden' }));
      return true;
    });
    const error = await failure(loadTargets(options(ws, { kubeconfig: await kubeconfig(ws, server) }), {}));
    expect(error.message).toMatch(/forbids list nodes \(403 Forbidden\)$/);
    expect(error.details[0]).toMatch(/grant the user RBAC verb list on resource nodes/);
  });

  it('an unreachable API server, a missing kubeconfig, an unknown context', async () => {
    const ws = await workspace();
    const closed = await apiServer([]);
    await new Promise((done) => servers.pop()!.close(done));
    const file = await kubeconfig(ws, closed);
    expect((await failure(loadTargets(options(ws, { kubeconfig: file }), {}))).message).toMatch(
      /cannot be reached/,
    );
    expect(
      (await failure(loadTargets(options(ws, { kubeconfig: path.join(ws.dir, 'nope') }), {}))).message,
    ).toMatch(/^no kubeconfig: .*nope \(--kubeconfig\) not found$/);
    const foreign = await kubeconfig(ws, await apiServer([]), 'good-token', tls.otherCa);
    expect((await failure(loadTargets(options(ws, { kubeconfig: foreign }), {}))).message).toMatch(
      /: TLS failed \(/,
    );
    const unknown = await failure(loadTargets(options(ws, { kubeconfig: file, context: 'stage' }), {}));
    expect([unknown.message, unknown.details]).toEqual([
      `--context stage: no such context in ${file}`,
      ['contexts: prod'],
    ]);
  });
});

describe('cluster node values are checked', () => {
  it('provider ids: EC2 instance id, GCE instance name; others refused', () => {
    expect(providerHost('aws:///eu-west-1a/i-0abc12345678')).toEqual({ host: 'i-0abc12345678' });
    expect(providerHost('gce://my-project/europe-west1-b/gke-prod-pool-1-abcd')).toEqual({
      host: 'gke-prod-pool-1-abcd',
    });
    expect(providerHost('aws:///eu-west-1a/i-0abc;reboot')).toHaveProperty('problem');
    expect(providerHost('kind://docker/kind/kind-worker')).toHaveProperty('problem');
  });

  it('refuses a name that is not a node name and a name listed twice', () => {
    const { nodes, refused } = clusterNodes([node('Bad Name'), node('w1'), node('w1')], 'internal-ip');
    expect(nodes.map((n) => n.name)).toEqual(['w1']);
    expect(refused.map((r) => r.reason)).toEqual(['its name is not a Kubernetes node name', 'listed twice']);
  });

  it('--node-address external-ip needs an ExternalIP', () => {
    const { nodes, refused } = clusterNodes(
      [node('w1', { external: '203.0.113.4' }), node('w2')],
      'external-ip',
    );
    expect(nodes.map((n) => n.host)).toEqual(['203.0.113.4']);
    expect(refused).toEqual([{ name: 'w2', reason: 'it reports no ExternalIP address' }]);
  });
});

describe('the trust gate through the API server (node proxy)', () => {
  /** An API server whose node proxy for w1 answers as given; other requests as apiServer does. */
  async function gateFor(proxied: (res: ServerResponse, path: string) => void) {
    const ws = await workspace();
    const calls: string[] = [];
    const server = await apiServer([node('w1')], (req, res) => {
      const match = /^\/api\/v1\/nodes\/w1\/proxy\/(.*)$/.exec(req.url ?? '');
      if (!match || req.headers.authorization !== 'Bearer good-token') return false;
      calls.push(match[1]!);
      proxied(res, match[1]!);
      return true;
    });
    const cluster = await openCluster({ kubeconfig: await kubeconfig(ws, server), env: {} });
    const gate: ApiGate = { cluster, clock: { now: () => Date.now(), sleep: () => Promise.resolve() } };
    return { gate, calls };
  }
  const changed = (cluster = 'prod'): FleetNode =>
    ({
      plan: { node: 'w1', changes: [{ control: 'kubelet-client-ca' }] },
      target: { name: 'w1', cluster },
    }) as unknown as FleetNode;
  const ssh = { records: [], skipped: ['no control plane of cluster prod is in the inventory'] };

  it('200 from the kubelet through the proxy proves the channel, for /healthz and /pods; no SSH probe', async () => {
    const { gate, calls } = await gateFor((res) =>
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok'),
    );
    let sshRan = false;
    const result = await gateThroughApi(gate, changed(), () => ((sshRan = true), Promise.resolve(ssh)));
    expect(result.records.map((r) => r.detail)).toEqual([undefined, undefined]);
    expect(calls).toEqual(['healthz', 'pods']);
    expect(sshRan).toBe(false);
    expect(result.records.map(describeProbe)).toEqual([
      'kube-apiserver → kubelet: 200 through the API server (w1 proxy/healthz: the kubelet trusts the API server)',
      'kube-apiserver → kubelet: 200 through the API server (w1 proxy/pods: the kubelet trusts the API server)',
    ]);
    expect(result.records.every((r) => r.path === 'api-server' && r.verdict === 'trusted')).toBe(true);
  });

  it('a kubelet whose door the change closed: the SSH probes run too, for the request with no credentials', async () => {
    const { gate } = await gateFor((res) =>
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok'),
    );
    const door = changed();
    door.plan.status = 'change';
    door.plan.changes = [
      { control: 'kubelet-client-ca', controls: ['kubelet-client-ca', 'kubelet-anonymous-auth'] },
    ] as never;
    const result = await gateThroughApi(gate, door, () => Promise.resolve(ssh));
    expect(result.records.map((r) => [r.path, r.verdict])).toEqual([
      ['api-server', 'trusted'],
      ['api-server', 'trusted'],
    ]);
    expect(result.skipped).toEqual(ssh.skipped);
  });

  it("the kubelet's 401 relayed by the API server rejects (the gate rolls back)", async () => {
    const { gate } = await gateFor((res) =>
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized'),
    );
    const result = await gateThroughApi(gate, changed(), () => Promise.resolve(ssh));
    expect(result.records.map((r) => [r.answer, r.verdict])).toEqual([
      ['401', 'rejected'],
      ['401', 'rejected'],
    ]);
  });

  it('a TLS failure between the API server and the kubelet rejects', async () => {
    const { gate } = await gateFor((res) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          code: 502,
          message: 'error trying to reach service: remote error: tls: bad certificate',
        }),
      );
    });
    const result = await gateThroughApi(gate, changed(), () => Promise.resolve(ssh));
    expect(result.records.map((r) => [r.answer, r.verdict])).toEqual([
      ['tls', 'rejected'],
      ['tls', 'rejected'],
    ]);
  });

  it('a kubelet the API server cannot reach proves nothing: the SSH probes decide, both are kept', async () => {
    const { gate, calls } = await gateFor((res) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          code: 502,
          message: 'error trying to reach service: dial tcp: connect: connection refused',
        }),
      );
    });
    const result = await gateThroughApi(gate, changed(), () => Promise.resolve(ssh));
    expect(calls).toEqual(['healthz', 'pods', 'healthz', 'pods']); // once more after a moment
    expect(result.records.map((r) => r.verdict)).toEqual(['not proven', 'not proven']);
    expect(result.skipped).toEqual(ssh.skipped);
  });

  it('a node of another cluster (or none) is left to the SSH probes', async () => {
    const { gate, calls } = await gateFor((res) =>
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok'),
    );
    const result = await gateThroughApi(gate, changed('other'), () => Promise.resolve(ssh));
    expect(calls).toEqual([]);
    expect(result).toBe(ssh);
  });
});

describe('audit: can the API server reach this kubelet (read-only)', () => {
  it('warns on the kubelet-client-ca result of a node whose kubelet answers the proxy 401; silent on 200', async () => {
    const ws = await workspace();
    const server = await apiServer([node('w1'), node('w2')], (req, res) => {
      const match = /^\/api\/v1\/nodes\/(w[12])\/proxy\/healthz$/.exec(req.url ?? '');
      if (!match) return false;
      if (match[1] === 'w1') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      else res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      return true;
    });
    const cluster = await openCluster({ kubeconfig: await kubeconfig(ws, server), env: {} });
    const result = (n: string) => ({ node: n, control: 'kubelet-client-ca', warnings: [] as string[] });
    const report = {
      nodes: ['w1', 'w2', 'elsewhere'].map((n) => ({
        node: n,
        reachable: true,
        cluster: n === 'elsewhere' ? 'x' : 'prod',
      })),
      results: [result('w1'), result('w2'), result('elsewhere')],
    } as unknown as AuditReport;
    await warnApiReach(report, { cluster, clock: { now: () => Date.now(), sleep: () => Promise.resolve() } });
    expect(report.results.map((r) => r.warnings)).toEqual([
      [],
      [
        "the API server cannot reach this kubelet: kube-apiserver → kubelet: 401 through the API server (w2 proxy/healthz: Unauthorized: the kubelet does not trust the API server's kubelet client certificate); kubectl logs/exec on w2 fail",
      ],
      [],
    ]);
  });
});
