import { describe, expect, it } from 'vitest';
import type { AuditResult } from '../../../src/controls/types.js';
import type { PlanFile } from '../../../src/plan/types.js';
import { renderAuditMarkdown } from '../../../src/report/markdown.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { summarize } from '../../../src/report/audit-report.js';

const failure: AuditResult = {
  node: 'cp-1',
  control: 'apiserver-kubelet-client-cert',
  benchmarks: ['CIS Kubernetes 1.2.5'],
  status: 'fail',
  reason: '--kubelet-client-key is not set',
  evidence: [
    {
      source: '/proc/812/cmdline',
      key: '--kubelet-client-certificate',
      value: '/etc/kubernetes/pki/apiserver-kubelet-client.crt',
    },
  ],
  warnings: [],
};

const plan: PlanFile = {
  version: 1,
  tool: 'kubemend 0.1.0',
  createdAt: '2026-11-22T03:00:00Z',
  nodes: [
    {
      node: 'cp-1',
      host: '10.0.0.10',
      port: 22,
      hostKey: 'SHA256:x',
      role: 'control-plane',
      layout: 'kubeadm',
      status: 'change',
      changes: [
        {
          control: 'apiserver-kubelet-client-cert',
          path: '/etc/kubernetes/manifests/kube-apiserver.yaml',
          action: 'modify',
          before: { sha256: 'a'.repeat(64) },
          after: { sha256: 'b'.repeat(64), content: 'x' },
          diff: '--- a/cp-1/etc/kubernetes/manifests/kube-apiserver.yaml\n+++ b/cp-1/etc/kubernetes/manifests/kube-apiserver.yaml\n',
          restart: 'static-pod:kube-apiserver',
          durable: true,
          notes: [],
        },
      ],
      blocked: [],
    },
    {
      node: 'w-1',
      host: '10.0.0.21',
      port: 2222,
      hostKey: 'SHA256:y',
      role: 'worker',
      layout: 'kubeadm',
      status: 'blocked',
      changes: [],
      blocked: [
        { control: 'kubelet-client-ca', reason: 'the CA file is missing', fix: 'copy the cluster CA' },
      ],
    },
  ],
};

describe('markdown for a change ticket', () => {
  const md = renderPlanMarkdown(plan, {
    file: { path: 'change.plan.json', sha256: 'c'.repeat(64) },
    applyCommand: 'kubemend apply -i inv.yaml --plan change.plan.json --yes',
    results: [failure],
  });

  it('names the plan file and its sha256, and the command that applies it', () => {
    expect(md).toContain(`Plan file: \`change.plan.json\`, sha256 \`${'c'.repeat(64)}\`.`);
    expect(md).toContain('`kubemend apply -i inv.yaml --plan change.plan.json --yes`');
  });

  it("gives each node's address and the restart impact in plain words", () => {
    expect(md).toMatch(/\| cp-1 \| 10\.0\.0\.10:22 \| control-plane \|/);
    expect(md).toMatch(/\| w-1 \| 10\.0\.0\.21:2222 \|/);
    expect(md).toContain(
      'the kube-apiserver on cp-1 restarts: its API is unavailable on that node for about a minute',
    );
    expect(md).toContain('## w-1 (10.0.0.21:2222)');
  });

  it('shows the evidence of each failure, and status words rather than emoji', () => {
    expect(md).toContain(
      '- **FAIL** apiserver-kubelet-client-cert (CIS Kubernetes 1.2.5): --kubelet-client-key is not set',
    );
    expect(md).toContain(
      '  - evidence: `/proc/812/cmdline`: `--kubelet-client-certificate` = `/etc/kubernetes/pki/apiserver-kubelet-client.crt`',
    );
    expect(md).toContain(
      '- **BLOCKED** kubelet-client-ca: the CA file is missing. Way out: copy the cluster CA',
    );
    const audit = renderAuditMarkdown({
      version: 1,
      tool: 'kubemend 0.1.0',
      startedAt: '2026-11-22T03:00:00Z',
      finishedAt: '2026-11-22T03:00:01Z',
      nodes: [{ node: 'cp-1', host: '10.0.0.10', role: 'control-plane', layout: 'kubeadm', reachable: true }],
      results: [failure],
      errors: [],
      summary: summarize([failure]),
    });
    expect(audit).toContain('| apiserver-kubelet-client-cert | **FAIL** |');
    expect(md + audit).not.toMatch(/[\u2705\u274c\u2796\u26a0]/u);
  });

  it('without --out says how to apply a plan file, and names no file', () => {
    const bare = renderPlanMarkdown(plan);
    expect(bare).not.toContain('Plan file:');
    expect(bare).toContain('`kubemend apply --plan <file> --yes`');
  });
});
