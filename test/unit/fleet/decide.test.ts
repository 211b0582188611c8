import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROLS, DEFAULT_CONTROLS, resolveControls, runControls } from '../../../src/controls/index.js';
import type { Control } from '../../../src/controls/types.js';
import { nodeModel } from '../../../src/facts/model.js';
import { clusterOf } from '../../../src/fleet/clusters.js';
import { decideFleet, type FleetEntry } from '../../../src/fleet/decide.js';
import { currentTrust, fleetMember } from '../../../src/fleet/members.js';
import { judgeFleet } from '../../../src/fleet/trust.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import type { Templates } from '../../../src/plan/change.js';
import { planNode } from '../../../src/plan/planner.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

const tpl = (f: string) => readFileSync(new URL(`../../../templates/${f}`, import.meta.url), 'utf8');
const templates: Templates = {
  dropInYaml: tpl('kubelet.dropin.yaml'),
  dropInJson: tpl('kubelet.dropin.json'),
  systemdEnv: tpl('kubelet-env.dropin.conf'),
  systemdExecStart: tpl('kubelet-execstart.dropin.conf'),
};
const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

const PKI = '/etc/kubernetes/pki';
const CA = `${PKI}/ca.crt`;
const CLIENT = `${PKI}/apiserver-kubelet-client.crt`;
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const unfixedManifest = () =>
  fixture('kubeadm/kube-apiserver.yaml').replace(/^.*--kubelet-client-.*\n/gm, '');
const argsOf = (manifest: string) =>
  (parse(manifest) as { spec: { containers: { command: string[] }[] } }).spec.containers[0]!.command;
const kubelet = {
  pid: 20,
  comm: 'kubelet',
  argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'],
};

/** A kubeadm control plane failing both controls; its kubelet client certificate is signed by `ca`. */
const controlPlane = (manifest = unfixedManifest()): FakeNode => ({
  processes: [{ pid: 10, comm: 'kube-apiserver', argv: argsOf(manifest) }, kubelet],
  files: {
    [MANIFEST]: manifest,
    '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.commented.yaml'),
    [CA]: pki.caCrt,
    [CLIENT]: pki.clientCrt,
  },
  keys: [`${PKI}/apiserver-kubelet-client.key`],
  pairs: [{ cert: CLIENT, key: `${PKI}/apiserver-kubelet-client.key`, result: 'match' }],
});

/** A kubeadm worker without a client CA; `ca.crt` holds the given CA (the one its fix would use). */
const worker = (
  caCrt: string,
  extra: Record<string, string> = {},
  config = 'kubeadm/config.commented.yaml',
) => ({
  processes: [kubelet],
  files: { '/var/lib/kubelet/config.yaml': fixture(config), [CA]: caCrt, ...extra },
});

/** kubeadm 1.5: a command-line kubelet with a kubeconfig, anonymous on, AlwaysAllow, no client CA. */
const legacyWorker = (): FakeNode => ({
  kubeletUnit: [
    { path: '/lib/systemd/system/kubelet.service', text: fixture('lab-extra/units/kubeadm-kubelet.service') },
    {
      path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
      text: fixture('kubeadm/legacy-v1.5/10-kubeadm.conf'),
    },
  ],
  files: { [CA]: pki.caCrt },
});

function entry(
  name: string,
  node: FakeNode,
  cluster = 'prod',
  controls: readonly Control[] = DEFAULT_CONTROLS,
): FleetEntry {
  const model = nodeModel(fakeFacts(node));
  const now = new Date();
  const plan = planNode(
    { node: name, host: `${name}.lab`, port: 22, hostKey: null },
    model,
    runControls(name, model, controls, now),
    kubeadm,
    { node: name, templates },
    now,
  );
  return { plan, model, playbook: kubeadm, cluster: { name: cluster, from: 'inventory' } };
}

