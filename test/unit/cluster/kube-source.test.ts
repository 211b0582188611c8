import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadTargets, type SourceOptions } from '../../../src/cluster/targets.js';
import { canonicalHost } from '../../../src/cluster/same-machine.js';
import { clusterNodes, providerHost } from '../../../src/cluster/nodes.js';
import { openCluster, proxyGet } from '../../../src/cluster/kube-api.js';
import { warnApiReach } from '../../../src/cluster/reach-check.js';
import type { AuditReport } from '../../../src/report/audit-report.js';
import { gateThroughApi, proxyVerdict, type ApiGate } from '../../../src/cluster/api-gate.js';
import { PROXY_BOUNDS } from '../../../src/cluster/bounded-get.js';
import { callerCandidates } from '../../../src/apply/trust-callers.js';
import { describeProbe, type FleetNode } from '../../../src/apply/trust-gate.js';
import { selectNodes } from '../../../src/inventory/load.js';
import { workspace, yaml, type Workspace } from '../inventory/workspace.js';
import type { Io } from '../../../src/commands/io.js';
import { commonOptions } from '../../../src/commands/options.js';
import { cliRunner } from '../support/cli.js';
import { commandApiGate, commandSource } from '../../../src/commands/targets.js';
import { writeSelfSigned } from '../../lab/sims/serving-cert.mjs';

