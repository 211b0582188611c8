import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { shq, waitUntil } from './helpers.js';

// Apply changes nodes, so it gets a lab of its own: the shared lab stays as booted for the audit tests.
const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-apply`;

const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const KUBEADM_CONFIG = '/var/lib/kubelet/config.yaml';

describe.skipIf(!canRun)('kubemend apply, rollback and backups on the lab', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  let inventory: string;

  // Only the commands that change nodes keep a journal.
  const run = (args: string[]): Promise<CliResult> =>
    kubemend(
      [
        ...args,
        '-i',
        inventory,
        ...(['apply', 'rollback'].includes(args[0] ?? '') ? ['--journal', join(dir, 'journal.jsonl')] : []),
      ],
      { home },
    );
  const ssh = async (node: string, command: string) => {
    const r = await lab.ssh(node, command);
    if (r.code !== 0) throw new Error(`${node}: ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const sha = async (node: string, path: string) => (await ssh(node, `sha256sum ${shq(path)}`)).split(' ')[0];
  const kubeletPid = async (node: string) =>
    Number((await ssh(node, 'systemctl show -p MainPID --value kubelet')).trim());
  const apiserverArgs = async (node: string) =>
    (
      await ssh(node, "for p in $(pgrep -x kube-apiserver); do tr '\\0' ' ' < /proc/$p/cmdline; echo; done")
    ).trim();
  const livez = (node: string) =>
    waitUntil(
      `${node} /livez`,
      async () => (await lab.ssh(node, 'curl -sk https://127.0.0.1:6443/livez')).stdout === 'ok',
      90_000,
    );
  /** Runs a command on the node once `path` changes: a fault injected between kubemend's write and its health gate. */
  const onChange = (node: string, path: string, command: string) =>
    ssh(
      node,
      `systemd-run --quiet --unit=km-fault-$$ --collect sh -c ${shq(
        `o=$(sha256sum < ${path}); while [ "$(sha256sum < ${path})" = "$o" ]; do sleep 0.05; done; ${command}`,
      )}`,
    );
  /** An inventory with short health timeouts, so a failing gate is seen in seconds. */
  const writeInventory = () => {
    const base = readFileSync(lab.inventoryPath, 'utf8');
    const params =
      'params: { timeouts: { kubeletHealthySec: 20, kubeletStableSec: 3, apiserverRestartSec: 25 } }';
    writeFileSync(inventory, base.replace(/groups: \[([^\]]*)\] \}/g, `groups: [$1], ${params} }`));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-apply-'));
    home = join(dir, 'home');
    inventory = join(dir, 'inventory.yaml');
    lab = await upLab({ name: LAB, replace: true, log: (l) => console.log(`[lab ${LAB}] ${l}`) });
    writeInventory();
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses without a terminal and without --yes: exit 2, nothing touched', async () => {
    const before = await sha('kubeadm-cp-bad', MANIFEST);
    const r = await run(['apply', '-l', 'kubeadm-cp-bad']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(await sha('kubeadm-cp-bad', MANIFEST)).toBe(before);
  });

  it('refuses a stale plan (exit 4) and leaves the node untouched', async () => {
    const node = 'kubeadm-worker-bad';
    const planFile = join(dir, 'stale.plan.json');
    expect((await run(['plan', '-l', node, '--out', planFile])).code).toBe(1);
    await ssh(node, `echo '# edited after the plan' >> ${KUBEADM_CONFIG}`);
    const edited = await sha(node, KUBEADM_CONFIG);
    const pid = await kubeletPid(node);
    const r = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report.outcomes).toEqual([
      { node, status: 'stale', reason: `${KUBEADM_CONFIG} changed since the plan was made` },
    ]);
    expect(await sha(node, KUBEADM_CONFIG)).toBe(edited);
    expect(await kubeletPid(node)).toBe(pid);
    expect(await ssh(node, 'ls /var/lib/kubemend/backups 2>/dev/null | wc -l')).toBe('0\n');
    await ssh(node, `sed -i '/# edited after the plan/d' ${KUBEADM_CONFIG}`);
  });

  it('a config that is a symbolic link is not written through: blocked, link and target untouched', async () => {
    const node = 'kubeadm-worker-bad';
    const target = '/var/lib/kubelet/managed-config.yaml';
    await ssh(node, `mv ${KUBEADM_CONFIG} ${target} && ln -s ${target} ${KUBEADM_CONFIG}`);
    try {
      const before = await sha(node, target);
      const pid = await kubeletPid(node);
      const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(r.code).toBe(1);
      const [outcome] = (JSON.parse(r.stdout) as ApplyReport).outcomes;
      expect(outcome?.status).toBe('blocked');
      expect(JSON.stringify(outcome)).toContain(`${KUBEADM_CONFIG} is a symbolic link to ${target}`);
      expect(await ssh(node, `test -L ${KUBEADM_CONFIG} && echo link`)).toBe('link\n');
      expect(await sha(node, target)).toBe(before);
      expect(await kubeletPid(node)).toBe(pid);
    } finally {
      await ssh(node, `rm -f ${KUBEADM_CONFIG} && mv ${target} ${KUBEADM_CONFIG}`);
    }
  });

  it('a full disk for backups: nothing written, a clear error', async () => {
    const node = 'kubeadm-worker-bad';
    await ssh(
      node,
      'mkdir -p /var/lib/kubemend/backups && mount -t tmpfs -o size=64k,mode=700 tmpfs /var/lib/kubemend/backups && dd if=/dev/zero of=/var/lib/kubemend/backups/fill bs=4k count=16 2>/dev/null || true',
    );
    try {
      const before = await sha(node, KUBEADM_CONFIG);
      const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(r.code).toBe(1);
      const [outcome] = (JSON.parse(r.stdout) as ApplyReport).outcomes;
      expect(outcome?.status).toBe('blocked');
      expect(JSON.stringify(outcome)).toMatch(/backup failed, nothing was changed: .*KiB free/);
      expect(await sha(node, KUBEADM_CONFIG)).toBe(before);
    } finally {
      await ssh(node, 'umount /var/lib/kubemend/backups');
    }
  });

  it('the kube-apiserver does not come up with the change: rolled back, files identical, healthy again', async () => {
    const node = 'kubeadm-cp-bad';
    const before = { manifest: await sha(node, MANIFEST), config: await sha(node, KUBEADM_CONFIG) };
    const cert = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
    await onChange(node, MANIFEST, `mv ${cert} ${cert}.away`);
    try {
      const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(r.code).toBe(1);
      const [outcome] = (JSON.parse(r.stdout) as ApplyReport).outcomes;
      expect(outcome).toMatchObject({ node, status: 'rolled-back' });
      expect(JSON.stringify(outcome)).toMatch(/no healthy kube-apiserver with --kubelet-client-certificate/);
      expect(await sha(node, MANIFEST)).toBe(before.manifest);
      expect(await sha(node, KUBEADM_CONFIG)).toBe(before.config);
      await livez(node);
      expect(await apiserverArgs(node)).not.toContain('--kubelet-client-certificate');
    } finally {
      await ssh(node, `mv ${cert}.away ${cert}`);
    }
  });

  it('the kubelet does not start with the change: rolled back, kubelet healthy', async () => {
    const node = 'eks-al2-bad';
    const config = '/etc/kubernetes/kubelet/kubelet-config.json';
    const ca = '/etc/kubernetes/pki/ca.crt';
    const before = await sha(node, config);
    await onChange(node, config, `mv ${ca} ${ca}.away`);
    try {
      const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(r.code).toBe(1);
      const [outcome] = (JSON.parse(r.stdout) as ApplyReport).outcomes;
      expect(outcome).toMatchObject({ node, status: 'rolled-back' });
      expect(JSON.stringify(outcome)).toMatch(/kubelet not healthy/);
      expect(await sha(node, config)).toBe(before);
      expect(await ssh(node, 'curl -sf http://127.0.0.1:10248/healthz')).toBe('ok');
    } finally {
      await ssh(node, `mv ${ca}.away ${ca}`);
    }
  });

  it('a second run while the first holds the node is refused', async () => {
    const node = 'kubespray-cp-bad';
    const first = run(['apply', '-l', node, '--yes']);
    await waitUntil(
      'the first run to take the lock',
      async () =>
        (await lab.ssh(node, 'test -d /run/kubemend && ! flock -n /run/kubemend/lock true')).code === 0,
      60_000,
      100,
    );
    const second = await run(['apply', '-l', node, '--yes']);
    expect(second.code).toBe(3);
    expect(second.stdout + second.stderr).toMatch(/locked by another kubemend run/);
    expect((await first).code).toBe(0);
  });

  it('a connection lost after the write: the journal says what state the node is in; the next run rolls back and finishes', async () => {
    const node = 'flags-bad';
    const state = JSON.parse(readFileSync(`/run/kubemend-lab/${LAB}/state.json`, 'utf8')) as {
      nodes: Record<string, { veth: string; nodeDir: string }>;
    };
    const veth = state.nodes[node]!.veth;
    const upper = join(state.nodes[node]!.nodeDir, 'upper');
    const dropIn = '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf';
    const journal = join(dir, 'journal.jsonl');
    const applying = run(['apply', '-l', node, '--yes', '--connect-timeout', '3']);
    // Cut the node's link the moment kubemend's file appears in the node's overlay.
    await waitUntil(
      'the write',
      async () => {
        try {
          readFileSync(join(upper, dropIn));
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      20,
    );
    await new Promise<void>((resolve, reject) =>
      spawn('ip', ['link', 'set', veth, 'down']).on('close', (c) =>
        c === 0 ? resolve() : reject(new Error(`ip link exit ${c}`)),
      ),
    );
    try {
      const r = await applying;
      expect(r.code).toBe(3);
      const lost = readFileSync(journal, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"connection-lost"'));
      expect(lost.at(-1)).toMatch(/the node may hold the new files, not yet verified/);
    } finally {
      await new Promise<void>((resolve) =>
        spawn('ip', ['link', 'set', veth, 'up']).on('close', () => resolve()),
      );
    }
    // The lock holder on the node gives up 20 s after the last heartbeat.
    await waitUntil(
      "the dead run's lock to expire",
      async () => (await lab.ssh(node, 'flock -n /run/kubemend/lock true')).code === 0,
      60_000,
      1000,
    );
    const next = await run(['apply', '-l', node, '--yes']);
    expect(next.code).toBe(0);
    expect(readFileSync(journal, 'utf8')).toContain('"recovered-dead-run"');
    expect((await run(['audit', '-l', node])).code).toBe(0);
  });

  it('--issue-certs signs a missing kubelet client pair on the node with the cluster CA', async () => {
    const node = 'kubeadm-cp-ok';
    const crt = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
    const key = '/etc/kubernetes/pki/apiserver-kubelet-client.key';
    await ssh(node, `rm -f ${crt} ${key}`);
    expect((await run(['audit', '-l', node])).stdout).toMatch(
      /certificate .*apiserver-kubelet-client\.crt does not exist/,
    );
    const blocked = await run(['plan', '-l', node, '-o', 'json']);
    expect(blocked.stdout).toContain('--issue-certs');
    const planFile = join(dir, 'issue.plan.json');
    expect((await run(['plan', '-l', node, '--issue-certs', '--out', planFile])).code).toBe(1);
    const r = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
    expect((JSON.parse(r.stdout) as ApplyReport).outcomes).toMatchObject([{ node, status: 'applied' }]);
    expect(r.code).toBe(0);
    expect(
      await ssh(node, `stat -c %a ${key}; openssl verify -CAfile /etc/kubernetes/pki/ca.crt ${crt}`),
    ).toBe(`600\n${crt}: OK\n`);
    expect(await ssh(node, `openssl x509 -noout -subject -ext extendedKeyUsage -in ${crt}`)).toMatch(
      /CN = kube-apiserver-kubelet-client[\s\S]*TLS Web Client Authentication/,
    );
    expect((await run(['audit', '-l', node])).code).toBe(0);
  });

  it('applies every layout: re-audit passes, backups outside the manifests, restarts seen; a second apply changes nothing', async () => {
    const bad = lab.nodes.filter((n) => n.variant === 'bad').map((n) => n.name);
    const pids = new Map(await Promise.all(bad.map(async (n) => [n, await kubeletPid(n)] as const)));
    const r = await run(['apply', '--yes', '--keep-going', '--serial', '4', '-o', 'json']);
    const report = JSON.parse(r.stdout) as ApplyReport;
    for (const o of report.outcomes) {
      const node = lab.node(o.node);
      // kubespray-cp-bad and flags-bad were fixed by the lock and connection-loss tests above.
      if (node.variant === 'bad' && !['flags-bad', 'kubespray-cp-bad'].includes(o.node))
        expect(o, o.node).toMatchObject({ status: 'applied' });
      else expect(o.status, o.node).toBe('compliant');
    }
    expect(r.code).toBe(0);
    const audit = await run(['audit', '-o', 'json']);
    expect(audit.code).toBe(0);
    for (const n of bad) {
      if (n === 'flags-bad' || n === 'kubespray-cp-bad') continue;
      const changedKubelet = (await ssh(n, 'cat /var/lib/kubemend/backups/*/metadata.json')).includes(
        '"restart": "kubelet',
      );
      if (changedKubelet) expect(await kubeletPid(n), n).not.toBe(pids.get(n));
      expect(await ssh(n, 'ls -A /etc/kubernetes/manifests 2>/dev/null || true')).not.toMatch(
        /kubemend|\.bak|backup/,
      );
    }
    for (const cp of ['kubeadm-cp-bad', 'kubespray-cp-bad'])
      expect(await apiserverArgs(cp)).toMatch(/--kubelet-client-certificate=\S+ .*--kubelet-client-key=/);

    const sums = new Map(
      await Promise.all(
        bad.map(
          async (n) =>
            [
              n,
              await ssh(
                n,
                'sha256sum /etc/kubernetes/manifests/* /var/lib/kubelet/config.yaml /etc/kubernetes/kubelet/* 2>/dev/null; true',
              ),
            ] as const,
        ),
      ),
    );
    const after = new Map(await Promise.all(bad.map(async (n) => [n, await kubeletPid(n)] as const)));
    const again = await run(['apply', '--yes', '-o', 'json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as ApplyReport).outcomes.every((o) => o.status === 'compliant')).toBe(
      true,
    );
    for (const n of bad) {
      expect(await kubeletPid(n), n).toBe(after.get(n));
      expect(
        await ssh(
          n,
          'sha256sum /etc/kubernetes/manifests/* /var/lib/kubelet/config.yaml /etc/kubernetes/kubelet/* 2>/dev/null; true',
        ),
      ).toBe(sums.get(n));
    }
  });

  it('backups lists the run; rollback restores the node to it and it is healthy', async () => {
    const node = 'kubeadm-cp-bad';
    const list = await run(['backups', '--node', node, '-o', 'json']);
    const backups = (
      JSON.parse(list.stdout) as {
        node: string;
        backups: { id: string; files: { path: string; action: string }[] }[];
      }
    ).backups;
    const last = backups.at(-1)!;
    expect(last.files.map((f) => f.path).sort()).toEqual([MANIFEST, KUBEADM_CONFIG].sort());
    // Copies are named by their place in the backup's file list (N.orig), never after the path.
    const index = last.files.findIndex((f) => f.path === MANIFEST);
    const original = await ssh(node, `cat /var/lib/kubemend/backups/${last.id}/${index}.orig`);
    const r = await run(['rollback', '--node', node, '--backup', last.id, '--yes']);
    expect(r.code).toBe(0);
    expect(await ssh(node, `cat ${MANIFEST}`)).toBe(original);
    await livez(node);
    expect(await ssh(node, 'curl -sf http://127.0.0.1:10248/healthz')).toBe('ok');
    const audit = await run(['audit', '-l', node, '-o', 'json']);
    expect(audit.code).toBe(1);
  });

  /** `apply --yes -o json` on these nodes, sent this signal once the first of them is being written. */
  const interruptedApply = async (nodes: string[], journal: string, signal: NodeJS.Signals) => {
    let child: ChildProcess | undefined;
    let progress = '';
    const applying = kubemend(
      [
        'apply',
        '-l',
        nodes.join(','),
        '--yes',
        '-o',
        'json',
        '-i',
        inventory,
        '--journal',
        join(dir, journal),
      ],
      {
        home,
        onSpawn: (c) => {
          child = c;
          c.stderr?.on('data', (d: Buffer) => (progress += d.toString()));
        },
      },
    );
    const writing = new RegExp(` (${nodes.join('|')}): write`);
    await waitUntil('the first node to be written', async () => writing.test(progress), 60_000, 20);
    child!.kill(signal);
    return applying;
  };

  it('Ctrl-C: the node in flight finishes, no other node starts', async () => {
    // Make two workers non-compliant again from their backups, then interrupt a rollout of both.
    const nodes = ['kubeadm-worker-bad', 'eks-al2-bad'];
    for (const n of nodes) expect((await run(['rollback', '--node', n, '--yes'])).code).toBe(0);
    const backups = async (n: string) => ssh(n, 'ls /var/lib/kubemend/backups | wc -l');
    const before = new Map(await Promise.all(nodes.map(async (n) => [n, await backups(n)] as const)));
    // Interrupt while the first node is being written and restarted.
    const r = await interruptedApply(nodes, 'journal.jsonl', 'SIGINT');
    expect(r.code).toBe(130); // cancelled by the user (DESIGN.md), after the node in flight finished
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report.outcomes.map((o) => o.status).sort()).toEqual(['applied', 'skipped']);
    expect(report.stoppedEarly).toMatch(/interrupted/);
    const skipped = report.outcomes.find((o) => o.status === 'skipped')!.node;
    expect(await backups(skipped)).toBe(before.get(skipped));
  });

  it('SIGTERM on the last node in flight: it is finished, not abandoned, and the run still exits 130 and says so', async () => {
    const node = 'kubeadm-worker-bad';
    const noSuch = await run(['rollback', '--node', node, '--backup', 'nope', '--yes']);
    expect(noSuch.code).toBe(1); // the node was read: not exit 2 (DESIGN.md)
    expect(noSuch.stderr).toContain(`node ${node} has no backup nope: nothing was changed`);
    expect((await run(['rollback', '--node', node, '--yes'])).code).toBe(0);
    const r = await interruptedApply([node], 'journal-term.jsonl', 'SIGTERM');
    expect(r.stderr).toContain('SIGTERM received: finishing the node in flight');
    expect(r.code).toBe(130);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report.outcomes).toMatchObject([{ node, status: 'applied' }]);
    expect(report.stoppedEarly).toMatch(/interrupted while the last node was in flight/);
    expect(
      (await ssh(node, 'test -e /var/lib/kubemend/inflight.json && echo left || echo none')).trim(),
    ).toBe('none');
  });
});