describe('the fleet step of plan', () => {
  it('blocks the worker whose planned client CA does not verify the control plane, and fixes the rest', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane()),
      entry('w-1', worker(pki.caCrt)),
      entry('w-3', worker(pki.otherCaCrt)),
    ]);
    expect(plans.get('cp-1')!.status).toBe('change');
    expect(plans.get('w-1')!.status).toBe('change');
    const w3 = plans.get('w-3')!;
    expect(w3.status).toBe('blocked');
    expect(w3.blocked).toEqual([
      {
        control: 'kubelet-client-ca',
        reason: `the client CA ${CA} on w-3 does not verify cp-1's planned kubelet client certificate ${CLIENT}: kubectl logs/exec on w-3 would get 401 Unauthorized`,
        fix: expect.stringContaining('issuer "CN=ca"') as unknown as string,
      },
    ]);
    // Its change stays in the plan for the reviewer; apply skips a blocked node.
    expect(w3.changes.map((c) => c.control)).toEqual(['kubelet-client-ca']);
  });

  it('names a bundle on the node that does verify it as the way out', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane()),
      entry('w-3', worker(pki.otherCaCrt, { '/etc/pki/cluster-ca.pem': pki.caCrt })),
    ]);
    expect(plans.get('w-3')!.blocked[0]!.fix).toBe(
      'point kubelet.clientCAFile at /etc/pki/cluster-ca.pem, which verifies it (inventory params or -p playbook), and plan again',
    );
  });

  it('does not judge a worker against the control plane of another cluster', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane(), 'a'),
      entry('w-3', worker(pki.otherCaCrt), 'b'),
    ]);
    expect(plans.get('w-3')!.status).toBe('change');
    expect(plans.get('w-3')!.warnings?.[0]).toMatch(
      /^fleet trust check not run for w-3: no control plane of cluster b is in the selection/,
    );
  });

  it('workers alone: a warning that says which check did not run and how to give it what it needs', () => {
    const w = decideFleet([entry('w-1', worker(pki.caCrt))]).get('w-1')!;
    expect(w.status).toBe('change');
    expect(w.warnings).toEqual([
      expect.stringMatching(
        /--apiserver-kubelet-cert FILE .*apiserver-kubelet-client\.crt/,
      ) as unknown as string,
    ]);
  });

  it('with --apiserver-kubelet-cert, workers alone are judged against that certificate', () => {
    const given = [{ source: '/tmp/apiserver-kubelet-client.crt', cert: new X509Certificate(pki.clientCrt) }];
    const plans = decideFleet([entry('w-1', worker(pki.caCrt)), entry('w-3', worker(pki.otherCaCrt))], given);
    expect(plans.get('w-1')!.status).toBe('change');
    expect(plans.get('w-1')!.warnings).toBeUndefined();
    expect(plans.get('w-3')!.blocked[0]!.reason).toBe(
      `the client CA ${CA} on w-3 does not verify the kube-apiserver's kubelet client certificate /tmp/apiserver-kubelet-client.crt (--apiserver-kubelet-cert): kubectl logs/exec on w-3 would get 401 Unauthorized`,
    );
  });

  it('blocks the control plane whose planned certificate a configured kubelet of its cluster rejects', () => {
    // w-9 already verifies callers against the other CA (compliant): cp-1's new flags would break it.
    const w9 = worker(pki.otherCaCrt, {}, 'kubeadm/config.yaml');
    const plans = decideFleet([entry('cp-1', controlPlane()), entry('w-9', w9)]);
    expect(plans.get('w-9')!.status).toBe('compliant');
    const cp = plans.get('cp-1')!;
    expect(cp.status).toBe('blocked');
    expect(cp.blocked.map((b) => [b.control, b.reason])).toEqual([
      [
        'apiserver-kubelet-client-cert',
        `cp-1's planned kubelet client certificate ${CLIENT} is not signed by the client CA ${CA} of w-9: kubectl logs/exec on w-9 would get 401 Unauthorized`,
      ],
    ]);
  });

  it('puts what the trust gate needs on each plan', () => {
    const plans = decideFleet([entry('cp-1', controlPlane()), entry('w-1', worker(pki.caCrt))]);
    expect(plans.get('cp-1')).toMatchObject({
      cluster: 'prod',
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
    expect(plans.get('w-1')).toMatchObject({
      cluster: 'prod',
      trust: { kubelet: { port: 10250, clientCA: 'planned' } },
    });
  });
});

