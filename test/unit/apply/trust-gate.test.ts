import { describe, expect, it } from 'vitest';
import {
  describeProbe,
  probesFor,
  runTrustGate,
  verdictOf,
  type FleetNode,
} from '../../../src/apply/trust-gate.js';
import { NodeError } from '../../../src/errors.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import type { NodeSession } from '../../../src/node/ssh/types.js';
import type { NodePlan, NodeTrust } from '../../../src/plan/types.js';
import { probeNode } from '../support/probe-node.js';

const CERT = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';

function node(
  name: string,
  host: string,
  o: {
    status?: NodePlan['status'];
    role?: NodePlan['role'];
    controls?: string[];
    trust?: NodeTrust;
    cluster?: string;
  } = {},
): FleetNode {
  const plan = {
    node: name,
    host,
    port: 22,
    hostKey: null,
    role: o.role ?? 'worker',
    layout: 'kubeadm',
    status: o.status ?? 'change',
    changes: (o.controls ?? []).map((control) => ({ control })),
    blocked: [],
    ...(o.cluster === '' ? {} : { cluster: o.cluster ?? 'ca:1' }),
    ...(o.trust ? { trust: o.trust } : {}),
  } as unknown as NodePlan;
  return { plan, target: { name, host, port: 22 } as NodeTarget };
}
const verifies = (clientCA: 'now' | 'planned' = 'now') => ({ kubelet: { port: 10250, clientCA } });
const cp = node('cp-1', '10.0.0.10', { status: 'compliant', role: 'control-plane', trust: verifies() });
const worker = (name = 'w-1', host = '10.0.0.21') =>
  node(name, host, { controls: ['kubelet-client-ca'], trust: verifies('planned') });

describe('which probes prove a change', () => {
  it('a kubelet given a client CA is called by each control plane of its cluster, at its inventory address', () => {
    const w = worker();
    const other = node('cp-9', '10.9.0.10', { status: 'compliant', role: 'control-plane', cluster: 'ca:9' });
    const { probes, skipped } = probesFor(w, [cp, w, other], new Set());
    expect(skipped).toEqual([]);
    expect(probes.map((p) => [p.from.node, p.to])).toEqual([
      ['cp-1', [{ node: 'w-1', url: 'https://10.0.0.21:10250/healthz' }]],
    ]);
  });

  it('a control plane is a caller whatever this run did to it: the probe reads what it presents now', () => {
    const changing = node('cp-1', '10.0.0.10', {
      role: 'control-plane',
      controls: ['apiserver-kubelet-client-cert'],
    });
    const w = worker();
    expect(probesFor(w, [changing, w], new Set()).probes.map((p) => p.from.node)).toEqual(['cp-1']);
  });

  it('no control plane of the cluster in the inventory: the check says it did not run, and why', () => {
    const w = worker();
    expect(probesFor(w, [w], new Set()).skipped).toEqual([
      "no control plane of cluster ca:1 is in the inventory, so nothing could call w-1's kubelet as the kube-apiserver does; add one to the inventory (it is only read and probed from) to prove the channel",
    ]);
  });

  it('a kube-apiserver given new flags calls every kubelet of its cluster that verifies callers now', () => {
    const me = node('cp-2', '10.0.0.11', {
      role: 'control-plane',
      controls: ['apiserver-kubelet-client-cert'],
      trust: verifies(),
    });
    const ready = node('w-1', '10.0.0.21', { status: 'compliant', trust: verifies() });
    const later = worker('w-2', '10.0.0.22');
    const [p] = probesFor(me, [me, ready, later], new Set()).probes;
    expect(p!.from.node).toBe('cp-2');
    expect(p!.to.map((t) => t.node)).toEqual(['cp-2', 'w-1']);
    // Once w-2's planned CA is in place, it is asked too.
    expect(probesFor(me, [me, ready, later], new Set(['w-2'])).probes[0]!.to.map((t) => t.node)).toEqual([
      'cp-2',
      'w-1',
      'w-2',
    ]);
  });

  it('a control plane changed on both ends asks its own kubelet once', () => {
    const me = node('cp-1', '10.0.0.10', {
      role: 'control-plane',
      controls: ['apiserver-kubelet-client-cert', 'kubelet-client-ca'],
      trust: verifies('planned'),
    });
    const w = node('w-1', '10.0.0.21', { status: 'compliant', trust: verifies() });
    // Apply passes the node being changed as its own object, not the fleet's entry.
    const { probes } = probesFor({ ...me }, [me, w], new Set());
    expect(probes.flatMap((p) => p.to.map((t) => `${p.from.node}→${t.node}`))).toEqual([
      'cp-1→cp-1',
      'cp-1→w-1',
    ]);
  });

  it('a loopback or odd inventory address is not dialled: the check says why it did not run', () => {
    const w = worker('w-1', '127.0.0.1');
    const odd = worker('w-2', 'a b;c');
    expect(probesFor(w, [cp, w], new Set()).skipped).toEqual([
      "w-1's inventory address 127.0.0.1 is loopback (a tunnel?): not an address cp-1 reaches its kubelet at",
    ]);
    expect(probesFor(odd, [cp, odd], new Set()).skipped[0]).toMatch(
      /is not a host name or IP address cp-1 can dial/,
    );
  });

  it('an IPv6 address is bracketed; a node of unknown cluster is not probed', () => {
    const w = worker('w-6', 'fd00::21');
    expect(probesFor(w, [cp, w], new Set()).probes[0]!.to[0]!.url).toBe('https://[fd00::21]:10250/healthz');
    const lost = node('w-7', '10.0.0.27', {
      cluster: '',
      controls: ['kubelet-client-ca'],
      trust: verifies('planned'),
    });
    expect(probesFor(lost, [cp, lost], new Set()).skipped[0]).toMatch(
      /could not tell which cluster w-7 belongs to/,
    );
  });
});

