// Apply's recompute of a plan entry with the fleet step: the other nodes count by the state the
// plan leaves them in, whether this run has changed them yet or not, or as they are if it failed.
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetEntry, recomputeNode, type PlannerSettings } from '../../../src/apply/recompute.js';
import { loadTemplates } from '../../../src/commands/templates.js';
import { DEFAULT_CONTROLS } from '../../../src/controls/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import { decideFleet } from '../../../src/fleet/decide.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planDifference } from '../../../src/plan/compare.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
const settings: PlannerSettings = {
  controls: DEFAULT_CONTROLS,
  templates: loadTemplates(),
  playbookOf: () => kubeadm,
  issueCerts: () => false,
  given: [],
};

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

const PKI = '/etc/kubernetes/pki';
const CA = `${PKI}/ca.crt`;
const CLIENT = `${PKI}/apiserver-kubelet-client.crt`;
const KEY = `${PKI}/apiserver-kubelet-client.key`;
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const CONFIG = '/var/lib/kubelet/config.yaml';
const kubelet = { pid: 20, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${CONFIG}`] };

/** A kubeadm control plane; `fixed`: as apply leaves it (its manifest with the two flags). */
const controlPlane = (fixed: boolean): FakeNode => {
  const full = fixture('kubeadm/kube-apiserver.yaml');
  const manifest = fixed ? full : full.replace(/^.*--kubelet-client-.*\n/gm, '');
  const args = (parse(manifest) as { spec: { containers: { command: string[] }[] } }).spec.containers[0]!
    .command;
  return {
    processes: [{ pid: fixed ? 11 : 10, comm: 'kube-apiserver', argv: args }, kubelet],
    files: {
      [MANIFEST]: manifest,
      [CONFIG]: fixture(fixed ? 'kubeadm/config.yaml' : 'kubeadm/config.commented.yaml'),
      [CA]: pki.caCrt,
      [CLIENT]: pki.clientCrt,
    },
    keys: [KEY],
    pairs: [{ cert: CLIENT, key: KEY, result: 'match' }],
  };
};
const worker = (): FakeNode => ({
  processes: [kubelet],
  files: { [CONFIG]: fixture('kubeadm/config.commented.yaml'), [CA]: pki.caCrt },
});
const target = (name: string): NodeTarget =>
  ({ name, host: `${name}.lab`, port: 22, cluster: 'prod' }) as NodeTarget;
const model = (n: FakeNode) => nodeModel(fakeFacts(n));
const now = new Date();

/** The plan as `kubemend plan` makes it for cp-1 and w-1 together. */
function reviewedPlan(cp: FakeNode) {
  const entries = [
    fleetEntry(target('cp-1'), model(cp), 'SHA256:cp', settings, now),
    fleetEntry(target('w-1'), model(worker()), 'SHA256:w', settings, now),
  ];
  return decideFleet(entries);
}

/** w-1's entry computed again, with cp-1 read as `cp`. */
const recomputeWorker = (cp: FakeNode) =>
  recomputeNode(
    target('w-1'),
    model(worker()),
    'SHA256:w',
    settings,
    {
      order: ['cp-1', 'w-1'],
      others: new Map([['cp-1', fleetEntry(target('cp-1'), model(cp), 'SHA256:cp', settings, now)]]),
      failed: new Set(),
    },
    now,
  );

describe("apply's recompute of a plan entry", () => {
  it('gives the entry plan wrote, fleet step included (cluster, trust)', () => {
    const reviewed = reviewedPlan(controlPlane(false)).get('w-1')!;
    expect(reviewed).toMatchObject({ status: 'change', cluster: 'prod', trust: { kubelet: {} } });
    expect(planDifference(reviewed, recomputeWorker(controlPlane(false)))).toBeUndefined();
  });

  it('a control plane already changed counts as its plan leaves it: the worker computes the same entry', () => {
    const reviewed = reviewedPlan(controlPlane(false)).get('w-1')!;
    // Read before this run changed it, or after (a resumed window): the same end state.
    expect(planDifference(reviewed, recomputeWorker(controlPlane(true)))).toBeUndefined();
  });

  it('the host key the session saw is the one computed: a plan without one differs', () => {
    const reviewed = { ...reviewedPlan(controlPlane(false)).get('w-1')!, hostKey: null };
    expect(planDifference(reviewed, recomputeWorker(controlPlane(false)))).toEqual({
      field: 'hostKey',
      file: 'null',
      computed: '"SHA256:w"',
    });
  });
});