describe('the fleet step and the kubelet door (anonymous, authorization: issue 21)', () => {
  const only = (list: string) => resolveControls(list).controls;
  const DOOR = ['kubelet-client-ca', 'kubelet-anonymous-auth', 'kubelet-authorization-mode'];

  it('--controls all: the client CA, the apiserver pair and the door are planned in one apply', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane(), 'prod', CONTROLS),
      entry('w-1', legacyWorker(), 'prod', CONTROLS),
    ]);
    expect(plans.get('cp-1')!.status).toBe('change');
    const w = plans.get('w-1')!;
    expect(w.status).toBe('change');
    expect(w.changes.flatMap((c) => c.controls ?? [c.control])).toEqual(DOOR);
    // The trust gate will prove the kubelet with the client CA it is planned to get.
    expect(w.trust).toEqual({ kubelet: { port: 10250, clientCA: 'planned' } });
  });

  it('blocks the door of a kubelet whose control plane keeps calling it without a client certificate', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane(), 'prod', only('kubelet-client-ca')),
      entry('w-1', legacyWorker(), 'prod', CONTROLS),
    ]);
    const w = plans.get('w-1')!;
    expect(w.status).toBe('blocked');
    expect(w.blocked).toEqual([
      {
        control: 'kubelet-anonymous-auth',
        reason:
          "the kube-apiserver on cp-1 presents no kubelet client certificate (--kubelet-client-certificate/--kubelet-client-key): it calls kubelets anonymously, so once w-1's kubelet refuses anonymous requests or stops allowing everything (kubelet-anonymous-auth, kubelet-authorization-mode), kubectl logs/exec on w-1 would get 401 Unauthorized or 403 Forbidden",
        fix: "plan the apiserver's pair in the same apply (--controls kubelet-client-ca,apiserver-kubelet-client-cert,kubelet-anonymous-auth,kubelet-authorization-mode, with cp-1 selected), or give the kube-apiserver its kubelet client pair first",
      },
    ]);
    // The same worker without the door is not blocked: only closing it needs the pair.
    const plain = decideFleet([
      entry('cp-1', controlPlane(), 'prod', only('kubelet-client-ca')),
      entry('w-1', legacyWorker(), 'prod', only('kubelet-client-ca')),
    ]);
    expect(plain.get('w-1')!.status).toBe('change');
  });

  it('blocks the door of a kubelet that would get no client CA, naming the control that gives it one', () => {
    const plans = decideFleet([
      entry('cp-1', controlPlane(fixture('kubeadm/kube-apiserver.yaml'))),
      entry('w-1', legacyWorker(), 'prod', only('kubelet-authorization-mode')),
    ]);
    expect(plans.get('w-1')!.blocked).toEqual([
      {
        control: 'kubelet-authorization-mode',
        reason:
          "w-1's kubelet has no client CA (clientCAFile, --client-ca-file), so it cannot recognise the kube-apiserver's kubelet client certificate: once w-1's kubelet refuses anonymous requests or stops allowing everything (kubelet-authorization-mode), kubectl logs/exec on w-1 would get 401 Unauthorized or 403 Forbidden",
        fix: 'plan the client CA in the same apply (--controls kubelet-client-ca,kubelet-authorization-mode), or give the kubelet a client CA first',
      },
    ]);
  });

  it('blocks the door of a kubelet whose client CA as it is does not verify the control plane', () => {
    const w = legacyWorker();
    w.kubeletUnit![1]!.text +=
      'Environment="KUBELET_EXTRA_ARGS=--client-ca-file=/etc/kubernetes/pki/ca.crt"\n';
    w.files![CA] = pki.otherCaCrt;
    const plans = decideFleet([
      entry('cp-1', controlPlane(fixture('kubeadm/kube-apiserver.yaml'))),
      entry('w-1', w, 'prod', only('kubelet-anonymous-auth')),
    ]);
    expect(plans.get('w-1')!.blocked).toEqual([
      expect.objectContaining({
        control: 'kubelet-anonymous-auth',
        reason: `the client CA ${CA} on w-1 does not verify cp-1's kubelet client certificate ${CLIENT}: once w-1's kubelet refuses anonymous requests or stops allowing everything, kubectl logs/exec on w-1 would get 401 Unauthorized`,
      }),
    ]);
  });
});

