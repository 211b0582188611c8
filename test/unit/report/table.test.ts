import { describe, expect, it } from 'vitest';
import type { AuditResult } from '../../../src/controls/types.js';
import { summarize, type AuditReport } from '../../../src/report/audit-report.js';
import { makeColors } from '../../../src/report/colors.js';
import { renderAuditTable } from '../../../src/report/table.js';
import { wrapWords } from '../../../src/report/wrap.js';

const LONG =
  'the kubelet client CA bundle /etc/kubernetes/pki/ca.crt does not verify the kube-apiserver kubelet client certificate /etc/kubernetes/pki/apiserver-kubelet-client.crt, so kubectl logs and exec on this node would get 401 Unauthorized';

function report(): AuditReport {
  const result = (
    node: string,
    control: AuditResult['control'],
    status: AuditResult['status'],
    reason: string,
  ) => ({
    node,
    control,
    benchmarks: [],
    status,
    reason,
    evidence: [
      { source: '/var/lib/kubelet/config.yaml', key: 'authentication.x509.clientCAFile', value: '' },
    ],
    warnings:
      status === 'pass'
        ? [
            `pair not verified: openssl is missing on ${node}, so the key was not compared with its certificate`,
          ]
        : [],
  });
  const results: AuditResult[] = [
    result('kubeadm-cp-bad', 'apiserver-kubelet-client-cert', 'fail', LONG),
    result(
      'kubeadm-cp-bad',
      'kubelet-client-ca',
      'pass',
      'clientCAFile /etc/kubernetes/pki/ca.crt holds 1 certificate',
    ),
    result('eks-al2023-dropin-ok', 'kubelet-client-ca', 'skip', 'no kubelet on this node'),
  ];
  return {
    version: 1,
    tool: 'kubemend 0.1.0',
    startedAt: '2026-11-22T03:00:00Z',
    finishedAt: '2026-11-22T03:00:01Z',
    nodes: [
      { node: 'kubeadm-cp-bad', host: '10.0.0.1', role: 'control-plane', layout: 'kubeadm', reachable: true },
      {
        node: 'eks-al2023-dropin-ok',
        host: '10.0.0.2',
        role: 'worker',
        layout: 'eks-al2023',
        reachable: true,
      },
    ],
    results,
    errors: [],
    summary: summarize(results),
  };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);
const plain = makeColors(false);

describe('the audit table on a terminal', () => {
  for (const width of [160, 120, 100, 80, 60]) {
    it(`fits ${width} columns without splitting a word of any reason`, () => {
      const out = renderAuditTable(report(), plain, { width, verbose: true });
      for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
      const shown = new Set(words(out));
      for (const w of words(LONG)) expect(shown).toContain(w);
    });
  }

  it('wraps a long reason under its own column when the column is wide enough', () => {
    const lines = renderAuditTable(report(), plain, { width: 120 }).split('\n');
    const row = lines.findIndex((l) => l.startsWith('kubeadm-cp-bad') && l.includes('FAIL'));
    const column = lines[0]!.indexOf('REASON');
    expect(lines[row]!.indexOf('the kubelet')).toBe(column);
    expect(lines[row + 1]!.slice(0, column).trim()).toBe('');
    expect(lines[row + 1]![column]).not.toBe(' ');
  });

  it('puts reasons below the row when their column would be too narrow', () => {
    const lines = renderAuditTable(report(), plain, { width: 60 }).split('\n');
    const row = lines.findIndex((l) => l.startsWith('kubeadm-cp-bad') && l.includes('FAIL'));
    expect(lines[row]!.trimEnd().endsWith('FAIL')).toBe(true);
    expect(lines[row + 1]).toMatch(/^ {4}the kubelet client CA bundle/);
  });

  it('without a width (a pipe or a file) keeps one line per row, as scripts read it', () => {
    const lines = renderAuditTable(report(), plain).split('\n');
    expect(lines.filter((l) => l.includes(LONG))).toHaveLength(1);
    expect(lines.find((l) => l.includes(LONG))).toMatch(
      /^kubeadm-cp-bad\s+apiserver-kubelet-client-cert\s+FAIL\s+the kubelet/,
    );
  });
});

describe('wrapWords', () => {
  it('breaks at spaces only, and a word longer than the line after a slash, never with a space inside', () => {
    expect(wrapWords('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    const path = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
    const lines = wrapWords(`file ${path} missing`, 20);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(20);
    expect(lines.join('\n')).toContain('/etc/kubernetes/pki/\napiserver-kubelet-\nclient.crt');
    expect(lines.join('').replace(/\s/g, '')).toBe(`file${path}missing`);
  });
});
