import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/plan/change.js';
import { describeDifference, planDifference } from '../../../src/plan/compare.js';
import type { NodePlan } from '../../../src/plan/types.js';

const BEFORE = 'kind: KubeletConfiguration\n';
const AFTER = `${BEFORE}authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n`;

/** A computed entry: a worker whose kubelet gets a client CA, in cluster c1. */
const computed = (): NodePlan => ({
  node: 'w1',
  host: '10.0.0.2',
  port: 22,
  hostKey: 'SHA256:abc',
  role: 'worker',
  layout: 'kubeadm',
  status: 'change',
  changes: [
    {
      control: 'kubelet-client-ca',
      path: '/var/lib/kubelet/config.yaml',
      action: 'modify',
      before: { sha256: sha256(BEFORE) },
      after: { sha256: sha256(AFTER), content: AFTER },
      diff: '--- a\n+++ b\n+authentication:\n',
      restart: 'kubelet',
      durable: true,
      notes: [],
    },
  ],
  blocked: [],
  issue: [
    {
      control: 'apiserver-kubelet-client-cert',
      certificate: '/etc/kubernetes/pki/apiserver-kubelet-client.crt',
      key: '/etc/kubernetes/pki/apiserver-kubelet-client.key',
      caCertificate: '/etc/kubernetes/pki/ca.crt',
      caKey: '/etc/kubernetes/pki/ca.key',
      subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
      days: 365,
    },
  ],
  playbook: 'kubeadm',
  cluster: 'c1',
  trust: { kubelet: { port: 10250, clientCA: 'planned' } },
});

/** The same entry as a plan file holds it, edited by `edit`. */
const edited = (edit: (p: NodePlan) => void): NodePlan => {
  const p = JSON.parse(JSON.stringify(computed())) as NodePlan;
  edit(p);
  return p;
};
const change = (p: NodePlan) => p.changes[0]!;

describe('a plan entry against the entry computed from the node', () => {
  it('the same entry: no difference (warnings are not compared)', () => {
    expect(
      planDifference(
        edited(() => undefined),
        computed(),
      ),
    ).toBeUndefined();
    expect(
      planDifference(
        edited((p) => (p.warnings = ['seen then'])),
        computed(),
      ),
    ).toBeUndefined();
  });

  it.each<[string, (p: NodePlan) => void, string, string]>([
    ['status', (p) => (p.status = 'compliant'), '"compliant"', '"change"'],
    ['role', (p) => (p.role = 'control-plane'), '"control-plane"', '"worker"'],
    ['layout', (p) => (p.layout = 'generic'), '"generic"', '"kubeadm"'],
    ['playbook', (p) => (p.playbook = 'generic'), '"generic"', '"kubeadm"'],
    ['cluster', (p) => delete p.cluster, '(absent)', '"c1"'],
    [
      'blocked',
      (p) => (p.blocked = [{ control: 'kubelet-client-ca', reason: 'r', fix: 'f' }]),
      '[{"control":"kubelet-client-ca","reason":"r","fix":"f"}]',
      '[]',
    ],
    [
      'changes[0].before.sha256',
      (p) => (change(p).before = { sha256: 'f'.repeat(64) }),
      `"${'f'.repeat(64)}"`,
      `"${sha256(BEFORE)}"`,
    ],
    [
      'changes (paths)',
      (p) => (change(p).path = '/etc/kubernetes/kubelet.conf'),
      '["/etc/kubernetes/kubelet.conf"]',
      '["/var/lib/kubelet/config.yaml"]',
    ],
    [
      'changes[0].control',
      (p) => (change(p).control = 'apiserver-kubelet-client-cert'),
      '"apiserver-kubelet-client-cert"',
      '"kubelet-client-ca"',
    ],
    ['changes[0].action', (p) => (change(p).action = 'create'), '"create"', '"modify"'],
    ['changes[0].before', (p) => (change(p).before = null), 'null', `{"sha256":"${sha256(BEFORE)}"}`],
    [
      'changes[0].restart',
      (p) => (change(p).restart = 'kubelet+daemon-reload'),
      '"kubelet+daemon-reload"',
      '"kubelet"',
    ],
    ['changes[0].durable', (p) => (change(p).durable = false), 'false', 'true'],
    ['changes[0].notes', (p) => (change(p).notes = ['fine']), '["fine"]', '[]'],
    ['trust', (p) => delete p.trust, '(absent)', '{"kubelet":{"port":10250,"clientCA":"planned"}}'],
    [
      'trust.kubelet.port',
      (p) => (p.trust = { kubelet: { port: 10255, clientCA: 'planned' } }),
      '10255',
      '10250',
    ],
    ['hostKey', (p) => (p.hostKey = null), 'null', '"SHA256:abc"'],
  ])('%s: named, with the file’s value and the computed one', (field, edit, file, comp) => {
    expect(planDifference(edited(edit), computed())).toEqual({ field, file, computed: comp });
  });

  it.each<[string, (p: NodePlan) => void, string, string]>([
    [
      'issue[0].subject',
      (p) => (p.issue![0]!.subject = '/O=system:masters/CN=kube-apiserver-kubelet-client'),
      '"/O=system:masters/CN=kube-apiserver-kubelet-client"',
      '"/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client"',
    ],
    ['issue[0].days', (p) => (p.issue![0]!.days = 3650), '3650', '365'],
  ])('%s: named, with the file’s value and the computed one', (field, edit, file, comp) => {
    expect(planDifference(edited(edit), computed())).toEqual({ field, file, computed: comp });
  });

  it('issue removed: the whole recipe kubemend computes is shown', () => {
    const d = planDifference(
      edited((p) => delete p.issue),
      computed(),
    );
    expect(d).toMatchObject({ field: 'issue', file: '[]' });
    expect(d!.computed).toContain('"control":"apiserver-kubelet-client-cert"');
  });

  it('after.content: an extra setting with a consistent sha256 is named by its line', () => {
    const more = `${AFTER}readOnlyPort: 10255\n`;
    const d = planDifference(
      edited((p) => (change(p).after = { content: more, sha256: sha256(more) })),
      computed(),
    );
    expect(d).toEqual({
      field: 'changes[0].after.content line 5',
      file: '"readOnlyPort: 10255"',
      computed: '""',
    });
  });

  it('diff: what the reviewer read must be what kubemend computes', () => {
    const d = planDifference(
      edited((p) => (change(p).diff = '--- a\n+++ b\n+nothing to see\n')),
      computed(),
    );
    expect(d).toEqual({
      field: 'changes[0].diff line 3',
      file: '"+nothing to see"',
      computed: '"+authentication:"',
    });
  });

  it('a long value is shown cut short', () => {
    const d = planDifference(
      edited((p) => (p.blocked = [{ control: 'kubelet-client-ca', reason: 'x'.repeat(500), fix: 'f' }])),
      computed(),
    );
    expect(d!.file.length).toBeLessThanOrEqual(120);
    expect(d!.file.endsWith('…')).toBe(true);
  });

  it('the refusal names the field and both values, and what it means', () => {
    const d = planDifference(
      edited((p) => (p.layout = 'generic')),
      computed(),
    )!;
    expect(describeDifference(d, 'file')).toBe(
      'the plan file says layout = "generic"; kubemend computes "kubeadm" from the node: the file was edited or made by another kubemend version',
    );
    expect(describeDifference(d, 'fresh')).toContain('the node changed since it was planned');
  });
});
