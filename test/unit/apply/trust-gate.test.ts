import { describe, expect, it } from 'vitest';
import { probesFor, verdictOf, type FleetNode } from '../../../src/apply/trust-gate.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import type { NodePlan, NodeTrust } from '../../../src/plan/types.js';

const PAIR = { certificate: '/pki/apiserver-kubelet-client.crt', key: '/pki/apiserver-kubelet-client.key' };

function node(
  name: string,
  host: string,
  o: { status?: NodePlan['status']; controls?: string[]; trust?: NodeTrust; cluster?: string } = {},
): FleetNode {
  const plan = {
    node: name,
    host,
    port: 22,
    hostKey: null,
    role: null,
    layout: 'kubeadm',
    status: o.status ?? 'change',
    changes: (o.controls ?? []).map((control) => ({ control })),
    blocked: [],
    ...(o.cluster === '' ? {} : { cluster: o.cluster ?? 'ca:1' }),
    ...(o.trust ? { trust: o.trust } : {}),
  } as unknown as NodePlan;
  return { plan, target: { name, host, port: 22 } as NodeTarget };
}

describe('which probes prove a change', () => {
  const cp = node('cp-1', '10.0.0.10', {
    status: 'compliant',
    trust: { apiserverClient: PAIR, kubelet: { port: 10250, clientCA: 'now' } },
  });

  it('a kubelet given a client CA is called by each control plane of its cluster, at its inventory address', () => {
    const w = node('w-1', '10.0.0.21', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    const other = node('cp-9', '10.9.0.10', {
      status: 'compliant',
      cluster: 'ca:9',
      trust: { apiserverClient: PAIR },
    });
    const { probes, skipped } = probesFor(w, [cp, w, other], new Set());
    expect(skipped).toEqual([]);
    expect(probes.map((p) => [p.from.plan.node, p.certificate, p.to])).toEqual([
      ['cp-1', PAIR.certificate, [{ node: 'w-1', url: 'https://10.0.0.21:10250/healthz' }]],
    ]);
  });

  it('a control plane changed in this run calls only once it is applied', () => {
    const cpChanging = node('cp-1', '10.0.0.10', {
      controls: ['apiserver-kubelet-client-cert'],
      trust: { apiserverClient: PAIR },
    });
    const w = node('w-1', '10.0.0.21', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    expect(probesFor(w, [cpChanging, w], new Set()).skipped[0]).toMatch(
      /^no control plane of cluster ca:1 is in this run/,
    );
    expect(probesFor(w, [cpChanging, w], new Set(['cp-1'])).probes).toHaveLength(1);
  });

  it('a kube-apiserver given new flags calls every kubelet of its cluster that verifies callers now', () => {
    const me = node('cp-2', '10.0.0.11', {
      controls: ['apiserver-kubelet-client-cert'],
      trust: { apiserverClient: PAIR, kubelet: { port: 10250, clientCA: 'now' } },
    });
    const ready = node('w-1', '10.0.0.21', {
      status: 'compliant',
      trust: { kubelet: { port: 10250, clientCA: 'now' } },
    });
    const later = node('w-2', '10.0.0.22', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    const [p] = probesFor(me, [me, ready, later], new Set()).probes;
    expect(p!.from.plan.node).toBe('cp-2');
    expect(p!.to.map((t) => t.node)).toEqual(['cp-2', 'w-1']);
  });

  it('a control plane changed on both ends asks its own kubelet once', () => {
    const me = node('cp-1', '10.0.0.10', {
      controls: ['apiserver-kubelet-client-cert', 'kubelet-client-ca'],
      trust: { apiserverClient: PAIR, kubelet: { port: 10250, clientCA: 'planned' } },
    });
    const w = node('w-1', '10.0.0.21', {
      status: 'compliant',
      trust: { kubelet: { port: 10250, clientCA: 'now' } },
    });
    // Apply passes the node being changed as its own object, not the fleet's entry.
    const { probes } = probesFor({ ...me }, [me, w], new Set());
    expect(probes.flatMap((p) => p.to.map((t) => `${p.from.plan.node}→${t.node}`))).toEqual([
      'cp-1→cp-1',
      'cp-1→w-1',
    ]);
  });

  it('a loopback or odd inventory address is not dialled: the check says why it did not run', () => {
    const w = node('w-1', '127.0.0.1', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    const odd = node('w-2', 'a b;c', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    expect(probesFor(w, [cp, w], new Set()).skipped).toEqual([
      "w-1's inventory address 127.0.0.1 is loopback (a tunnel?): not an address cp-1 reaches its kubelet at",
    ]);
    expect(probesFor(odd, [cp, odd], new Set()).skipped[0]).toMatch(
      /is not a host name or IP address cp-1 can dial/,
    );
  });

  it('an IPv6 address is bracketed; a node of unknown cluster is not probed', () => {
    const w = node('w-6', 'fd00::21', {
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    expect(probesFor(w, [cp, w], new Set()).probes[0]!.to[0]!.url).toBe('https://[fd00::21]:10250/healthz');
    const lost = node('w-7', '10.0.0.27', {
      cluster: '',
      controls: ['kubelet-client-ca'],
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
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
    ['tls', 'rejected'],
    ['connect', 'not proven'],
    ['500', 'not proven'],
    ['notool', 'not proven'],
  ])('%s → %s', (answer, verdict) => expect(verdictOf(answer)).toBe(verdict));
});
