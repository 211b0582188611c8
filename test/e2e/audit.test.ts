import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PlanFile } from '../../src/plan/types.js';
import type { AuditReport } from '../../src/report/audit-report.js';
import { attachLab } from '../lab/lab.js';
import { kubemend } from './cli.js';

const info = inject('lab');

/** Paths and sizes of everything a node has written since boot, except logs sshd and journald keep. */
function upperSnapshot(upperDir: string): string {
  return execFileSync(
    'find',
    [upperDir, '-path', `${upperDir}/var/log`, '-prune', '-o', '-printf', '%P %s %T@\n'],
    {
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter((l) => l && !/^(var\/log|var\/lib\/systemd|var\/lib\/lastlog)/.test(l))
    .sort()
    .join('\n');
}

describe.skipIf(!info)('kubemend audit on the lab', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-audit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every layout in both variants as expected, with the detected layout and role, and writes nothing', async () => {
    const lab = info!;
    const before = new Map(lab.nodes.map((n) => [n.name, upperSnapshot(n.upperDir)]));
    const r = await kubemend(['audit', '-i', lab.inventoryPath, '-o', 'json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.errors).toEqual([]);
    for (const node of lab.nodes) {
      for (const control of ['apiserver-kubelet-client-cert', 'kubelet-client-ca'] as const) {
        const result = report.results.find((x) => x.node === node.name && x.control === control);
        expect({ node: node.name, control, status: result?.status, reason: result?.reason }).toMatchObject({
          status: node.expected[control],
        });
      }
      const summary = report.nodes.find((n) => n.node === node.name);
      expect(summary?.reachable).toBe(true);
      expect(summary?.role).toBe(node.role === 'none' ? null : node.role);
    }
    const expectFail = lab.nodes.some((n) => Object.values(n.expected).includes('fail'));
    expect(r.code).toBe(expectFail ? 1 : 0);
    for (const n of lab.nodes)
      expect(upperSnapshot(n.upperDir), `${n.name} was written to`).toBe(before.get(n.name));
  });

  it('names the layouts it detects', async () => {
    const lab = info!;
    const r = await kubemend(['audit', '-i', lab.inventoryPath, '-o', 'json']);
    const report = JSON.parse(r.stdout) as AuditReport;
    const layoutOf = (name: string) => report.nodes.find((n) => n.node === name)?.layout;
    for (const n of lab.nodes) {
      const expected = n.family === 'plain' ? null : n.family === 'flags' ? 'kubeadm' : n.family;
      if (n.family !== 'flags') expect(layoutOf(n.name), n.name).toBe(expected);
    }
  });

  it('an unreachable node gets error results; the others are still audited; exit 3', async () => {
    const lab = info!;
    const inv = join(dir, 'unreachable.yaml');
    const first = lab.nodes[0]!;
    const prefix = first.host.split('.').slice(0, 3).join('.');
    writeFileSync(
      inv,
      `defaults: { user: root, identityFile: ${lab.keyPath}, knownHostsFile: ${lab.knownHostsPath} }\nnodes:\n  ${first.name}: { host: ${first.host} }\n  ghost: { host: ${prefix}.250 }\n`,
    );
    const r = await kubemend(['audit', '-i', inv, '-o', 'json', '--connect-timeout', '2']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.errors.map((e) => e.node)).toEqual(['ghost']);
    expect(report.results.filter((x) => x.node === 'ghost').map((x) => x.status)).toEqual(['error', 'error']);
    expect(report.results.filter((x) => x.node === first.name).every((x) => x.status !== 'error')).toBe(true);
    expect(report.nodes.find((n) => n.node === 'ghost')).toMatchObject({
      reachable: false,
      role: null,
      layout: null,
    });
  });

  it('a changed host key is an error that says so; exit 3', async () => {
    const lab = info!;
    const node = lab.nodes[0]!;
    const other = lab.nodes[1]!;
    const lines = readFileSync(lab.knownHostsPath, 'utf8').split('\n').filter(Boolean);
    const otherKey = lines
      .find((l) => l.startsWith(`${other.host} `))!
      .split(' ')
      .slice(1)
      .join(' ');
    const kh = join(dir, 'changed_known_hosts');
    writeFileSync(kh, `${node.host} ${otherKey}\n`);
    const inv = join(dir, 'changed.yaml');
    writeFileSync(
      inv,
      `defaults: { user: root, identityFile: ${lab.keyPath}, knownHostsFile: ${kh} }\nnodes:\n  ${node.name}: { host: ${node.host} }\n`,
    );
    const r = await kubemend(['audit', '-i', inv]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/HOST IDENTIFICATION HAS CHANGED|host key.*changed/i);
  });

  it('an unknown host key is refused, and accepted and recorded with --accept-new-host-keys', async () => {
    const lab = info!;
    const node = lab.nodes[0]!;
    const kh = join(dir, 'empty_known_hosts');
    writeFileSync(kh, '');
    const inv = join(dir, 'unknown.yaml');
    writeFileSync(
      inv,
      `defaults: { user: root, identityFile: ${lab.keyPath}, knownHostsFile: ${kh} }\nnodes:\n  ${node.name}: { host: ${node.host} }\n`,
    );
    const refused = await kubemend(['audit', '-i', inv]);
    expect(refused.code).toBe(3);
    // The way out is on the error line, which names the node and goes to stderr.
    expect(refused.stderr).toMatch(new RegExp(`^error: ${node.name}: host key of .* is not known`, 'm'));
    expect(refused.stderr).toContain('--accept-new-host-keys');
    const accepted = await kubemend(['audit', '-i', inv, '--accept-new-host-keys']);
    expect(accepted.code).not.toBe(3);
    expect(readFileSync(kh, 'utf8')).toContain(node.host);
    const again = await kubemend(['audit', '-i', inv]);
    expect(again.code).toBe(accepted.code);
  });

  it('the admin user with become: sudo sees the same results as root; a user whose sudo needs a password gets a clear error', async () => {
    const lab = info!;
    const node = lab.nodes.find((n) => n.role === 'control-plane') ?? lab.nodes[0]!;
    const inv = join(dir, 'sudo.yaml');
    writeFileSync(
      inv,
      `defaults: { identityFile: ${lab.keyPath}, knownHostsFile: ${lab.knownHostsPath}, become: sudo }\nnodes:\n  as-admin: { host: ${node.host}, user: admin }\n  as-nopw: { host: ${node.host}, user: nopw }\n`,
    );
    const r = await kubemend(['audit', '-i', inv, '-o', 'json']);
    const report = JSON.parse(r.stdout) as AuditReport;
    for (const control of ['apiserver-kubelet-client-cert', 'kubelet-client-ca'] as const)
      expect(report.results.find((x) => x.node === 'as-admin' && x.control === control)?.status).toBe(
        node.expected[control],
      );
    expect(report.errors.find((e) => e.node === 'as-nopw')?.error).toMatch(/password.*sudo|sudo.*password/);
    expect(r.code).toBe(3);
  });

  it('reaches a node through another lab node with proxyJump', async () => {
    const lab = info!;
    const [bastion, target] = [lab.nodes[0]!, lab.nodes.at(-1)!];
    const inv = join(dir, 'jump.yaml');
    writeFileSync(
      inv,
      `defaults: { user: root, identityFile: ${lab.keyPath}, knownHostsFile: ${lab.knownHostsPath} }\nnodes:\n  behind: { host: ${target.host}, proxyJump: root@${bastion.host} }\n`,
    );
    const r = await kubemend(['audit', '-i', inv, '-o', 'json']);
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.errors).toEqual([]);
    expect(report.results.find((x) => x.control === 'kubelet-client-ca')?.status).toBe(
      target.expected['kubelet-client-ca'],
    );
  });

  it('junit and markdown outputs carry one entry per node and control', async () => {
    const lab = info!;
    const junit = await kubemend(['audit', '-i', lab.inventoryPath, '-o', 'junit']);
    expect(junit.stdout.match(/<testcase /g)?.length).toBe(lab.nodes.length * 2);
    const md = await kubemend(['audit', '-i', lab.inventoryPath, '-o', 'markdown', '-l', lab.nodes[0]!.name]);
    expect(md.stdout).toContain(`| ${lab.nodes[0]!.name} |`);
  });
});