describe('the fleet judgement of the current state (audit)', () => {
  it('warns on both ends of a channel that is broken now, naming the other node', () => {
    const fixed = fixture('kubeadm/kube-apiserver.yaml');
    const cp = nodeModel(fakeFacts(controlPlane(fixed)));
    const w = nodeModel(fakeFacts(worker(pki.otherCaCrt, {}, 'kubeadm/config.yaml')));
    const prod = { name: 'prod', from: 'inventory' as const };
    const v = judgeFleet(
      [fleetMember('cp-1', prod, currentTrust(cp)), fleetMember('w-9', prod, currentTrust(w))],
      {
        mode: 'audit',
      },
    );
    expect(v.get('w-9')!.kubeletWarnings).toEqual([
      `the client CA ${CA} on w-9 does not verify cp-1's kubelet client certificate ${CLIENT}: kubectl logs/exec on w-9 get 401 Unauthorized`,
    ]);
    expect(v.get('cp-1')!.apiserverWarnings[0]).toContain('is not accepted by the client CA');
    expect(v.get('cp-1')!.kubeletWarnings).toEqual([]);
  });
});

describe('clusters from facts', () => {
  it('a node is in the cluster its kubelet kubeconfig trusts, by fingerprint; the inventory name wins', () => {
    const a = nodeModel(
      fakeFacts({
        ...worker(pki.caCrt),
        processes: [{ ...kubelet, argv: [...kubelet.argv, '--kubeconfig=/etc/kubernetes/kubelet.conf'] }],
      }),
    );
    a.facts.kubeconfigCAs = new Map([['/etc/kubernetes/kubelet.conf', { files: [], pem: [pki.caCrt] }]]);
    const b = nodeModel(
      fakeFacts({
        ...worker(pki.otherCaCrt),
        processes: [{ ...kubelet, argv: [...kubelet.argv, '--kubeconfig=/k'] }],
      }),
    );
    b.facts.kubeconfigCAs = new Map([['/k', { files: [CA], pem: [] }]]);
    const fp = new X509Certificate(pki.caCrt).fingerprint256.replaceAll(':', '').slice(0, 8).toLowerCase();
    expect(clusterOf(undefined, a)).toEqual({
      name: `ca:${fp}`,
      from: 'ca',
      source: '/etc/kubernetes/kubelet.conf',
    });
    const other = new X509Certificate(pki.otherCaCrt).fingerprint256
      .replaceAll(':', '')
      .slice(0, 8)
      .toLowerCase();
    expect(clusterOf(undefined, b)).toEqual({ name: `ca:${other}`, from: 'ca', source: '/k' });
    expect(clusterOf('prod-eu', a)).toEqual({ name: 'prod-eu', from: 'inventory' });
    expect(clusterOf(undefined, nodeModel(fakeFacts({})))).toBeUndefined();
  });
});

