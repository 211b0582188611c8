// apply -l WORKER on a cluster whose control planes are in the inventory but not selected: the
// trust gate still proves the changed kubelet's channel, from those control planes (issue 20, 4).
import { beforeAll, describe, expect, it } from 'vitest';
import { callerCandidates, callersFrom } from '../../../src/apply/trust-callers.js';
import { probesFor, runTrustGate, type FleetNode } from '../../../src/apply/trust-gate.js';
import { NodeError } from '../../../src/errors.js';
import { shortFingerprint } from '../../../src/fleet/clusters.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import type { Inspection } from '../../../src/node/inspect.js';
import type { NodePlan } from '../../../src/plan/types.js';
import { parsePemBundle } from '../../../src/controls/certs.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts } from '../support/fake-node.js';
import { probeNode } from '../support/probe-node.js';

const target = (name: string, host: string, o: Partial<NodeTarget> = {}) =>
  ({ name, host, port: 22, ...o }) as NodeTarget;

/** A worker whose kubelet this run gives a client CA (cluster from its CA unless the inventory names one). */
function changedWorker(name = 'w-7', o: { inventoryCluster?: string; cluster?: string } = {}): FleetNode {
  const plan = {
    node: name,
    host: '10.0.0.27',
    port: 22,
    hostKey: 'SHA256:w7',
    role: 'worker',
    layout: 'kubeadm',
    status: 'change',
    changes: [{ control: 'kubelet-client-ca' }],
    blocked: [],
    cluster: o.inventoryCluster ?? o.cluster ?? 'ca:1',
    trust: { kubelet: { port: 10250, clientCA: 'planned' } },
  } as unknown as NodePlan;
  return {
    plan,
    target: target(name, '10.0.0.27', o.inventoryCluster ? { cluster: o.inventoryCluster } : {}),
  };
}

describe('which inventory nodes outside the run are read to find callers', () => {
  const inventory = [
    target('cp-1', '10.0.0.10'),
    target('cp-2', '10.0.0.11', { role: 'control-plane' }),
    target('w-1', '10.0.0.21', { role: 'worker' }),
    target('w-7', '10.0.0.27'),
    target('other-cp', '10.9.0.10', { cluster: 'other' }),
  ];

  it('a changed kubelet of a cluster named by its CA: every node that may be a control plane, not in the run, not a worker by the inventory', () => {
    expect(callerCandidates([changedWorker()], inventory).map((t) => t.name)).toEqual(['cp-1', 'cp-2']);
  });

  it('a cluster the inventory names: only the nodes it puts in that cluster', () => {
    const inv = [...inventory, target('prod-cp', '10.0.1.10', { cluster: 'prod' })];
    expect(
      callerCandidates([changedWorker('w-7', { inventoryCluster: 'prod' })], inv).map((t) => t.name),
    ).toEqual(['prod-cp']);
  });

  it('a kubelet whose door closes (anonymous off, Webhook) is a changed kubelet too: its callers are found, also inside a merged change', () => {
    const w = changedWorker();
    for (const changes of [
      [{ control: 'kubelet-anonymous-auth' }],
      [
        { control: 'apiserver-kubelet-client-cert' },
        { control: 'x', controls: ['kubelet-authorization-mode'] },
      ],
    ]) {
      const door = { ...w, plan: { ...w.plan, changes } } as unknown as FleetNode;
      expect(callerCandidates([door], inventory).map((t) => t.name)).toEqual(['cp-1', 'cp-2']);
    }
  });

  it('nothing is read when no kubelet changes, or the changed node is not to be applied', () => {
    const w = changedWorker();
    const cpOnly = {
      ...w,
      plan: { ...w.plan, changes: [{ control: 'apiserver-kubelet-client-cert' }] },
    } as FleetNode;
    const blocked = { ...w, plan: { ...w.plan, status: 'blocked' } } as FleetNode;
    expect(callerCandidates([cpOnly], inventory)).toEqual([]);
    expect(callerCandidates([blocked], inventory)).toEqual([]);
  });
});

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

/** A control plane as the read-only gather sees it: a kube-apiserver whose --client-ca-file is the cluster CA. */
function controlPlane(name: string, host: string, o: Partial<NodeTarget> = {}): Inspection {
  const facts = fakeFacts({
    processes: [
      {
        pid: 10,
        comm: 'kube-apiserver',
        argv: ['kube-apiserver', '--client-ca-file=/etc/kubernetes/pki/ca.crt'],
      },
    ],
    files: { '/etc/kubernetes/pki/ca.crt': pki.caCrt },
  });
  return { target: target(name, host, o), ok: true, model: nodeModel(facts), hostKey: `SHA256:${name}` };
}

