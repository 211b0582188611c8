// Issue 21 on real nodes: a legacy command-line kubelet (anonymous on, AlwaysAllow, no client CA)
// in a cluster whose kube-apiserver has no kubelet client pair. `--controls all` plans the whole
// door in one plan (client CA, the apiserver's pair, anonymous off, Webhook), apply proves it the
// way `kubectl logs` uses it, and rollback restores every file. A kubelet without a kubeconfig is
// blocked for 4.2.2. The tests run in order on one lab: each starts from what the one before left.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import type { PlanFile } from '../../src/plan/types.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { makePki, type TestPki } from '../unit/support/certs.js';
import { kubemend } from './cli.js';
import { labShell, shq, writeLabInventory } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-door`;

const CP = 'kubeadm-cp-bad';
const W = 'flags-bad';
/** The same legacy kubelet with no --kubeconfig: nothing to ask the API server with. */
const LONE = 'flags-bad-x2';
const PKI = '/etc/kubernetes/pki';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const CP_CONFIG = '/var/lib/kubelet/config.yaml';
const DROPINS = '/etc/systemd/system/kubelet.service.d';
const DOOR = ['kubelet-client-ca', 'kubelet-anonymous-auth', 'kubelet-authorization-mode'];

describe.skipIf(!canRun)('the kubelet door on the lab (issue 21)', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  let pki: TestPki;
  const journal = () => join(dir, 'journal.jsonl');
  const inventory = () => writeLabInventory(lab, join(dir, 'inventory.yaml'));
  const run = (args: string[]) => kubemend([...args, '-i', inventory(), '--journal', journal()], { home });
  const ssh = (node: string, command: string) => labShell(lab).ssh(node, command);
  const hostOf = (node: string) => lab.nodes.find((n) => n.name === node)!.host;
  const pods = () => `https://${hostOf(W)}:10250/pods`;
  /** From the control plane: the HTTP status of the worker kubelet's /pods with these curl options. */
  const ask = async (opts: string) =>
    (
      await ssh(
        CP,
        `curl -gsk --noproxy '*' --max-time 10 ${opts} -o /dev/null -w '%{http_code}' ${shq(pods())}`,
      )
    ).trim();
  /** Every file the door touches, by hash, and the drop-ins there are: what rollback must give back. */
  const files = async () => ({
    [CP]: await ssh(CP, `sha256sum ${MANIFEST} ${CP_CONFIG}`),
    [W]: await ssh(W, `sha256sum ${DROPINS}/*.conf; ls -A ${DROPINS}`),
  });
  const events = () =>
    readFileSync(journal(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let before: Awaited<ReturnType<typeof files>>;
  const planFile = () => join(dir, 'door.plan.json');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-door-'));
    home = join(dir, 'home');
    pki = makePki();
    lab = await upLab({
      name: LAB,
      nodes: [CP, W, LONE],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
    // The lone kubelet loses its kubeconfig (a kubelet run standalone, never joined).
    await ssh(
      LONE,
      `sed -i 's/--kubeconfig=[^ "]*//; s/--require-kubeconfig=true//' ${DROPINS}/10-kubeadm.conf && systemctl daemon-reload && systemctl restart kubelet`,
    );
    // A client pair of another CA, to show the closed door refuses it.
    await ssh(
      CP,
      `printf %s ${shq(pki.foreignClientCrt)} > /root/foreign.crt && printf %s ${shq(pki.foreignClientKey)} > /root/foreign.key`,
    );
    before = await files();
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the apiserver pair in the selection, the door is blocked with what is missing and the --controls that fix it', async () => {
    const r = await run(['plan', '-o', 'json', '--controls', DOOR.join(',')]);
    const plan = JSON.parse(r.stdout) as PlanFile;
    const w = plan.nodes.find((n) => n.node === W)!;
    expect(w.status, r.stderr).toBe('blocked');
    expect(w.blocked).toEqual([
      expect.objectContaining({
        control: 'kubelet-anonymous-auth',
        reason: expect.stringMatching(
          new RegExp(
            `^the kube-apiserver on ${CP} presents no kubelet client certificate .*kubectl logs/exec on ${W} would get 401 Unauthorized or 403 Forbidden$`,
          ),
        ) as unknown,
        fix: expect.stringContaining(
          '--controls kubelet-client-ca,apiserver-kubelet-client-cert,kubelet-anonymous-auth,kubelet-authorization-mode',
        ) as unknown,
      }),
    ]);
  });

  it('--controls all plans the whole door in one plan; the kubelet without a kubeconfig is blocked for 4.2.2', async () => {
    const r = await run(['plan', '--controls', 'all', '--out', planFile(), '-o', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const plan = JSON.parse(r.stdout) as PlanFile;
    const byName = (n: string) => plan.nodes.find((x) => x.node === n)!;
    const controls = (n: string) => byName(n).changes.flatMap((c) => c.controls ?? [c.control]);
    expect(byName(CP).status).toBe('change');
    expect(controls(CP)).toEqual(
      expect.arrayContaining(['apiserver-kubelet-client-cert', 'kubelet-client-ca']),
    );
    expect(byName(W).status).toBe('change');
    // One file, one change: the client CA, anonymous off, Webhook (and webhook authentication).
    expect(byName(W).changes).toHaveLength(1);
    expect(controls(W)).toEqual(DOOR);
    const notes = byName(W).changes[0]!.notes.join('\n');
    expect(notes).toMatch(/read-only port 10255 .* still serves without any authentication/);
    expect(notes).not.toMatch(/still serves anyone/);
    expect(byName(LONE).status).toBe('blocked');
    expect(byName(LONE).blocked).toContainEqual(
      expect.objectContaining({
        control: 'kubelet-authorization-mode',
        reason: expect.stringMatching(
          /^the kubelet has no --kubeconfig: in Webhook mode it asks the API server/,
        ) as unknown,
      }),
    );
  });

  it('apply closes the door: the apiserver pair gets 200 on /pods, a foreign-CA certificate and no certificate 401', async () => {
    expect(await ask('')).toBe('200'); // before: anyone is served
    const r = await run(['apply', '--plan', planFile(), '--yes', '-o', 'json']);
    const report = JSON.parse(r.stdout) as ApplyReport;
    const status = Object.fromEntries(report.outcomes.map((o) => [o.node, o.status]));
    expect(status, r.stderr).toEqual({ [CP]: 'applied', [W]: 'applied', [LONE]: 'blocked' });

    // The trust gate asked as kubectl logs does, and with no credentials: journal and JSON say so.
    const probes = events().filter((e) => e['event'] === 'trust-probe' && e['node'] === W);
    expect(probes).toEqual([
      expect.objectContaining({
        from: CP,
        to: W,
        url: pods(),
        door: true,
        answer: '200',
        verdict: 'trusted',
      }),
      expect.objectContaining({
        from: CP,
        to: W,
        url: pods(),
        credentials: 'none',
        answer: '401',
        verdict: 'refused',
      }),
    ]);
    const w = report.outcomes.find((o) => o.node === W)!;
    expect('trust' in w && w.trust).toEqual([
      expect.stringMatching(new RegExp(`^${CP} → ${W} ${pods()}: 200 `)),
      expect.stringMatching(new RegExp(`^${CP} → ${W} ${pods()} with no credentials: 401 `)),
    ]);

    // And as anyone would find it now.
    const pair = `--cert ${PKI}/apiserver-kubelet-client.crt --key ${PKI}/apiserver-kubelet-client.key`;
    expect(await ask(pair)).toBe('200');
    expect(await ask('--cert /root/foreign.crt --key /root/foreign.key')).toBe('401');
    expect(await ask('')).toBe('401');
  });

  it('rollback restores every file byte-identical, and the kubelet serves as before', async () => {
    for (const node of [W, CP]) {
      const back = await run(['rollback', '--node', node, '--yes']);
      expect(back.code, back.stderr).toBe(0);
    }
    expect(await files()).toEqual(before);
    expect(await ask('')).toBe('200');
  });
});