describe('what an answer proves', () => {
  it.each([
    ['200', 'trusted'],
    ['403', 'trusted'],
    ['401', 'rejected'],
    // The kubelet asks for a client certificate but does not require one: a failed handshake is
    // never its verdict on the certificate.
    ['tls', 'not proven'],
    ['connect', 'not proven'],
    ['500', 'not proven'],
    ['notool', 'not proven'],
  ])('%s → %s', (answer, verdict) => expect(verdictOf(answer)).toBe(verdict));
});

const pair = `KMCALLER pair\nKMCERT ${CERT}\nKMKEY /etc/kubernetes/pki/apiserver-kubelet-client.key\n`;
const url = 'https://10.0.0.21:10250/healthz';

describe('running the probes', () => {
  const run = (cpSession: NodeSession) => {
    const w = worker();
    const slept: number[] = [];
    return {
      slept,
      result: runTrustGate(w, [cp, w], new Set(), {
        own: probeNode([]),
        open: (_n, use) => use(cpSession),
        clock: { now: () => 0, sleep: (ms) => Promise.resolve(void slept.push(ms)) },
      }),
    };
  };

  it('records the answer with the certificate the caller really presents', async () => {
    const { result } = run(probeNode([`${pair}KMPROBE 403 ${url}\n`]));
    expect(await result).toEqual({
      records: [
        { from: 'cp-1', to: 'w-1', url, certificate: CERT, answer: '403', verdict: 'trusted', path: 'ssh' },
      ],
      skipped: [],
    });
  });

  it('asks once more after a moment when nothing answered, and keeps the second answer', async () => {
    const cpSession = probeNode([`${pair}KMPROBE connect ${url}\n`, `${pair}KMPROBE 401 ${url}\n`]);
    const { result, slept } = run(cpSession);
    expect((await result).records.map((r) => r.verdict)).toEqual(['rejected']);
    expect(slept).toEqual([3000]);
    expect(cpSession.runs).toEqual([[url], [url]]);
  });

  it('a control plane that presents no certificate, or runs no kube-apiserver, proves nothing: said so', async () => {
    expect((await run(probeNode(['KMCALLER anonymous\n'])).result).skipped).toEqual([
      "cp-1's kube-apiserver presents no kubelet client certificate (it calls kubelets anonymously): nothing to prove",
    ]);
    expect((await run(probeNode(['KMCALLER none\n'])).result).skipped).toEqual([
      'no kube-apiserver runs on cp-1 now, so it calls no kubelet',
    ]);
  });

  it('an unreachable control plane is a check not run; a bug is not swallowed', async () => {
    const down = new NodeError('cp-1', 'cp-1: connection refused', 'unreachable');
    expect((await run(probeNode([down])).result).skipped).toEqual([
      'the probe could not run on cp-1: cp-1: connection refused',
    ]);
    await expect(run(probeNode([new TypeError('oops')])).result).rejects.toThrow('oops');
  });
});