describe('what the read finds', () => {
  it('a control plane reached is a caller of its CA-named cluster; a plain worker is not; an unreachable node is said', () => {
    const caName = shortFingerprint(parsePemBundle(pki.caCrt)[0]!);
    const worker: Inspection = {
      target: target('w-1', '10.0.0.21'),
      ok: true,
      model: nodeModel(fakeFacts({ processes: [{ pid: 5, comm: 'kubelet', argv: ['/usr/bin/kubelet'] }] })),
      hostKey: 'SHA256:w1',
    };
    const down: Inspection = {
      target: target('cp-3', '10.0.0.12', { cluster: 'prod' }),
      ok: false,
      error: new NodeError('cp-3', 'cp-3: connect ETIMEDOUT 10.0.0.12:22', 'unreachable'),
    };
    const found = callersFrom([controlPlane('cp-1', '10.0.0.10'), worker, down]);
    expect(found.callers.map((c) => [c.node, c.cluster, c.hostKey])).toEqual([
      ['cp-1', caName, 'SHA256:cp-1'],
    ]);
    expect(found.unreached).toEqual([
      { node: 'cp-3', cluster: 'prod', why: 'cp-3: connect ETIMEDOUT 10.0.0.12:22' },
    ]);
  });
});

describe('the gate of a kubelet whose control planes were not selected', () => {
  const outsideCp = {
    node: 'cp-1',
    target: target('cp-1', '10.0.0.10'),
    hostKey: 'SHA256:cp',
    cluster: 'ca:1',
  };

  it('probes from the control plane of its cluster outside the run; one of another cluster is not asked', () => {
    const w = changedWorker();
    const other = { ...outsideCp, node: 'cp-9', target: target('cp-9', '10.9.0.10'), cluster: 'ca:9' };
    const { probes, skipped } = probesFor(w, [w], new Set(), { callers: [outsideCp, other], unreached: [] });
    expect(skipped).toEqual([]);
    expect(probes.map((p) => [p.from.node, p.to])).toEqual([
      ['cp-1', [{ node: 'w-7', url: 'https://10.0.0.27:10250/healthz' }]],
    ]);
  });

  it('a selected control plane and an unselected one are both callers', () => {
    const w = changedWorker();
    const selected: FleetNode = {
      plan: {
        ...w.plan,
        node: 'cp-2',
        host: '10.0.0.11',
        role: 'control-plane',
        status: 'compliant',
        changes: [],
      },
      target: target('cp-2', '10.0.0.11'),
    };
    expect(
      probesFor(w, [selected, w], new Set(), { callers: [outsideCp], unreached: [] }).probes.map(
        (p) => p.from.node,
      ),
    ).toEqual(['cp-2', 'cp-1']);
  });

  it('"not checked" only when none could be reached, naming each and why; a node of another inventory cluster is not named', () => {
    const w = changedWorker();
    const { probes, skipped } = probesFor(w, [w], new Set(), {
      callers: [],
      unreached: [
        { node: 'cp-1', why: 'cp-1: connect ETIMEDOUT 10.0.0.10:22' },
        { node: 'other-cp', cluster: 'other', why: 'other-cp: host key changed' },
      ],
    });
    expect(probes).toEqual([]);
    expect(skipped).toEqual([
      "no control plane of cluster ca:1 could be reached to call w-7's kubelet as the kube-apiserver does (cp-1: connect ETIMEDOUT 10.0.0.10:22)",
    ]);
  });

  it('a selected node that could not be read when the run was planned is named too', () => {
    const w = changedWorker();
    const down: FleetNode = {
      plan: {
        ...w.plan,
        node: 'cp-2',
        role: null,
        status: 'error',
        changes: [],
        error: 'cp-2: connect ECONNREFUSED 10.0.0.11:22',
      } as NodePlan,
      target: target('cp-2', '10.0.0.11'),
    };
    expect(probesFor(w, [down, w], new Set()).skipped).toEqual([
      "no control plane of cluster ca:1 could be reached to call w-7's kubelet as the kube-apiserver does (cp-2: connect ECONNREFUSED 10.0.0.11:22)",
    ]);
  });

  it('the probe runs on the unselected control plane, over a session checked against the host key it was read with', async () => {
    const w = changedWorker();
    const opened: { node: string; hostKey: string | null }[] = [];
    const url = 'https://10.0.0.27:10250/healthz';
    const cp = probeNode([
      `KMCALLER pair\nKMCERT /etc/kubernetes/pki/apiserver-kubelet-client.crt\nKMKEY /etc/kubernetes/pki/apiserver-kubelet-client.key\nKMPROBE 403 ${url}\n`,
    ]);
    const result = await runTrustGate(
      w,
      [w],
      new Set(),
      {
        own: probeNode([]),
        open: (n, use) => {
          opened.push({ node: n.node, hostKey: n.hostKey });
          return use(cp);
        },
        clock: { now: () => 0, sleep: () => Promise.resolve() },
      },
      { callers: [outsideCp], unreached: [] },
    );
    expect(opened).toEqual([{ node: 'cp-1', hostKey: 'SHA256:cp' }]);
    expect(result.records).toEqual([
      expect.objectContaining({ from: 'cp-1', to: 'w-7', answer: '403', verdict: 'trusted' }),
    ]);
  });
});
