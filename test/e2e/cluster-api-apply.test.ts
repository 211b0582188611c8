// The trust gate through the API server (issue 22), on a managed control plane: the kube-apiserver
// simulator runs on the host (nobody can SSH to it), the inventory is the cluster's node list.
// A kubelet fix is proven through the API server's node proxy; a client CA that does not verify
// the API server's kubelet client certificate gets 401 through the proxy and is rolled back.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { controlPlaneApi, startClusterApi, type ClusterApi } from '../lab/cluster-api.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { makePki } from '../unit/support/certs.js';
import { kubemend } from './cli.js';
import { labShell, shq } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-kapi`;
const W = 'kubeadm-worker-bad';
const W2 = 'kubeadm-worker-bad-x2';
const CP = 'kubeadm-cp-bad';
const CONFIG = '/var/lib/kubelet/config.yaml';
const OTHER_CA = '/etc/kubernetes/pki/other-cluster-ca.crt';

describe.skipIf(!canRun)('apply with --kubeconfig: the trust gate through the API server', () => {
  let lab: Lab;
  let api: ClusterApi;
  let dir: string;
  let home: string;
  const journal = () => join(dir, 'journal.jsonl');
  const events = () =>
    readFileSync(journal(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const run = (args: string[]) =>
    kubemend(
      [...args, '--kubeconfig', api.kubeconfig, '--known-hosts', lab.knownHostsPath, '--journal', journal()],
      { home },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-kapi-'));
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    lab = await upLab({
      name: LAB,
      nodes: [W, W2, CP],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
    writeFileSync(join(home, '.ssh', 'config'), `Host *\n  User root\n  IdentityFile ${lab.keyPath}\n`);
    api = await startClusterApi(lab);
  });
  afterAll(async () => {
    await api?.stop();
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a kubelet fix is proven through the API server: kube-apiserver → kubelet: 200', async () => {
    const r = await run(['apply', '-l', W, '--yes', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report.outcomes.map((o) => [o.node, o.status])).toEqual([[W, 'applied']]);
    const outcome = report.outcomes[0]!;
    expect('trust' in outcome && outcome.trust).toEqual([
      `kube-apiserver → kubelet: 200 through the API server (${W} proxy/healthz: the kubelet trusts the API server)`,
      `kube-apiserver → kubelet: 200 through the API server (${W} proxy/pods: the kubelet trusts the API server)`,
    ]);
    expect(events().filter((e) => e['event'] === 'trust-probe')).toEqual([
      expect.objectContaining({
        node: W,
        from: 'kube-apiserver',
        to: W,
        path: 'api-server',
        answer: '200',
        verdict: 'trusted',
      }),
      expect.objectContaining({
        node: W,
        path: 'api-server',
        answer: '200',
        verdict: 'trusted',
        url: `${api.server}/api/v1/nodes/${W}/proxy/pods`,
      }),
    ]);
  });

  it('a client CA of another cluster: the proxy gets 401 from the kubelet, and the change is rolled back', async () => {
    const shell = labShell(lab);
    await shell.ssh(W2, `printf %s ${shq(makePki().otherCaCrt)} > ${OTHER_CA}`);
    const before = await shell.sha(W2, CONFIG);
    // The inventory file adds the playbook parameter; the node itself comes from the API.
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, `nodes:\n  ${W2}: { params: { kubelet: { clientCAFile: ${OTHER_CA} } } }\n`);
    const r = await run(['apply', '-i', inventory, '-l', W2, '--yes', '-o', 'json']);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(
      report.outcomes.map((o) => [o.node, o.status]),
      r.stderr,
    ).toEqual([[W2, 'rolled-back']]);
    expect(JSON.stringify(report.outcomes[0])).toContain(
      "kube-apiserver → kubelet: 401 through the API server (kubeadm-worker-bad-x2 proxy/healthz: Unauthorized: the kubelet does not trust the API server's kubelet client certificate)",
    );
    expect(await shell.sha(W2, CONFIG)).toBe(before);
    expect(
      events()
        .filter((e) => e['event'] === 'trust-probe' && e['node'] === W2)
        .map((e) => [e['path'], e['answer'], e['verdict']]),
    ).toEqual([
      ['api-server', '401', 'rejected'],
      ['api-server', '401', 'rejected'],
    ]);
  });

  it("an apiserver change on a control plane: its restarted kube-apiserver's proxy proves the new pair (200 through the API server)", async () => {
    // The kubeconfig points at that control plane's own API server (self-managed): its proxy
    // dials kubelets with the pair it was started with, before the change none (anonymous).
    const own = await controlPlaneApi(
      lab,
      lab.nodes.find((n) => n.name === CP)!,
    );
    const shell = labShell(lab);
    await shell.ssh(CP, `printf %s ${shq(own.nodes)} > ${shq(own.nodesPath)}`);
    const cpRun = (args: string[]) =>
      kubemend(
        [
          ...args,
          '--kubeconfig',
          own.kubeconfig,
          '--known-hosts',
          lab.knownHostsPath,
          '--journal',
          journal(),
        ],
        { home },
      );
    // Before: W's kubelet verifies callers (the first test gave it a client CA); this API server has no pair.
    const before = await cpRun(['audit', '-l', W, '-o', 'json']);
    expect(before.stdout).toContain(
      `the API server cannot reach this kubelet: kube-apiserver → kubelet: 401 through the API server (${W} proxy/healthz`,
    );
    // The control plane's kubelet first gets its client CA (proven through the managed API server,
    // which has a pair); then the apiserver change alone, through the control plane's own API server.
    const kubelet = await run(['apply', '-l', CP, '--controls', 'kubelet-client-ca', '--yes', '-o', 'json']);
    expect(kubelet.code, kubelet.stderr).toBe(0);
    const r = await cpRun([
      'apply',
      '-l',
      CP,
      '--controls',
      'apiserver-kubelet-client-cert',
      '--yes',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report.outcomes.map((o) => [o.node, o.status])).toEqual([[CP, 'applied']]);
    const trust = 'trust' in report.outcomes[0]! ? report.outcomes[0].trust : [];
    expect(trust).toEqual(
      expect.arrayContaining([
        `kube-apiserver → kubelet: 200 through the API server (${CP} proxy/healthz: the kubelet trusts the API server)`,
        `kube-apiserver → kubelet: 200 through the API server (${CP} proxy/pods: the kubelet trusts the API server)`,
      ]),
    );
    // The SSH probe from the control plane with its running kube-apiserver's pair ran too.
    expect(
      events()
        .filter((e) => e['event'] === 'trust-probe' && e['node'] === CP && e['runId'] === report.runId)
        .map((e) => e['path']),
    ).toEqual(expect.arrayContaining(['api-server', 'ssh']));
    // After: the same API server reaches W's kubelet (kubectl logs works there now).
    const after = await cpRun(['audit', '-l', W, '-o', 'json']);
    expect(after.stdout).not.toContain('the API server cannot reach this kubelet');
  });
});
