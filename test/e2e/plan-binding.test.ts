// The plan that was reviewed is the plan that runs: apply computes every node's entry again and
// refuses an edited plan file (the field named, the node untouched); running the same plan again
// after a partial run reports the nodes already done and applies the rest.
// The tests run in order on one lab: each starts from what the previous one left.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { unifiedDiff } from '../../src/edits/diff.js';
import { sha256 } from '../../src/plan/change.js';
import type { NodePlan, PlanFile } from '../../src/plan/types.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { makePki } from '../unit/support/certs.js';
import { kubemend } from './cli.js';
import { labShell, shq, waitUntil, writeLabInventory } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-binding`;

const CP = 'kubeadm-cp-bad';
const W = 'kubeadm-worker-bad';
const W2 = 'kubeadm-worker-bad-x2';
/** A worker whose planned client CA is another cluster's: blocked by the fleet step. */
const B = 'kubeadm-worker-bad-x3';
const CONFIG = '/var/lib/kubelet/config.yaml';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const PKI = '/etc/kubernetes/pki';
const PAIR = `${PKI}/apiserver-kubelet-client.crt ${PKI}/apiserver-kubelet-client.key`;
const OTHER_CA = `${PKI}/other-cluster-ca.crt`;
const EDITED = 'the file was edited or made by another kubemend version';

describe.skipIf(!canRun)('apply --plan runs the plan that was reviewed, or nothing', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  const journal = () => join(dir, 'journal.jsonl');
  const inventory = (params: Record<string, unknown> = {}) =>
    writeLabInventory(lab, join(dir, `inventory-${Object.keys(params).join('-') || 'plain'}.yaml`), params);
  const run = (args: string[], inv: string) =>
    kubemend([...args, '-i', inv, ...(args[0] === 'plan' ? [] : ['--journal', journal()])], { home });
  const ssh = (node: string, command: string) => labShell(lab).ssh(node, command);
  const kubeletPid = async (node: string) =>
    Number((await ssh(node, 'systemctl show -p MainPID --value kubelet')).trim());
  /** Everything apply could touch on a node: its files (present or not), backups, processes. */
  const state = (node: string) =>
    ssh(
      node,
      `for f in ${CONFIG} ${MANIFEST} ${PAIR} /etc/kubernetes/pki/ca.crt; do [ -e $f ] && sha256sum $f || echo "absent $f"; done
       ls /var/lib/kubemend/backups 2>/dev/null; test -e /var/lib/kubemend/inflight.json && echo inflight
       systemctl show -p MainPID --value kubelet; pgrep -x kube-apiserver || true`,
    );
  const readPlan = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PlanFile;
  const entry = (plan: PlanFile, node: string) => plan.nodes.find((n) => n.node === node)!;
  const applyJson = async (args: string[], inv: string) => {
    const r = await run(['apply', ...args, '--yes', '-o', 'json'], inv);
    return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) as ApplyReport };
  };
  const statuses = (report: ApplyReport) =>
    Object.fromEntries(report.outcomes.map((o) => [o.node, o.status]));
  const noInflight = async (nodes: string[]) => {
    for (const n of nodes)
      expect((await ssh(n, 'test -e /var/lib/kubemend/inflight.json && echo left || echo none')).trim()).toBe(
        'none',
      );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-binding-'));
    home = join(dir, 'home');
    lab = await upLab({
      name: LAB,
      nodes: [CP, W, W2, B],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('each edit of a reviewed plan is refused with the field and both values, the node untouched; the unedited plan applies', async () => {
    await ssh(B, `printf %s ${shq(makePki().otherCaCrt)} > ${OTHER_CA}`);
    // The control plane's kubelet client pair is missing: the plan issues one (--issue-certs).
    await ssh(CP, `mkdir -p /root/pair && mv ${PAIR} /root/pair/`);
    const inv = inventory({ [B]: { kubelet: { clientCAFile: OTHER_CA } } });
    const base = join(dir, 'base.plan.json');
    expect((await run(['plan', '-l', `${CP},${W},${B}`, '--issue-certs', '--out', base], inv)).code).toBe(1);
    const reviewed = readPlan(base);
    expect(reviewed.nodes.map((n) => [n.node, n.status])).toEqual([
      [CP, 'change'],
      [W, 'change'],
      [B, 'blocked'],
    ]);
    expect(entry(reviewed, CP).issue).toHaveLength(1);
    expect(entry(reviewed, W)).toMatchObject({ cluster: expect.any(String), trust: { kubelet: {} } });

    // What the same worker gets under the generic playbook: a consistent plan for another layout.
    const generic = join(dir, 'generic.plan.json');
    await run(['plan', '-l', W, '-p', 'generic', '--out', generic], inv);
    const genericW = entry(readPlan(generic), W);
    const configBefore = await ssh(W, `cat ${CONFIG}`);

    const tamperings: { what: string; node: string; edit: (n: NodePlan) => void; says: RegExp }[] = [
      {
        what: 'a blocked node set to change',
        node: B,
        edit: (n) => {
          n.status = 'change';
          n.blocked = [];
        },
        says: /the plan file says status = "change"; kubemend computes "blocked" from the node/,
      },
      {
        what: 'one extra setting, with its sha256 and diff',
        node: W,
        edit: (n) => {
          const c = n.changes[0]!;
          const content = `${c.after.content}readOnlyPort: 10255\n`;
          c.after = { content, sha256: sha256(content) };
          c.diff = unifiedDiff(W, c.path, configBefore, content);
        },
        says: /the plan file says changes\[0\]\.after\.content line \d+ = "readOnlyPort: 10255"; kubemend computes "" from the node/,
      },
      {
        what: 'the layout swapped to generic',
        node: W,
        edit: (n) => {
          n.layout = 'generic';
          n.playbook = genericW.playbook!;
          n.changes = genericW.changes;
        },
        says: /the plan file says layout = "generic"; kubemend computes "kubeadm" from the node/,
      },
      {
        what: 'trust removed',
        node: W,
        edit: (n) => delete n.trust,
        says: /the plan file says trust = \(absent\); kubemend computes \{"kubelet":\{"port":\d+,"clientCA":"planned"\}\}/,
      },
      {
        what: 'cluster removed',
        node: W,
        edit: (n) => delete n.cluster,
        says: /the plan file says cluster = \(absent\); kubemend computes "ca:[0-9a-f]{8}" from the node/,
      },
      {
        what: 'hostKey null',
        node: W,
        edit: (n) => (n.hostKey = null),
        says: /the plan file says hostKey = null; kubemend computes "SHA256:[^"]+" from the node/,
      },
      {
        what: 'the issued certificate’s subject',
        node: CP,
        edit: (n) => (n.issue![0]!.subject = '/O=system:masters/CN=kube-apiserver-kubelet-client'),
        says: /the plan file says issue\[0\]\.subject = "\/O=system:masters\/CN=kube-apiserver-kubelet-client"; kubemend computes "\/O=kubeadm:cluster-admins/,
      },
      {
        what: 'the issued certificate’s days',
        node: CP,
        edit: (n) => (n.issue![0]!.days = 3650),
        says: /the plan file says issue\[0\]\.days = 3650; kubemend computes 365 from the node/,
      },
    ];
    for (const t of tamperings) {
      const plan = readPlan(base);
      t.edit(entry(plan, t.node));
      const file = join(dir, 'edited.plan.json');
      writeFileSync(file, JSON.stringify(plan, null, 2));
      const before = await state(t.node);
      const r = await applyJson(['--plan', file, '-l', t.node], inv);
      expect({ what: t.what, code: r.code }).toEqual({ what: t.what, code: 1 });
      expect(r.report.outcomes).toMatchObject([{ node: t.node, status: 'blocked' }]);
      const reason = (r.report.outcomes[0] as { reason: string }).reason;
      expect(reason, t.what).toMatch(t.says);
      expect(reason).toContain(EDITED);
      expect(await state(t.node), t.what).toBe(before);
    }

    // Unedited, the same plan applies (the blocked worker is not selected).
    const r = await applyJson(['--plan', base, '-l', `${CP},${W}`], inv);
    expect(statuses(r.report)).toEqual({ [CP]: 'applied', [W]: 'applied' });
    expect(r.code).toBe(0);
    // Back to where the next test starts: both rolled back, the control plane's own pair back in place.
    for (const n of [CP, W]) expect((await run(['rollback', '--node', n, '--yes'], inv)).code).toBe(0);
    await ssh(CP, `mv /root/pair/* ${PKI}/`);
  }, 600_000); // nine refused applies and one that runs, each a full read of three nodes

  it('a plan from another kubemend version is refused before any node, and says so', async () => {
    const inv = inventory();
    const file = join(dir, 'old.plan.json');
    await run(['plan', '-l', W, '--out', file], inv);
    const plan = readPlan(file);
    writeFileSync(file, JSON.stringify({ ...plan, tool: 'kubemend 0.0.9' }));
    const before = await state(W);
    const r = await run(['apply', '--plan', file, '--yes'], inv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`plan ${file} was made by kubemend 0.0.9`);
    expect(r.stderr).toContain('NEW.plan.json');
    expect(await state(W)).toBe(before);
  });

  it('-l on the first node, then the whole plan: exit 0, the first already applied (kubelet not restarted), the others applied', async () => {
    const inv = inventory();
    const file = join(dir, 'three.plan.json');
    expect((await run(['plan', '-l', `${CP},${W},${W2}`, '--out', file], inv)).code).toBe(1);
    const first = await applyJson(['--plan', file, '-l', CP], inv);
    expect(statuses(first.report)).toEqual({ [CP]: 'applied' });
    expect(first.code).toBe(0);
    const pid = await kubeletPid(CP);
    const cpState = await state(CP);

    const whole = await applyJson(['--plan', file], inv);
    expect(statuses(whole.report)).toEqual({ [CP]: 'already-applied', [W]: 'applied', [W2]: 'applied' });
    expect(whole.code).toBe(0);
    // On the terminal, the end screen says it in words; a third run finds all three done.
    const again = await run(['apply', '--plan', file, '--yes'], inv);
    expect(again.code).toBe(0);
    for (const n of [CP, W, W2]) expect(again.stdout).toContain(`${n}: already applied by this plan`);
    expect(await kubeletPid(CP)).toBe(pid);
    expect(await state(CP)).toBe(cpState);
    await noInflight([CP, W, W2]);
  });

  it('a SIGINT during the second node’s health gate: exit 130; the same plan again: exit 0, the rest applied, no inflight record left', async () => {
    const inv = inventory();
    for (const n of [CP, W, W2]) expect((await run(['rollback', '--node', n, '--yes'], inv)).code).toBe(0);
    const file = join(dir, 'window.plan.json');
    expect((await run(['plan', '-l', `${CP},${W},${W2}`, '--out', file], inv)).code).toBe(1);

    let child: ChildProcess | undefined;
    let progress = '';
    const window = kubemend(
      ['apply', '--plan', file, '--yes', '-o', 'json', '-i', inv, '--journal', journal()],
      {
        home,
        onSpawn: (c) => {
          child = c;
          c.stderr?.on('data', (d: Buffer) => (progress += d.toString()));
        },
      },
    );
    // The control plane goes first; the second node is the first worker to reach its health gate.
    const second = await waitUntil(
      'the second node’s health gate',
      async () => new RegExp(` (${W}|${W2}): health`).exec(progress)?.[1],
      180_000,
      20,
    );
    child!.kill('SIGINT');
    const stopped = await window;
    expect(stopped.code).toBe(130);
    const third = second === W ? W2 : W;
    expect(statuses(JSON.parse(stopped.stdout) as ApplyReport)).toEqual({
      [CP]: 'applied',
      [second]: 'applied',
      [third]: 'skipped',
    });
    const pids = { [CP]: await kubeletPid(CP), [second]: await kubeletPid(second) };

    const resumed = await applyJson(['--plan', file], inv);
    expect(statuses(resumed.report)).toEqual({
      [CP]: 'already-applied',
      [second]: 'already-applied',
      [third]: 'applied',
    });
    expect(resumed.code).toBe(0);
    expect({ [CP]: await kubeletPid(CP), [second]: await kubeletPid(second) }).toEqual(pids);
    await noInflight([CP, W, W2]);
  });
});