describe('the fleet judgement when blocks cascade', () => {
  const x = (pem: string) => new X509Certificate(pem);
  const prod = { name: 'prod', from: 'inventory' as const };
  const ca = () => ({ caFile: '/pki/ca.crt', certs: [x(pki.caCrt)] });
  const other = () => ({ caFile: '/pki/other.crt', certs: [x(pki.otherCaCrt)] });
  const P = () => ({ certificate: '/pki/p.crt', key: '/pki/p.key', cert: x(pki.clientCrt) }); // signed by ca
  const N = () => ({ certificate: '/pki/n.crt', key: '/pki/n.key', cert: x(pki.foreignClientCrt) }); // by other
  const blockedOf = (v: ReturnType<typeof judgeFleet>) =>
    [...v].filter(([, r]) => r.blocked.length > 0).map(([n, r]) => `${n}:${r.blocked[0]!.control}`);

  it('a kubelet is judged against what a blocked control plane keeps presenting, not its plan', () => {
    const v = judgeFleet(
      [
        { node: 'cp', cluster: prod, apiserver: { now: N(), planned: P() } },
        { node: 'w1', cluster: prod, kubelet: { now: other() } },
        { node: 'w2', cluster: prod, kubelet: { planned: other() } },
      ],
      { mode: 'plan' },
    );
    // w1 already verifies against the other CA: cp's new certificate would break it; cp keeps N,
    // which w2's planned CA verifies, so w2 goes ahead.
    expect(blockedOf(v)).toEqual(['cp:apiserver-kubelet-client-cert']);
  });

  it('a node blocked for its kubelet keeps its old certificate too, and the others are judged against that', () => {
    const v = judgeFleet(
      [
        { node: 'cpx', cluster: prod, kubelet: { planned: other() }, apiserver: { now: N(), planned: P() } },
        { node: 'w3', cluster: prod, kubelet: { planned: ca() } },
      ],
      { mode: 'plan' },
    );
    expect(blockedOf(v)).toEqual(['cpx:kubelet-client-ca', 'w3:kubelet-client-ca']);
    expect(v.get('w3')!.blocked[0]!.reason).toContain("cpx's kubelet client certificate /pki/n.crt");
  });

  it('a kubelet blocked early is let go when a control plane blocked later leaves it nothing to reject', () => {
    const v = judgeFleet(
      [
        { node: 'cp', cluster: prod, apiserver: { now: N(), planned: P() } },
        { node: 'k1', cluster: prod, kubelet: { planned: other() } },
        { node: 'w1', cluster: prod, kubelet: { now: other() } },
      ],
      { mode: 'plan' },
    );
    expect(blockedOf(v)).toEqual(['cp:apiserver-kubelet-client-cert']);
  });

  it('every control plane counts: one with a certificate of another CA blocks the kubelet, named', () => {
    const v = judgeFleet(
      [
        { node: 'cp1', cluster: prod, apiserver: { now: P() } },
        { node: 'cp2', cluster: prod, apiserver: { now: N() } },
        { node: 'w', cluster: prod, kubelet: { planned: ca() } },
      ],
      { mode: 'plan' },
    );
    expect(v.get('w')!.blocked[0]!.reason).toBe(
      "the client CA /pki/ca.crt on w does not verify cp2's kubelet client certificate /pki/n.crt: kubectl logs/exec on w would get 401 Unauthorized",
    );
  });

  it('a certificate still to be issued is judged by the CA that will sign it', () => {
    const issued = {
      certificate: '/pki/new.crt',
      key: '/pki/new.key',
      issuer: { path: '/pki/ca.crt', certs: [x(pki.caCrt)] },
    };
    const v = judgeFleet(
      [
        { node: 'cp', cluster: prod, apiserver: { planned: issued } },
        { node: 'good', cluster: prod, kubelet: { planned: ca() } },
        { node: 'bad', cluster: prod, kubelet: { planned: other() } },
      ],
      { mode: 'plan' },
    );
    expect(blockedOf(v)).toEqual(['bad:kubelet-client-ca']);
    expect(v.get('bad')!.blocked[0]!.reason).toContain(
      'the kubelet client certificate /pki/new.crt that cp is planned to issue from /pki/ca.crt',
    );
  });

  it('on one node, a planned client CA is judged against the planned certificate of its own kube-apiserver', () => {
    const v = judgeFleet(
      [{ node: 'cp', cluster: prod, kubelet: { planned: other() }, apiserver: { planned: P() } }],
      {
        mode: 'plan',
      },
    );
    expect(blockedOf(v)).toEqual(['cp:kubelet-client-ca']);
    // As it is now, one node's own pair is the controls' to judge (no second warning here).
    const now = judgeFleet(
      [{ node: 'cp', cluster: prod, kubelet: { now: other() }, apiserver: { now: P() } }],
      {
        mode: 'audit',
      },
    );
    expect(now.get('cp')).toEqual({ blocked: [], kubeletWarnings: [], apiserverWarnings: [] });
  });
});