describe.skipIf(!info)('kubemend plan on the lab', () => {
  it('plans a change for every failing node and nothing for compliant ones, and writes nothing, restarts nothing', async () => {
    const lab = info!;
    const dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-plan-'));
    try {
      const before = new Map(lab.nodes.map((n) => [n.name, upperSnapshot(n.upperDir)]));
      // The kubelets of this lab's nodes, each seen inside its node (another lab may run beside it).
      const kubelets = async () =>
        Object.fromEntries(
          await Promise.all(
            lab.nodes.map(
              async (n) =>
                [n.name, (await attachLab(lab).ssh(n.name, 'pgrep -x kubelet | sort')).stdout] as const,
            ),
          ),
        );
      const pids = await kubelets();
      const out = join(dir, 'plan.json');
      const patch = join(dir, 'plan.patch');
      const r = await kubemend([
        'plan',
        '-i',
        lab.inventoryPath,
        '--out',
        out,
        '--diff',
        patch,
        '-o',
        'markdown',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('# kubemend change plan');
      const plan = JSON.parse(readFileSync(out, 'utf8')) as PlanFile;
      for (const n of lab.nodes) {
        const p = plan.nodes.find((x) => x.node === n.name);
        const failing = Object.values(n.expected).includes('fail');
        expect({ node: n.name, status: p?.status, blocked: p?.blocked }).toMatchObject({
          status: failing ? 'change' : 'compliant',
          blocked: [],
        });
        for (const c of p?.changes ?? [])
          expect(readFileSync(patch, 'utf8')).toContain(`+++ b/${n.name}${c.path}`);
      }
      for (const n of lab.nodes)
        expect(upperSnapshot(n.upperDir), `${n.name} was written to`).toBe(before.get(n.name));
      expect(await kubelets()).toEqual(pids);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
