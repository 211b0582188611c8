// Fleet trust on real nodes that reach each other on the lab bridge: the plan's fleet step blocks a
// worker whose new client CA would reject its control plane, and apply's live trust gate probes
// each changed kubelet from the control plane and rolls back on 401.
// The tests run in order on one lab: the second starts from what the first left.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import type { AuditReport } from '../../src/report/audit-report.js';
import type { PlanFile } from '../../src/plan/types.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { makePki, type TestPki } from '../unit/support/certs.js';
import { kubemend } from './cli.js';
import { labShell, shq, waitUntil, writeLabInventory } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-fleet`;

const CP = 'kubeadm-cp-bad';
const W = 'kubeadm-worker-bad';
const W3 = 'kubeadm-worker-bad-x2';
const CONFIG = '/var/lib/kubelet/config.yaml';
const OTHER_CA = '/etc/kubernetes/pki/other-cluster-ca.crt';
const PKI = '/etc/kubernetes/pki';

describe.skipIf(!canRun)('fleet trust on the lab: the fleet step and the live trust gate', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  let pki: TestPki;
  const journal = () => join(dir, 'journal.jsonl');
  const inventory = (params: Record<string, unknown> = {}) =>
    writeLabInventory(lab, join(dir, `inventory-${Object.keys(params).length}.yaml`), params);
  const run = (args: string[], inv: string) =>
    kubemend([...args, '-i', inv, '--journal', journal()], { home });
  const shell = () => labShell(lab);
  const ssh = (node: string, command: string) => shell().ssh(node, command);
  const sha = (node: string, path: string) => shell().sha(node, path);
  /** The shell command that puts this kubelet client pair in place on a control plane. */
  const swapPair = (crt: string, key: string) =>
    `printf %s ${shq(crt)} > ${PKI}/apiserver-kubelet-client.crt && printf %s ${shq(key)} > ${PKI}/apiserver-kubelet-client.key`;
  const events = () =>
    readFileSync(journal(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-fleet-'));
    home = join(dir, 'home');
    pki = makePki();
    lab = await upLab({
      name: LAB,
      nodes: [CP, W, W3],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a worker whose planned CA is another cluster’s is blocked and left byte-identical; the rest is fixed and probed', async () => {
    const ca = pki.otherCaCrt;
    await ssh(W3, `printf %s ${shq(ca)} > ${OTHER_CA}`);
    const inv = inventory({ [W3]: { kubelet: { clientCAFile: OTHER_CA } } });

    const audit = await run(['audit', '-o', 'json'], inv);
    const clusters = new Set((JSON.parse(audit.stdout) as AuditReport).nodes.map((n) => n.cluster));
    expect(clusters.size).toBe(1);
    expect([...clusters][0]).toMatch(/^ca:[0-9a-f]{8}$/);

    const planned = await run(['plan', '-o', 'json'], inv);
    expect(planned.code).toBe(1);
    const plan = JSON.parse(planned.stdout) as PlanFile;
    const byName = (n: string) => plan.nodes.find((x) => x.node === n)!;
    expect(byName(CP).status).toBe('change');
    expect(byName(W).status).toBe('change');
    expect(byName(W3).status).toBe('blocked');
    expect(byName(W3).blocked).toContainEqual(
      expect.objectContaining({
        control: 'kubelet-client-ca',
        reason: `the client CA ${OTHER_CA} on ${W3} does not verify ${CP}'s planned kubelet client certificate ${PKI}/apiserver-kubelet-client.crt: kubectl logs/exec on ${W3} would get 401 Unauthorized`,
        fix: expect.stringContaining(`point kubelet.clientCAFile at ${PKI}/ca.crt`) as unknown,
      }),
    );

    const before = await sha(W3, CONFIG);
    const applied = await run(['apply', '--yes', '-o', 'json'], inv);
    const report = JSON.parse(applied.stdout) as ApplyReport;
    const status = Object.fromEntries(report.outcomes.map((o) => [o.node, o.status]));
    expect(status, applied.stderr).toEqual({ [CP]: 'applied', [W]: 'applied', [W3]: 'blocked' });
    expect(applied.code).toBe(1);
    expect(await sha(W3, CONFIG)).toBe(before);

    // The worker's change was proven from the control plane, with the apiserver's own pair there.
    const probes = events().filter((e) => e['event'] === 'trust-probe' && e['node'] === W);
    expect(probes).toEqual([
      expect.objectContaining({
        from: CP,
        to: W,
        url: `https://${lab.nodes.find((n) => n.name === W)!.host}:10250/healthz`,
        answer: expect.stringMatching(/^(200|403)$/) as unknown,
        verdict: 'trusted',
      }),
    ]);
    expect(events().some((e) => e['event'] === 'trust-probe' && e['node'] === CP)).toBe(true);
  });

  it('plan -l on workers alone completes, with a warning that names the check it could not run', async () => {
    const r = await run(['plan', '-o', 'json', '-l', W3], inventory());
    expect(r.code).toBe(1);
    const [n] = (JSON.parse(r.stdout) as PlanFile).nodes;
    expect(n!.status).toBe('change');
    expect(n!.warnings?.join('\n')).toMatch(
      /fleet trust check not run for kubeadm-worker-bad-x2: no control plane of cluster ca:[0-9a-f]{8} is in the selection.*--apiserver-kubelet-cert FILE/,
    );
  });

  it('apply -l on a worker alone: its control plane, in the inventory but not selected, proves the channel and is only read', async () => {
    const inv = inventory();
    const cpState = () =>
      ssh(
        CP,
        `sha256sum /etc/kubernetes/manifests/kube-apiserver.yaml ${CONFIG}; find /var/lib/kubemend -type f -exec sha256sum {} + | sort`,
      );
    const cpBefore = await cpState();
    const applied = await run(['apply', '-l', W3, '--yes', '-o', 'json'], inv);
    expect(applied.code, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout) as ApplyReport;
    expect(report.outcomes.map((o) => [o.node, o.status])).toEqual([[W3, 'applied']]);
    const w3 = report.outcomes[0]!;
    const url = `https://${lab.nodes.find((n) => n.name === W3)!.host}:10250/healthz`;
    // The JSON: the probe from the unselected control plane, and its answer.
    expect('trust' in w3 && w3.trust).toEqual([
      expect.stringMatching(new RegExp(`^${CP} → ${W3} ${url}: (200|403) `)),
    ]);
    // The journal: which nodes were read to find callers, and the probe itself.
    const ofRun = events().filter((e) => e['runId'] === report.runId);
    expect(ofRun.find((e) => e['event'] === 'trust-callers')).toMatchObject({
      read: expect.arrayContaining([CP]) as unknown,
      callers: [{ node: CP, cluster: expect.stringMatching(/^ca:[0-9a-f]{8}$/) as unknown }],
      unreached: [],
    });
    expect(ofRun.filter((e) => e['event'] === 'trust-probe')).toEqual([
      expect.objectContaining({ node: W3, from: CP, to: W3, url, verdict: 'trusted' }),
    ]);
    // Only read and probed from: no lock, backup or journal line of this run on the control plane.
    expect(ofRun.filter((e) => e['node'] === CP)).toEqual([]);
    expect(await cpState()).toBe(cpBefore);

    // The next test starts from the worker as it was.
    const back = await run(['rollback', '--node', W3, '--yes'], inv);
    expect(back.code, back.stderr).toBe(0);
  });

  it('a control plane’s certificate untrusted since the plan: the worker is refused at preflight, untouched', async () => {
    const inv = inventory();
    const planFile = join(dir, 'change.plan.json');
    const planned = await run(['plan', '--out', planFile, '-o', 'json'], inv);
    const plan = JSON.parse(planned.stdout) as PlanFile;
    expect(plan.nodes.find((n) => n.node === W3)!.status).toBe('change');
    expect(plan.nodes.find((n) => n.node === CP)!.status).toBe('compliant');

    // After review: the control plane's kubelet client pair is swapped for one of another CA.
    const crt = await ssh(CP, `cat ${PKI}/apiserver-kubelet-client.crt`);
    const key = await ssh(CP, `cat ${PKI}/apiserver-kubelet-client.key`);
    await ssh(CP, swapPair(pki.foreignClientCrt, pki.foreignClientKey));
    const before = await sha(W3, CONFIG);
    const applied = await run(['apply', '--plan', planFile, '-l', W3, '--yes', '-o', 'json'], inv);
    const w3 = (JSON.parse(applied.stdout) as ApplyReport).outcomes.find((o) => o.node === W3)!;
    expect(w3.status, applied.stderr).toBe('blocked');
    expect('reason' in w3 && w3.reason).toMatch(
      /the plan file says status = "change"; kubemend computes "blocked" .* blocked now because kubelet-client-ca: .*kubeadm-cp-bad/,
    );
    expect(applied.code).toBe(1);
    expect(await sha(W3, CONFIG)).toBe(before);
    // Back to the reviewed state: the next test swaps it during the window instead.
    await ssh(CP, swapPair(crt, key));
  });

  it('the trust gate rolls a worker back when its control plane’s certificate becomes untrusted during the window', async () => {
    const inv = inventory();
    const planFile = join(dir, 'change.plan.json');
    const before = await sha(W3, CONFIG);
    let progress = '';
    const applying = kubemend(
      // The whole plan: the control plane is in the run, so it probes the worker's kubelet.
      ['apply', '--plan', planFile, '--yes', '-o', 'json', '-i', inv, '--journal', journal()],
      { home, onSpawn: (c) => c.stderr?.on('data', (d: Buffer) => (progress += d.toString())) },
    );
    // Once the worker is being written (its preflight passed), the control plane's pair is swapped.
    await waitUntil('the worker to be written', async () => progress.includes(`${W3}: write`), 120_000, 20);
    await ssh(CP, swapPair(pki.foreignClientCrt, pki.foreignClientKey));
    const applied = await applying;
    const report = JSON.parse(applied.stdout) as ApplyReport;
    const w3 = report.outcomes.find((o) => o.node === W3)!;
    expect(w3.status, applied.stderr).toBe('rolled-back');
    expect('reason' in w3 && w3.reason).toMatch(
      /trust gate: kubeadm-cp-bad → kubeadm-worker-bad-x2 https:\/\/\S+:10250\/healthz: 401/,
    );
    expect(await sha(W3, CONFIG)).toBe(before);
    const probe = events()
      .filter((e) => e['event'] === 'trust-probe' && e['node'] === W3)
      .at(-1);
    expect(probe).toMatchObject({ from: CP, answer: '401', verdict: 'rejected' });
  });
});
