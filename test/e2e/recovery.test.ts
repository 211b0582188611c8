// The change engine on real nodes: a kubelet config whose path is shell code, and a kubemend run
// killed during its health gate that the next run recovers first.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { labShell, shq, waitUntil } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-recovery`;

const ODD_DIR = '/etc/kubernetes/odd dir';
const ODD_CONFIG = `${ODD_DIR}/it's $(touch PWNED1) \`touch PWNED2\`; touch PWNED3 *.yaml`;
const DROP_IN = '/etc/systemd/system/kubelet.service.d/95-odd-config.conf';

describe.skipIf(!canRun)('the change engine on the lab: hostile paths, recovery first', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  const journal = () => join(dir, 'journal.jsonl');
  const run = (args: string[], onSpawn?: (c: ChildProcess) => void): Promise<CliResult> =>
    kubemend([...args, '-i', lab.inventoryPath, '--journal', journal()], {
      home,
      ...(onSpawn ? { onSpawn } : {}),
    });
  const shell = () => labShell(lab);
  const ssh = (node: string, command: string) => shell().ssh(node, command);
  const sha = (node: string, path: string) => shell().sha(node, path);
  const healthy = (node: string) =>
    waitUntil(
      `${node} kubelet healthz`,
      async () => (await lab.ssh(node, 'curl -sf http://127.0.0.1:10248/healthz')).stdout === 'ok',
      60_000,
    );
  const canaries = async (node: string) =>
    // A canary is only ever a file named exactly PWNEDn, made where some shell ran it.
    (await ssh(node, "find / -xdev -name 'PWNED[0-9]' 2>/dev/null; true")).trim() +
    ['PWNED1', 'PWNED2', 'PWNED3'].filter((p) => existsSync(p)).join(' ');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-recovery-'));
    home = join(dir, 'home');
    lab = await upLab({
      name: LAB,
      nodes: ['kubeadm-worker-bad', 'eks-al2-bad'],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a kubelet config whose path is shell code audits, plans, applies, lists and rolls back; nothing runs', async () => {
    const node = 'kubeadm-worker-bad';
    // Move the kubelet's config to the hostile path; ${VAR} keeps it one argument (systemd).
    const dropIn = [
      '[Service]',
      `Environment="KM_ODD_CONFIG=--config=${ODD_CONFIG}"`,
      'ExecStart=',
      'ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS ${KM_ODD_CONFIG} $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS',
      '',
    ].join('\n');
    await ssh(
      node,
      `mkdir -p ${shq(ODD_DIR)} /etc/systemd/system/kubelet.service.d && cp /var/lib/kubelet/config.yaml ${shq(ODD_CONFIG)} && printf %s ${shq(dropIn)} > ${DROP_IN} && systemctl daemon-reload && systemctl restart kubelet`,
    );
    await healthy(node);
    expect(
      await ssh(node, 'tr "\\0" "\\n" < /proc/$(systemctl show -p MainPID --value kubelet)/cmdline'),
    ).toContain(`--config=${ODD_CONFIG}\n`);
    const original = await sha(node, ODD_CONFIG);

    const audit = await run(['audit', '-l', node, '-o', 'json']);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toContain(JSON.stringify(ODD_CONFIG));

    const planFile = join(dir, 'odd.plan.json');
    expect((await run(['plan', '-l', node, '--out', planFile])).code).toBe(1);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { nodes: { changes: { path: string }[] }[] };
    expect(plan.nodes[0]?.changes.map((c) => c.path)).toEqual([ODD_CONFIG]);

    const applied = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
    expect(applied.stderr).not.toMatch(/internal error/);
    expect(applied.code).toBe(0);
    expect((JSON.parse(applied.stdout) as ApplyReport).outcomes).toMatchObject([
      { node, status: 'applied', changed: [ODD_CONFIG] },
    ]);
    expect(await ssh(node, `cat ${shq(ODD_CONFIG)}`)).toMatch(/clientCAFile: \/etc\/kubernetes\/pki\/ca.crt/);
    expect((await run(['audit', '-l', node])).code).toBe(0);

    const backups = await run(['backups', '--node', node, '-o', 'json']);
    const listed = JSON.parse(backups.stdout) as {
      backups: { id: string; files: { path: string; sha256: string }[] }[];
    };
    expect(listed.backups.at(-1)?.files).toEqual([
      { path: ODD_CONFIG, sha256: original, action: 'modified' },
    ]);

    const back = await run(['rollback', '--node', node, '--yes']);
    expect(back.stderr).not.toMatch(/error|failed/);
    expect(back.code).toBe(0);
    expect(await sha(node, ODD_CONFIG)).toBe(original);
    await healthy(node);
    // Nothing but kubemend's own files was written: no canary on the node or here, no stray file.
    expect(await canaries(node)).toBe('');
    expect((await ssh(node, `ls -A ${shq(ODD_DIR)}`)).trim()).toBe(ODD_CONFIG.slice(ODD_DIR.length + 1));

    await ssh(
      node,
      `rm -f ${DROP_IN} && rm -rf ${shq(ODD_DIR)} && systemctl daemon-reload && systemctl restart kubelet`,
    );
    await healthy(node);
  });

  it('kubemend killed during the health gate: audit reports it; the next apply recovers first, then fixes the node', async () => {
    const node = 'eks-al2-bad';
    const config = '/etc/kubernetes/kubelet/kubelet-config.json';
    const original = await sha(node, config);
    let progress = '';
    let child: ChildProcess | undefined;
    const dying = run(['apply', '-l', node, '--yes'], (c) => {
      child = c;
      c.stderr?.on('data', (d: Buffer) => (progress += d.toString()));
    });
    await waitUntil('the health gate', async () => / health: kubelet/.test(progress), 90_000, 20);
    child!.kill('SIGKILL');
    await dying;
    const inflight = await ssh(node, 'cat /var/lib/kubemend/inflight.json');
    const dead = (JSON.parse(inflight) as { runId: string }).runId;

    const audit = await run(['audit', '-l', node, '-o', 'json']);
    const warnings = (JSON.parse(audit.stdout) as { results: { warnings: string[] }[] }).results.flatMap(
      (r) => r.warnings,
    );
    expect(warnings.join('\n')).toContain(`a kubemend run (${dead}) died on ${node}`);

    // The SSH connection died with kubemend, so the lock is free at once (or within 20 s).
    const next = await waitUntil(
      'a run that gets the lock',
      async () => {
        const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
        return /locked by another kubemend run/.test(r.stdout + r.stderr) ? undefined : r;
      },
      60_000,
      2000,
    );
    expect(next.stderr).not.toMatch(/internal error/);
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as ApplyReport).outcomes).toMatchObject([
      { node, status: 'applied', recovered: dead },
    ]);
    const lines = readFileSync(journal(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; node?: string; deadRun?: string });
    const events = lines.filter((l) => l.node === node && l.deadRun === dead).map((l) => l.event);
    expect(events).toEqual(['recover-dead-run', 'recovered-dead-run']);
    expect(await ssh(node, 'test -e /var/lib/kubemend/inflight.json && echo left || echo none')).toBe(
      'none\n',
    );
    // The dead run's own journal on the node tells the same story.
    expect(await ssh(node, `cat /var/lib/kubemend/backups/${dead}/journal.jsonl`)).toContain(
      '"recovered-dead-run"',
    );
    expect((await run(['audit', '-l', node])).code).toBe(0);
    expect(await sha(node, config)).not.toBe(original);
  });
});