describe('a kubelet whose door this run closes (anonymous, authorization): proved as kubectl logs uses it', () => {
  const pods = 'https://10.0.0.21:10250/pods';
  const door = () =>
    node('w-1', '10.0.0.21', {
      controls: ['kubelet-client-ca', 'kubelet-anonymous-auth', 'kubelet-authorization-mode'],
      trust: verifies('planned'),
    });
  const gate = (cpSession: NodeSession) => {
    const w = door();
    return runTrustGate(w, [cp, w], new Set(), {
      own: probeNode([]),
      open: (_n, use) => use(cpSession),
      clock: { now: () => 0, sleep: () => Promise.resolve() },
    });
  };

  it('is asked at /pods with the apiserver pair, and once with no credentials', () => {
    const w = door();
    expect(probesFor(w, [cp, w], new Set()).probes).toEqual([
      {
        from: { node: 'cp-1', target: cp.target, hostKey: null },
        to: [{ node: 'w-1', url: pods, door: true }],
        anonymous: [{ node: 'w-1', url: pods }],
      },
    ]);
  });

  it('passes on 200 for the pair and 401 for no credentials, and journals both', async () => {
    const cpSession = probeNode([`${pair}KMANON 401 ${pods}\nKMPROBE 200 ${pods}\n`]);
    expect(await gate(cpSession)).toEqual({
      records: [
        {
          from: 'cp-1',
          to: 'w-1',
          url: pods,
          certificate: CERT,
          door: true,
          answer: '200',
          verdict: 'trusted',
          path: 'ssh',
        },
        {
          from: 'cp-1',
          to: 'w-1',
          url: pods,
          certificate: '',
          credentials: 'none',
          answer: '401',
          verdict: 'refused',
          path: 'ssh',
        },
      ],
      skipped: [],
    });
    expect(cpSession.runs).toEqual([[pods, pods]]);
  });

  it('403 for the pair (authenticated, not authorized) or 200 with no credentials fails the gate', async () => {
    const got = await gate(probeNode([`${pair}KMANON 200 ${pods}\nKMPROBE 403 ${pods}\n`]));
    expect(got.records.map((r) => [r.credentials ?? 'pair', r.answer, r.verdict])).toEqual([
      ['pair', '403', 'rejected'],
      ['none', '200', 'served'],
    ]);
    expect(got.records.map(describeProbe)).toEqual([
      `cp-1 → w-1 ${pods}: 403 (Forbidden: authenticated, not authorized: kubectl logs/exec would fail)`,
      `cp-1 → w-1 ${pods} with no credentials: 200 (served: the kubelet still serves anyone)`,
    ]);
  });

  it('a control plane that calls with no pair is refused at a closed door: the gate fails', async () => {
    const got = await gate(probeNode([`KMANON 401 ${pods}\nKMCALLER anonymous\n`]));
    expect(got.records.map((r) => [r.credentials ?? 'pair', r.answer, r.verdict])).toEqual([
      ['none', '401', 'refused'],
      ['pair', 'nopair', 'rejected'],
    ]);
  });
});