/** A Node as the API returns it; each without an ip gets its own (two nodes on one address are refused). */
let nextIp = 0;
function node(
  name: string,
  opts: { ip?: string; labels?: Record<string, string>; providerID?: string; external?: string } = {},
) {
  return {
    metadata: { name, labels: opts.labels ?? {} },
    spec: opts.providerID ? { providerID: opts.providerID } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: opts.ip ?? `10.0.7.${++nextIp % 250}` },
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

describe('what a Node object and a kubeconfig cannot make kubemend do (review of issue 22)', () => {
  const now = { now: () => Date.now(), sleep: () => Promise.resolve() };

  it("a Node reporting another node's InternalIP leaves both out, named: kubemend never goes to cp1 as aaa-rogue, and audits the rest", async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([
        node('cp1', { ip: '10.0.0.10', labels: { 'node-role.kubernetes.io/control-plane': '' } }),
        node('aaa-rogue', { ip: '10.0.0.10' }),
        node('w9', { ip: '10.0.0.19' }),
      ]),
    );
    const { nodes, warnings } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(nodes.map((n) => [n.name, n.host])).toEqual([['w9', '10.0.0.19']]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^nodes cp1, aaa-rogue of cluster prod would all be reached at 10\.0\.0\.10:22, so kubemend leaves them out: a Node's addresses are written by its own kubelet/,
      ),
    ]);
  });

  it('the same machine in another spelling is the same machine: ::ffff:10.0.0.10, 2001:DB8:0:0::0001, a final dot', () => {
    expect(canonicalHost('::ffff:10.0.0.10')).toBe('10.0.0.10');
    expect(canonicalHost('2001:DB8:0:0::0001')).toBe('2001:db8::1');
    expect(canonicalHost('[2001:db8::1]')).toBe('2001:db8::1');
    expect(canonicalHost('Node-1.Example.')).toBe('node-1.example');
  });

  it('an InternalIP that is a name (an ~/.ssh/config Host alias of another machine) is left out: IP literals only', async () => {
    const ws = await workspace();
    await ws.sshConfig('Host prod-db\n  HostName 192.168.50.5\n  User root\n');
    const file = await kubeconfig(
      ws,
      await apiServer([node('bbb-rogue', { ip: 'prod-db' }), node('w9', { ip: '10.0.0.19' })]),
    );
    const { nodes, warnings } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(nodes.map((n) => [n.name, n.host])).toEqual([['w9', '10.0.0.19']]);
    expect(warnings).toEqual([
      'node bbb-rogue of cluster prod is left out: its InternalIP "prod-db" is not an IP address',
    ]);
    // --node-address hostname takes names by nature (README says what that trusts).
    expect(clusterNodes([node('w1', { ip: '10.0.0.5' })], 'hostname').nodes.map((n) => n.host)).toEqual([
      'w1',
    ]);
  });

  it("nodes only the API lists get the inventory file's defaults: (user, become, proxyJump)", async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([node('cp1', { ip: '10.0.0.10' }), node('w9', { ip: '10.0.0.19' })]),
    );
    const inventory = await ws.write(
      'inventory.yaml',
      yaml`
        defaults:
          user: admin
          become: sudo
          proxyJump: bastion.example.com
        nodes:
          cp1: { }
      `,
    );
    const { nodes } = await loadTargets(
      options(ws, { kubeconfig: file, inventory, inventoryIsDefault: false }),
      {},
    );
    expect(nodes.map((n) => [n.name, n.user, n.become, n.proxyJump.map((j) => j.host)])).toEqual([
      ['cp1', 'admin', 'sudo', ['bastion.example.com']],
      ['w9', 'admin', 'sudo', ['bastion.example.com']],
    ]);
  });

  it('with an Ansible inventory, nodes only the API lists get its all: vars', async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([node('cp1', { ip: '10.0.0.10' }), node('w9', { ip: '10.0.0.19' })]),
    );
    const inventory = await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars:
            ansible_user: admin
            ansible_become: true
          hosts:
            cp1: { ansible_host: 10.0.0.10 }
      `,
    );
    const { nodes } = await loadTargets(
      options(ws, { kubeconfig: file, inventory, inventoryIsDefault: false }),
      {},
    );
    expect(nodes.map((n) => [n.name, n.user, n.become])).toEqual([
      ['cp1', 'admin', 'sudo'],
      ['w9', 'admin', 'sudo'],
    ]);
  });

  it('a malformed kubeconfig: the reason and line:column, never the token beside it', async () => {
    const ws = await workspace();
    const file = await ws.write(
      'kubeconfig',
      'apiVersion: v1\nusers:\n  - name: admin\n    user:\n      token: sk-SECRET-TOKEN-1234\n     bad: [indent\n',
    );
    const error = await failure(openCluster({ kubeconfig: file, env: {} }));
    const shown = [error.message, ...error.details].join('\n');
    expect(shown).not.toContain('SECRET');
    expect(error.message).toMatch(/cannot be read: .*\(line \d+, column \d+\)$/);
  });

  it('warns when the context skips TLS verification of the API server', async () => {
    const ws = await workspace();
    const server = await apiServer([node('w1', { ip: '10.0.0.9' })]);
    const file = await ws.write(
      'kubeconfig',
      yaml`
        apiVersion: v1
        kind: Config
        clusters:
          - name: prod
            cluster: { server: "${server}", insecure-skip-tls-verify: true }
        users:
          - name: admin
            user: { token: good-token }
        contexts:
          - name: prod
            context: { cluster: prod, user: admin }
        current-context: prod
      `,
    );
    const { warnings } = await loadTargets(options(ws, { kubeconfig: file }), {});
    expect(warnings).toEqual([expect.stringMatching(/^context prod: insecure-skip-tls-verify is set/)]);
  });

  it("API nodes without a node-role control-plane label are workers: the gate's caller search reads only control planes", async () => {
    const ws = await workspace();
    const file = await kubeconfig(
      ws,
      await apiServer([
        node('cp1', { labels: { 'node-role.kubernetes.io/control-plane': '' } }),
        node('w1'),
        node('w2', { labels: { 'topology.kubernetes.io/zone': 'a' } }),
      ]),
    );
    const { nodes } = await loadTargets(options(ws, { kubeconfig: file }), {});
    const w2 = nodes.find((n) => n.name === 'w2')!;
    const changed = {
      plan: {
        node: 'w2',
        status: 'change',
        cluster: 'prod',
        changes: [{ control: 'kubelet-client-ca' }],
        trust: { kubelet: { port: 10250, clientCA: 'planned' } },
      },
      target: w2,
    } as unknown as FleetNode;
    expect(callerCandidates([changed], nodes).map((t) => t.name)).toEqual(['cp1']);
  });

  /** An API server listing w1 whose node proxy answers as given, for every node name; records each call. */
  async function proxied(answer: (res: ServerResponse, node: string, path: string) => void, token?: string) {
    const ws = await workspace();
    const calls: string[] = [];
    const server = await apiServer([node('w1')], (req, res) => {
      const match = /^\/api\/v1\/nodes\/([^/]+)\/proxy\/(.*)$/.exec(req.url ?? '');
      if (!match) return false;
      calls.push(`${match[1]}/${match[2]}`);
      answer(res, match[1]!, match[2]!);
      return true;
    });
    const cluster = await openCluster({ kubeconfig: await kubeconfig(ws, server, token), env: {} });
    return { gate: { cluster, clock: now } as ApiGate, calls };
  }
  const changedNode = (name: string): FleetNode =>
    ({
      plan: { node: name, changes: [{ control: 'kubelet-client-ca' }] },
      target: { name, cluster: 'prod' },
    }) as unknown as FleetNode;
  const ssh = { records: [], skipped: ['no control plane of cluster prod is in the inventory'] };

  it("the API server's own 401 (an expired token) is not the kubelet's: not proven, the fix named, never rolled back", async () => {
    const { gate } = await proxied((res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' }));
    });
    const answer = await proxyGet(gate.cluster, 'w1', 'healthz');
    expect(answer).toMatchObject({ status: 401, refusedBy: 'api-server' });
    expect(proxyVerdict(answer).verdict).toBe('not proven');
    expect('message' in answer && answer.message).toMatch(/refused the credentials \(401 Unauthorized\)/);
    const result = await gateThroughApi(gate, changedNode('w1'), () => Promise.resolve(ssh));
    expect(result.records.map((r) => r.verdict)).toEqual(['not proven', 'not proven']);
    expect(result.skipped).toEqual(ssh.skipped);
  });

  it('a TLS word in a context name or a transport error is no TLS failure between API server and kubelet', () => {
    expect(
      proxyVerdict({
        status: 0,
        refusedBy: 'network',
        message:
          'the API server of context tls-prod (https://k.example:6443) cannot be reached (fetch failed)',
      }).verdict,
    ).toBe('not proven');
    expect(
      proxyVerdict({
        status: 0,
        refusedBy: 'network',
        message: 'the API server of context prod: TLS failed (self-signed certificate)',
      }).verdict,
    ).toBe('not proven');
  });

  it('a kubelet that never answers the proxy: bounded (~10 s), not proven; audit --kubeconfig does not hang', async () => {
    expect(PROXY_BOUNDS.timeoutMs).toBeLessThanOrEqual(10_000);
    const { gate } = await proxied(() => undefined); // a tarpit: the request is never answered
    const started = Date.now();
    const answer = await proxyGet(gate.cluster, 'w1', 'pods', { ...PROXY_BOUNDS, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer).toMatchObject({ status: 0, refusedBy: 'network' });
    expect('message' in answer && answer.message).toMatch(/gave no answer for w1 proxy\/pods within 0.3 s/);
    expect(proxyVerdict(answer).verdict).toBe('not proven');
  }, 10_000);

  it('a kubelet that streams an endless body: at most the bound is read', async () => {
    const { gate } = await proxied((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      res.on('error', () => undefined);
      more();
    });
    const answer = await proxyGet(gate.cluster, 'w1', 'pods', { ...PROXY_BOUNDS, maxBytes: 256 * 1024 });
    expect(answer.status).toBe(200);
    expect('body' in answer && answer.body.length).toBe(256 * 1024);
  }, 10_000);

  it('only a node the API server lists goes through its node proxy, not an inventory node that names the cluster', async () => {
    const { gate, calls } = await proxied((res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    );
    let sshRan = false;
    const result = await gateThroughApi(
      gate,
      changedNode('old-node'),
      () => ((sshRan = true), Promise.resolve(ssh)),
    );
    expect(calls).toEqual([]);
    expect(sshRan).toBe(true);
    expect(result).toBe(ssh);
  });
});

describe('the inventory default for --node-address', () => {
  const apiNodes = () =>
    apiServer([
      node('w1', { ip: '10.0.0.9', providerID: 'aws:///eu-west-1a/i-0123456789abcdef0' }),
      node('w2', { ip: '10.0.0.10', providerID: 'aws:///eu-west-1a/i-0fedcba9876543210' }),
    ]);

  it('kubemend format: defaults: nodeAddress picks the address of every cluster node; --node-address wins', async () => {
    const ws = await workspace();
    const file = await kubeconfig(ws, await apiNodes());
    const inventory = await ws.write(
      'inventory.yaml',
      yaml`
        defaults: { user: ec2-user, nodeAddress: provider-id }
        nodes:
          w2: { become: sudo }
      `,
    );
    const opts = options(ws, { kubeconfig: file, inventory, inventoryIsDefault: false });
    const { nodes } = await loadTargets(opts, {});
    expect(nodes.map((n) => [n.name, n.host])).toEqual([
      ['w1', 'i-0123456789abcdef0'],
      ['w2', 'i-0fedcba9876543210'],
    ]);
    const flag = await loadTargets({ ...opts, nodeAddress: 'internal-ip' }, {});
    expect(flag.nodes.map((n) => n.host)).toEqual(['10.0.0.9', '10.0.0.10']);
  });

  it("Ansible: kubemend_node_address in all's vars", async () => {
    const ws = await workspace();
    const file = await kubeconfig(ws, await apiNodes());
    const inventory = await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars: { kubemend_node_address: provider-id }
          hosts:
            w1: { ansible_user: ec2-user }
      `,
    );
    const { nodes } = await loadTargets(
      options(ws, { kubeconfig: file, inventory, inventoryIsDefault: false }),
      {},
    );
    expect(nodes.map((n) => [n.name, n.host, n.user])).toEqual([
      ['w1', 'i-0123456789abcdef0', 'ec2-user'],
      ['w2', 'i-0fedcba9876543210', expect.any(String)],
    ]);
  });

  it('a bad value, or a value on one node, is an inventory problem naming the line', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        defaults: { nodeAddress: public }
        nodes:
          w1: { nodeAddress: hostname }
      `,
    );
    const own = await ws.fail('inventory.yaml');
    expect(own.details.join('\n')).toContain(
      'nodeAddress must be one of internal-ip, external-ip, hostname, provider-id, not',
    );
    expect(own.details.join('\n')).toContain(
      ":3: node 'w1': nodeAddress is a default for the cluster's nodes",
    );
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          children:
            workers:
              vars: { kubemend_node_address: hostname }
              hosts: { w1: {} }
      `,
    );
    const ansible = await ws.fail('hosts.yaml');
    expect(ansible.details.join('\n')).toContain(
      "group 'workers' vars: kubemend_node_address is a default for the cluster's nodes",
    );
  });
});

