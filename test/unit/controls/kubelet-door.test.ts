import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROLS, channelControls, resolveControls, runControls } from '../../../src/controls/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import { factsWithChanges } from '../../../src/facts/with-changes.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import type { Templates } from '../../../src/plan/change.js';
import { planNode } from '../../../src/plan/planner.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

const read = (name: string) => readFileSync(new URL(`../../../templates/${name}`, import.meta.url), 'utf8');
const templates: Templates = {
  dropInYaml: read('kubelet.dropin.yaml'),
  dropInJson: read('kubelet.dropin.json'),
  systemdEnv: read('kubelet-env.dropin.conf'),
  systemdExecStart: read('kubelet-execstart.dropin.conf'),
};
const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
const PKI = '/etc/kubernetes/pki';
const DOOR = ['kubelet-client-ca', 'kubelet-anonymous-auth', 'kubelet-authorization-mode'];

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

/** kubeadm 1.5: a command-line kubelet, anonymous on, AlwaysAllow, no client CA (the legacy defaults). */
const legacy = (dropIn = fixture('kubeadm/legacy-v1.5/10-kubeadm.conf')): FakeNode => ({
  kubeletUnit: [
    { path: '/lib/systemd/system/kubelet.service', text: fixture('lab-extra/units/kubeadm-kubelet.service') },
    { path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', text: dropIn },
  ],
  files: { [`${PKI}/ca.crt`]: pki.caCrt },
});

function planAll(node: FakeNode, controls = CONTROLS) {
  const model = nodeModel(fakeFacts(node));
  const now = new Date();
  const results = runControls('w1', model, controls, now);
  const plan = planNode(
    { node: 'w1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:x' },
    model,
    results,
    kubeadm,
    { node: 'w1', templates },
    now,
  );
  return { model, results, plan };
}

describe('the kubelet door: CIS 4.2.1 and 4.2.2 (opt-in)', () => {
  it('are not in the default selection; their ids, aliases and `all` select them', () => {
    const defaults = resolveControls(undefined).controls.map((c) => c.id);
    expect(defaults).toEqual(['apiserver-kubelet-client-cert', 'kubelet-client-ca']);
    expect(resolveControls('cis-k8s-4.2.1,cis-eks-3.2.2').controls.map((c) => c.id)).toEqual([
      'kubelet-anonymous-auth',
      'kubelet-authorization-mode',
    ]);
    // The controls the open-door warning names are those that close the door (the channel hook).
    expect(channelControls('kubelet-access')).toEqual([
      'kubelet-anonymous-auth',
      'kubelet-authorization-mode',
    ]);
    expect(resolveControls('all').controls.map((c) => c.id)).toEqual([
      'apiserver-kubelet-client-cert',
      ...DOOR,
    ]);
  });

  it('a legacy command-line kubelet fails both, from the legacy defaults, with sources', () => {
    const { results } = planAll(legacy());
    const byId = new Map(results.map((r) => [r.control, r]));
    expect(byId.get('kubelet-anonymous-auth')).toMatchObject({
      status: 'fail',
      benchmarks: ['CIS Kubernetes 4.2.1', 'CIS Amazon EKS 3.2.1'],
    });
    expect(byId.get('kubelet-anonymous-auth')!.reason).toMatch(
      /legacy default of a kubelet without --config/,
    );
    expect(byId.get('kubelet-authorization-mode')!.reason).toMatch(/"AlwaysAllow"/);
    expect(byId.get('kubelet-authorization-mode')!.evidence.length).toBeGreaterThan(0);
  });

  it('--controls all: the three kubelet fixes to one file are one change, and the node then passes all three', () => {
    const { model, plan } = planAll(legacy());
    expect(plan.status).toBe('change');
    expect(plan.blocked).toEqual([]);
    expect(plan.changes).toHaveLength(1);
    const [change] = plan.changes;
    expect(change).toMatchObject({
      path: '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf',
      action: 'create',
      before: null,
      controls: DOOR,
    });
    expect(change!.after.content).toContain(
      `Environment="KUBELET_EXTRA_ARGS=--client-ca-file=${PKI}/ca.crt --anonymous-auth=false --authorization-mode=Webhook --authentication-token-webhook=true"`,
    );
    // What else is refused from now on; the open door the client CA alone would leave is closed.
    expect(change!.notes.join('\n')).toMatch(/read-only port 10255/);
    expect(change!.notes.join('\n')).toMatch(
      /scrapers and health checks that call port 10250 anonymously stop working/,
    );
    expect(change!.notes.join('\n')).toMatch(/must be allowed nodes\/proxy .* or kubectl logs\/exec get 403/);
    expect(change!.notes.join('\n')).not.toMatch(/still serves anyone/);
    expect(plan.warnings ?? []).toEqual([]);
    const after = nodeModel(factsWithChanges(model.facts, plan.changes));
    const again = runControls('w1', after, CONTROLS, new Date());
    expect(again.filter((r) => DOOR.includes(r.control)).map((r) => r.status)).toEqual([
      'pass',
      'pass',
      'pass',
    ]);
  });

  it('the client CA alone leaves the door open: the note says so and names the controls that close it', () => {
    const { plan } = planAll(legacy(), resolveControls(undefined).controls);
    expect(plan.changes[0]!.notes.at(-1)).toMatch(
      /^After this change the kubelet still serves anyone: .*--controls kubelet-anonymous-auth,kubelet-authorization-mode/,
    );
  });

  it('a kubelet without a kubeconfig is blocked for 4.2.2, with the reason', () => {
    const noKubeconfig = fixture('kubeadm/legacy-v1.5/10-kubeadm.conf').replace(/--kubeconfig=\S+/g, '');
    const { plan } = planAll(legacy(noKubeconfig));
    const blocked = plan.blocked.find((b) => b.control === 'kubelet-authorization-mode');
    expect(blocked?.reason).toMatch(/no --kubeconfig.*SubjectAccessReview/);
    expect(plan.status).toBe('blocked');
  });
});

describe('a node an earlier kubemend fixed: its drop-in under the old name (90-kubemend-client-ca.conf)', () => {
  const OLD_UNIT_DROPIN = '/etc/systemd/system/kubelet.service.d/90-kubemend-client-ca.conf';
  const ANON = ['kubelet-anonymous-auth', 'kubelet-authorization-mode'];

  it('flags only: the flags join the old systemd drop-in, no second drop-in', () => {
    const node = legacy();
    node.kubeletUnit!.push({
      path: OLD_UNIT_DROPIN,
      text: `[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--client-ca-file=${PKI}/ca.crt"\n`,
    });
    const { results, plan } = planAll(node);
    expect(results.find((r) => r.control === 'kubelet-client-ca')?.status).toBe('pass');
    expect(plan.blocked).toEqual([]);
    expect(plan.changes.map((c) => [c.action, c.path, c.controls])).toEqual([
      ['modify', OLD_UNIT_DROPIN, ANON],
    ]);
    expect(plan.changes[0]!.after.content).toContain(
      `Environment="KUBELET_EXTRA_ARGS=--client-ca-file=${PKI}/ca.crt --anonymous-auth=false --authorization-mode=Webhook --authentication-token-webhook=true"`,
    );
  });

  it('flags only, a second variable unset: still the old drop-in, never a second one', () => {
    const dropIn = fixture('kubeadm/legacy-v1.5/10-kubeadm.conf').replace(
      '$KUBELET_EXTRA_ARGS',
      '$KUBELET_EXTRA_ARGS $KUBELET_AUTHZ_ARGS',
    );
    const node = legacy(dropIn);
    node.kubeletUnit!.push({
      path: OLD_UNIT_DROPIN,
      text: `[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--client-ca-file=${PKI}/ca.crt"\n`,
    });
    const { plan } = planAll(node);
    expect(plan.blocked).toEqual([]);
    expect(plan.changes.map((c) => [c.action, c.path])).toEqual([['modify', OLD_UNIT_DROPIN]]);
  });

  it('ExecStart= reset in the old drop-in (a packaged unit): edited in place, no second drop-in', () => {
    const line = '/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf';
    const node: FakeNode = {
      processes: [
        {
          pid: 32,
          comm: 'kubelet',
          argv: [
            '/usr/bin/kubelet',
            '--kubeconfig=/etc/kubernetes/kubelet.conf',
            `--client-ca-file=${PKI}/ca.crt`,
          ],
        },
      ],
      kubeletUnit: [
        {
          path: '/usr/lib/systemd/system/kubelet.service',
          text: `[Service]\nExecStart=${line}\nRestart=always\n`,
        },
        {
          path: OLD_UNIT_DROPIN,
          text: `[Service]\nExecStart=\nExecStart=${line} --client-ca-file=${PKI}/ca.crt\n`,
        },
      ],
      files: { [`${PKI}/ca.crt`]: pki.caCrt },
    };
    const { plan } = planAll(node);
    expect(plan.blocked).toEqual([]);
    expect(plan.changes.map((c) => [c.action, c.path])).toEqual([['modify', OLD_UNIT_DROPIN]]);
    expect(plan.changes[0]!.after.content).toMatch(/--anonymous-auth=false/);
  });

  it('--config-dir: the old config drop-in is edited, no second drop-in', () => {
    const CONFIG = '/etc/kubernetes/kubelet/config.json';
    const DIR = `${CONFIG}.d`;
    const node: FakeNode = {
      kubeletUnit: [
        { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2023/kubelet.service') },
      ],
      files: {
        '/etc/eks/kubelet/environment': fixture('eks-al2023/environment'),
        [CONFIG]: fixture('eks-al2023/config.json'),
        [`${DIR}/40-nodeadm.conf`]: fixture('eks-al2023/config.json.d/40-nodeadm.conf'),
        [`${DIR}/90-kubemend-client-ca.conf`]:
          '{\n  "apiVersion": "kubelet.config.k8s.io/v1beta1",\n  "kind": "KubeletConfiguration",\n  "authentication": { "anonymous": { "enabled": true } }\n}\n',
        [`${PKI}/ca.crt`]: pki.caCrt,
      },
    };
    const { plan } = planAll(node);
    const anon = plan.changes.filter((c) => (c.controls ?? [c.control]).includes('kubelet-anonymous-auth'));
    expect(anon.map((c) => [c.action, c.path])).toEqual([['modify', `${DIR}/90-kubemend-client-ca.conf`]]);
    expect(plan.changes.some((c) => c.path.endsWith('90-kubemend-kubelet.conf'))).toBe(false);
  });
});