describe('the kubeconfig is loaded once per command', () => {
  /** A kubeconfig whose user is an exec credential plugin (as `aws eks get-token`) that counts its runs. */
  async function execKubeconfig(ws: Workspace, server: string) {
    const runs = ws.file('plugin-runs');
    const plugin = await ws.write(
      'get-token.mjs',
      [
        "import { appendFileSync } from 'node:fs';",
        `appendFileSync(${JSON.stringify(runs)}, 'run\\n');`,
        'process.stdout.write(JSON.stringify({',
        "  apiVersion: 'client.authentication.k8s.io/v1beta1',",
        "  kind: 'ExecCredential',",
        "  status: { token: 'good-token', expirationTimestamp: new Date(Date.now() + 900_000).toISOString() },",
        '}));',
        '',
      ].join('\n'),
    );
    const caData = Buffer.from(tls.cert).toString('base64');
    const file = await ws.write(
      'kubeconfig',
      yaml`
        apiVersion: v1
        kind: Config
        clusters:
          - name: prod
            cluster: { server: "${server}", certificate-authority-data: ${caData} }
        users:
          - name: eks
            user:
              exec:
                apiVersion: client.authentication.k8s.io/v1beta1
                command: ${JSON.stringify(process.execPath)}
                args: [${JSON.stringify(plugin)}]
                interactiveMode: Never
        contexts:
          - name: prod
            context: { cluster: prod, user: eks }
        current-context: prod
      `,
    );
    const count = () => {
      try {
        return readFileSync(runs, 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    return { file, count };
  }

  const io = (env: NodeJS.ProcessEnv): Io => ({
    stdout: { write: () => true },
    stderr: { write: () => true },
    stdinIsTTY: false,
    env,
    now: () => new Date(),
    interrupted: () => false,
  });
  const clock = { now: () => Date.now(), sleep: () => Promise.resolve() };

  it('audit: the node list and the API reach check run the exec plugin once', async () => {
    const ws = await workspace();
    const proxied: string[] = [];
    const server = await apiServer([node('w1')], (req, res) => {
      const match = /^\/api\/v1\/nodes\/w1\/proxy\/(.*)$/.exec(req.url ?? '');
      if (!match || req.headers.authorization !== 'Bearer good-token') return false;
      proxied.push(match[1]!);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return true;
    });
    const { file, count } = await execKubeconfig(ws, server);
    const opts = { ...commonOptions({ kubeconfig: file }), inventory: ws.file('none.yaml') };
    const run = io({ HOME: ws.home });
    // What runAudit does: the nodes, then (after reading them) the read-only reach check.
    const { nodes } = await commandSource(opts, run);
    expect(nodes.map((n) => n.name)).toEqual(['w1']);
    const gate = await commandApiGate(opts, run, clock);
    const report = {
      nodes: [{ node: 'w1', reachable: true, cluster: 'prod' }],
      results: [{ node: 'w1', control: 'kubelet-client-ca', warnings: [] }],
    } as unknown as AuditReport;
    await warnApiReach(report, gate!);
    expect(proxied).toEqual(['healthz']);
    expect(count()).toBe(1);
    // apply reads the targets again (the control planes outside the run): still the same client.
    await commandSource(opts, run, false);
    expect(count()).toBe(1);
    // Another command (another Io) loads the kubeconfig afresh.
    await commandSource(opts, io({ HOME: ws.home }));
    expect(count()).toBe(2);
  });
});

describe('backups and rollback take their node from the cluster too', () => {
  it('backups --kubeconfig --node: the node and its address come from the API; an unknown name is named', async () => {
    const ws = await workspace();
    const file = await kubeconfig(ws, await apiServer([node('w1', { ip: '127.0.0.1' })]));
    // The file adds a port nothing listens on: the command gets as far as dialing the API's address.
    const inventory = await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        w1: { port: 1 }
    `,
    );
    const cli = cliRunner({ HOME: ws.home });
    const common = ['--kubeconfig', file, '--known-hosts', ws.file('known_hosts'), '--connect-timeout', '2'];
    const found = await cli('backups', '--node', 'w1', '-i', inventory, ...common);
    expect(found.code, found.stderr).toBe(3);
    expect(found.stderr).toContain('127.0.0.1:1');
    const unknown = await cli('backups', '--node', 'w9', ...common);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('node w9 is not in cluster prod');
    expect(unknown.stderr).toContain('known nodes: w1');
    const rollback = await cli('rollback', '--node', 'w9', '--yes', ...common);
    expect(rollback.stderr).toContain('node w9 is not in cluster prod');
  });
});

describe('a kube-apiserver change proven through the API server (node proxy)', () => {
  /** An API server whose node proxy answers for each node as `answer` says; the calls it got. */
  async function gateWith(answer: (node: string) => number) {
    const ws = await workspace();
    const calls: string[] = [];
    const server = await apiServer([node('cp1'), node('w1'), node('w2')], (req, res) => {
      const match = /^\/api\/v1\/nodes\/([a-z0-9]+)\/proxy\/(.*)$/.exec(req.url ?? '');
      if (!match || req.headers.authorization !== 'Bearer good-token') return false;
      calls.push(`${match[1]}/${match[2]}`);
      const code = answer(match[1]!);
      res.writeHead(code, { 'content-type': 'text/plain' }).end(code === 200 ? 'ok' : 'Unauthorized');
      return true;
    });
    const cluster = await openCluster({ kubeconfig: await kubeconfig(ws, server), env: {} });
    const gate: ApiGate = { cluster, clock: { now: () => Date.now(), sleep: () => Promise.resolve() } };
    return { gate, calls };
  }
  /** A node of the run: its plan's changes, role and kubelet (a client CA now, or none). */
  const fleetNode = (
    name: string,
    role: 'control-plane' | 'worker',
    control: string | undefined,
    clientCA?: 'now' | 'planned',
  ): FleetNode =>
    ({
      plan: {
        node: name,
        role,
        cluster: 'prod',
        status: control ? 'changes' : 'ok',
        changes: control ? [{ control }] : [],
        ...(clientCA ? { trust: { kubelet: { port: 10250, clientCA } } } : {}),
      },
      target: { name, cluster: 'prod' },
    }) as unknown as FleetNode;
  const sshProbe = {
    records: [
      {
        from: 'cp1',
        to: 'w1',
        url: 'https://10.0.0.1:10250/healthz',
        certificate: '/etc/kubernetes/pki/apiserver-kubelet-client.crt',
        answer: '200',
        verdict: 'trusted' as const,
        path: 'ssh' as const,
      },
    ],
    skipped: [],
  };

  it("asks the control plane's own kubelet through the proxy (200), and the SSH probe from the control plane runs too", async () => {
    const { gate, calls } = await gateWith(() => 200);
    const cp = fleetNode('cp1', 'control-plane', 'apiserver-kubelet-client-cert', 'now');
    const fleet = [cp, fleetNode('w1', 'worker', undefined, 'now')];
    let sshRan = false;
    const result = await gateThroughApi(
      gate,
      cp,
      () => ((sshRan = true), Promise.resolve(sshProbe)),
      fleet,
      new Set(),
    );
    expect(calls).toEqual(['cp1/healthz', 'cp1/pods']);
    expect(sshRan).toBe(true);
    expect(result.records.map(describeProbe)).toEqual([
      'kube-apiserver → kubelet: 200 through the API server (cp1 proxy/healthz: the kubelet trusts the API server)',
      'kube-apiserver → kubelet: 200 through the API server (cp1 proxy/pods: the kubelet trusts the API server)',
      'cp1 → w1 https://10.0.0.1:10250/healthz: 200 (authenticated)',
    ]);
  });

  it('a control plane whose kubelet verifies no caller: one kubelet of the cluster that does (or was applied)', async () => {
    const { gate, calls } = await gateWith(() => 200);
    const cp = fleetNode('cp1', 'control-plane', 'apiserver-kubelet-client-cert');
    const fleet = [
      cp,
      fleetNode('w1', 'worker', undefined),
      fleetNode('w2', 'worker', 'kubelet-client-ca', 'planned'),
    ];
    await gateThroughApi(gate, cp, () => Promise.resolve(sshProbe), fleet, new Set(['w2']));
    expect(calls).toEqual(['w2/healthz', 'w2/pods']);
  });

  it("the kubelet's 401 relayed through the proxy rejects: the control plane is rolled back", async () => {
    const { gate } = await gateWith(() => 401);
    const cp = fleetNode('cp1', 'control-plane', 'apiserver-kubelet-client-cert', 'now');
    const result = await gateThroughApi(gate, cp, () => Promise.resolve(sshProbe), [cp], new Set());
    expect(result.records.map((r) => [r.path, r.answer, r.verdict])).toEqual([
      ['api-server', '401', 'rejected'],
      ['api-server', '401', 'rejected'],
    ]);
  });

  it('no kubelet verifies callers, or the change is on a worker: the SSH probes alone', async () => {
    const { gate, calls } = await gateWith(() => 200);
    const cp = fleetNode('cp1', 'control-plane', 'apiserver-kubelet-client-cert');
    expect(await gateThroughApi(gate, cp, () => Promise.resolve(sshProbe), [cp], new Set())).toBe(sshProbe);
    const worker = fleetNode('w1', 'worker', 'apiserver-kubelet-client-cert', 'now');
    expect(await gateThroughApi(gate, worker, () => Promise.resolve(sshProbe), [worker], new Set())).toBe(
      sshProbe,
    );
    expect(calls).toEqual([]);
  });
});
