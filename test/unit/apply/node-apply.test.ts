// The apply sequence driven against a fake node: the order of its steps, and where each failure leads.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyNode, type ApplyContext } from '../../../src/apply/node-apply.js';
import { runTrustGate } from '../../../src/apply/trust-gate.js';
import { Journal } from '../../../src/apply/journal.js';
import { loadTemplates } from '../../../src/commands/templates.js';
import { DEFAULT_CONTROLS, runControls } from '../../../src/controls/index.js';
import { NodeError } from '../../../src/errors.js';
import { INFLIGHT_FILE } from '../../../src/facts/kubemend-state.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { NodeFacts } from '../../../src/facts/types.js';
import type { ScriptName } from '../../../src/node/remote.js';
import type { ExecOptions, ExecResult, HeldCommand, NodeSession } from '../../../src/node/ssh/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planNode } from '../../../src/plan/planner.js';
import type { NodePlan } from '../../../src/plan/types.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture } from '../support/fake-node.js';
import { probeNode } from '../support/probe-node.js';
import { decode } from '../support/scripts.js';

const CONFIG = '/var/lib/kubelet/config.yaml';
const CA = '/etc/kubernetes/pki/ca.crt';
const BEFORE = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

type Reply = ExecResult | Error;
const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '', truncated: false });
const fail = (reason: string, message: string): ExecResult => ({
  code: 1,
  stdout: '',
  stderr: `KMFAIL ${reason} ${message}\n`,
  truncated: false,
});

/** A node with one kubelet: files, an inflight record, a kubelet that restarts; faults by script. */
class FakeNode implements NodeSession {
  readonly node = 'w1';
  readonly hostKeyFingerprint = 'SHA256:fake';
  files = new Map<string, string>();
  inflight: string | undefined;
  kubeletPid = 100;
  steps: string[] = [];
  faults = new Map<string, (args: string[]) => Reply | undefined>();
  backups = new Map<string, string>();

  constructor(private readonly pki: TestPki) {
    this.files.set(CONFIG, BEFORE);
    this.files.set(CA, pki.caCrt);
  }

  facts(): NodeFacts {
    this.steps.push('gather');
    const files: Record<string, string> = Object.fromEntries(this.files);
    if (this.inflight) files[INFLIGHT_FILE] = this.inflight;
    return fakeFacts({
      processes: [
        { pid: this.kubeletPid, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${CONFIG}`] },
      ],
      files,
    });
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const { name, args } = decode(command);
    if (name !== 'journal-append') this.steps.push(name);
    const fault = this.faults.get(name)?.(args);
    if (fault instanceof Error) return Promise.reject(fault);
    if (fault) return Promise.resolve(fault);
    return Promise.resolve(this.run(name, args, opts.stdin ?? ''));
  }

  private run(name: ScriptName, args: string[], stdin: string): ExecResult {
    switch (name) {
      case 'inflight-read':
        return ok(this.inflight ?? '');
      case 'inflight-write':
        this.inflight = stdin;
        return ok();
      case 'inflight-clear':
        if (this.inflight?.includes(`"runId":"${args[0]}"`)) this.inflight = undefined;
        return ok();
      case 'backup':
        for (let i = 0; i + 3 < args.length; i += 3)
          if (args[i + 1] === 'modify')
            this.backups.set(`${args[0]}/${i / 3}.orig`, this.files.get(args[i + 2]!)!);
        return ok('time 1700000000\n');
      case 'write-file':
        this.files.set(args[2]!, stdin);
        return ok('written\n');
      case 'restore':
        for (let i = 1; i + 5 < args.length; i += 6) {
          const copy = this.backups.get(`${args[0]}/${args[i + 3]}`);
          if (args[i] === 'modified' && copy !== undefined) this.files.set(args[i + 1]!, copy);
          if (args[i] === 'created') this.files.delete(args[i + 1]!);
        }
        return ok();
      case 'restart-kubelet':
        this.kubeletPid++;
        return ok();
      case 'kubelet-state':
        return ok(
          `MainPID=${this.kubeletPid}\nNRestarts=0\nActiveState=active\nSubState=running\nHealthz=ok\n`,
        );
      default:
        return ok();
    }
  }

  hold(): Promise<HeldCommand> {
    this.steps.push('lock');
    return Promise.resolve({
      firstLine: 'LOCKED',
      running: true,
      stderr: () => '',
      release: () => Promise.resolve(),
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

let pki: TestPki;
let journalDir: string;
beforeAll(() => {
  pki = makePki();
  journalDir = mkdtempSync(join(tmpdir(), 'km-journal-'));
  return () => rmSync(journalDir, { recursive: true, force: true });
});

const playbook = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
const templates = loadTemplates();

function planFor(node: FakeNode): NodePlan {
  const model = nodeModel(node.facts());
  node.steps = [];
  const now = new Date();
  return planNode(
    { node: 'w1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:fake' },
    model,
    runControls('w1', model, DEFAULT_CONTROLS, now),
    playbook,
    { node: 'w1', templates },
    now,
  );
}

function context(node: FakeNode, plan: NodePlan, events: string[]): ApplyContext {
  let t = 0;
  const journal = new Journal(join(journalDir, `${Math.random()}.jsonl`), () => new Date());
  const write = journal.write.bind(journal);
  journal.write = (e) => {
    events.push(e.event);
    return write(e);
  };
  return {
    runId: 'run-1',
    target: { name: 'w1', host: '10.0.0.1', port: 22 } as ApplyContext['target'],
    plan,
    playbook,
    templates,
    gather: {},
    journal,
    clock: { now: () => t, sleep: (ms) => Promise.resolve(void (t += ms)) },
    now: () => new Date(),
    onStage: () => undefined,
    gatherFacts: () => Promise.resolve(node.facts()),
  };
}

const APPLY = ['lock', 'inflight-read', 'gather', 'backup', 'kubelet-state', 'inflight-write', 'write-file'];
const RESTART = ['restart-kubelet', 'kubelet-state', 'kubelet-state'];
const ROLLBACK = ['kubelet-state', 'restore', ...RESTART, 'inflight-clear'];

describe('the apply sequence, step by step', () => {
  it('lock, recover, facts, preflight, backup, write, restart, health, re-audit, done', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome).toMatchObject({ status: 'applied', changed: [CONFIG] });
    expect(node.steps).toEqual([...APPLY, ...RESTART, 'gather', 'inflight-clear']);
    expect(events).toEqual(['backed-up', 'written', 'applied']);
    expect(node.files.get(CONFIG)).toContain('clientCAFile: /etc/kubernetes/pki/ca.crt');
    expect(node.inflight).toBeUndefined();
  });

  it('a failed restart rolls back: files restored, kubelet restarted and gated, record cleared', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    let first = true;
    node.faults.set('restart-kubelet', () =>
      first ? ((first = false), fail('restart', 'systemctl restart kubelet failed')) : undefined,
    );
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome).toMatchObject({ status: 'rolled-back' });
    expect(JSON.stringify(outcome)).toContain(
      'restart: kubelet failed: systemctl restart kubelet failed (restart-kubelet.sh, exit 1)',
    );
    expect(node.steps).toEqual([...APPLY, 'restart-kubelet', ...ROLLBACK, 'kubelet-journal']);
    expect(node.files.get(CONFIG)).toBe(BEFORE);
    expect(node.inflight).toBeUndefined();
    expect(events).toEqual(['backed-up', 'written', 'failed', 'restored', 'rolled-back']);
  });

  it('a rollback that leaves a file someone else changed says so in the outcome and the journal', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    // The first restart fails (the second, the rollback's, works).
    node.faults.set('restart-kubelet', () =>
      node.steps.filter((s) => s === 'restart-kubelet').length === 1
        ? fail('restart', 'systemctl restart kubelet failed')
        : undefined,
    );
    // What restore.sh answers for a created file whose sha256 is no longer the one kubemend wrote.
    node.faults.set('restore', () => ok(`left 0 changed ${'f'.repeat(64)}\n`));
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome).toMatchObject({ status: 'rolled-back' });
    expect((outcome as { reason: string }).reason).toContain(
      `w1: left ${CONFIG} in place: its sha256 is ${'f'.repeat(64)} now, not the`,
    );
    expect(events).toEqual(['backed-up', 'written', 'failed', 'restored', 'left-in-place', 'rolled-back']);
  });

  it('a health check that times out with the session alive rolls back (it is not a lost connection)', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    let calls = 0;
    node.faults.set('kubelet-state', () =>
      ++calls === 2 ? new NodeError('w1', 'did not finish within 30s and was killed', 'timeout') : undefined,
    );
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toMatchObject({ status: 'rolled-back' });
    expect(JSON.stringify(outcome)).toMatch(/health: kubelet failed: did not finish within 30s/);
    expect(node.files.get(CONFIG)).toBe(BEFORE);
  });

  it('a connection lost during the restart: journalled, record left for the next run, nothing restored', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.faults.set(
      'restart-kubelet',
      () => new NodeError('w1', 'connection to node w1 lost', 'unreachable'),
    );
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome.status).toBe('error');
    expect(JSON.stringify(outcome)).toContain(
      'the next kubemend apply or rollback on w1 restores the backup first',
    );
    expect(node.steps).toEqual([...APPLY, 'restart-kubelet']);
    expect(node.inflight).toContain('"runId":"run-1"');
    expect(events).toEqual(['backed-up', 'written', 'connection-lost']);
  });

  it('the same plan again on a node it was applied to: already applied, nothing written or restarted', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    expect(await applyNode(node, context(node, plan, []))).toMatchObject({ status: 'applied' });
    const pid = node.kubeletPid;
    const written = node.files.get(CONFIG);
    node.steps = [];
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome).toMatchObject({ node: 'w1', status: 'already-applied' });
    expect(JSON.stringify(outcome)).toContain('already applied by this plan');
    expect(node.steps).toEqual(['lock', 'inflight-read', 'gather']);
    expect(events).toEqual(['already-applied']);
    expect(node.kubeletPid).toBe(pid);
    expect(node.files.get(CONFIG)).toBe(written);
  });

  it('a plan entry kubemend would not compute (an extra setting, hashes consistent): refused, nothing written', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const change = plan.changes[0]!;
    const content = `${change.after.content}readOnlyPort: 10255\n`;
    const edited = { ...plan, changes: [{ ...change, after: { content, sha256: sha(content) } }] };
    const outcome = await applyNode(node, context(node, edited, []));
    expect(outcome.status).toBe('blocked');
    expect(JSON.stringify(outcome)).toMatch(
      /the plan says changes\[0\]\.after\.content line \d+ = \\"readOnlyPort: 10255\\"; kubemend computes/,
    );
    expect(node.steps).toEqual(['lock', 'inflight-read', 'gather']);
    expect(node.files.get(CONFIG)).toBe(BEFORE);
  });

  it('a file changed since the plan: stale at preflight, nothing backed up or written', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.files.set(CONFIG, `${BEFORE}# edited\n`);
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toEqual({
      node: 'w1',
      status: 'stale',
      reason: `${CONFIG} changed since the plan was made`,
    });
    expect(node.steps).toEqual(['lock', 'inflight-read', 'gather']);
  });

  it('stale at the last moment (the backup script saw it): stale, nothing written', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.faults.set('backup', () => fail('stale', `${CONFIG} changed since the plan was made`));
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toMatchObject({ status: 'stale' });
    expect(node.steps).toEqual(['lock', 'inflight-read', 'gather', 'backup']);
  });

  it('the first write fails: nothing changed, no restart, the record is cleared', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.faults.set('write-file', () => fail('write', 'cannot write /var/lib/kubelet/.config.yaml.tmp'));
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toMatchObject({ status: 'blocked' });
    expect(JSON.stringify(outcome)).toContain('nothing was changed');
    expect(node.steps).toEqual([...APPLY, 'inflight-clear']);
    expect(node.inflight).toBeUndefined();
  });

  it('a dead run on the node is rolled back and health-gated before anything is judged', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    // The dead run had written its file; its backup holds the original.
    node.backups.set('dead-1/0.orig', BEFORE);
    node.files.set(CONFIG, 'half-applied: true\n');
    node.inflight = JSON.stringify({
      runId: 'dead-1',
      tool: 'kubemend',
      startedAt: '2026-12-01T00:00:00Z',
      backup: '/var/lib/kubemend/backups/dead-1',
      restarts: ['kubelet'],
      files: [{ path: CONFIG, action: 'modified', sha256: sha(BEFORE), copy: '0.orig', restart: 'kubelet' }],
    });
    const events: string[] = [];
    const outcome = await applyNode(node, context(node, plan, events));
    expect(outcome).toMatchObject({ status: 'applied', recovered: 'dead-1' });
    // The recovery's own facts, its rollback, and only then the fresh facts the plan is judged on.
    expect(node.steps.slice(0, 10)).toEqual(['lock', 'inflight-read', 'gather', ...ROLLBACK, 'gather']);
    expect(events.slice(0, 4)).toEqual(['recover-dead-run', 'restored', 'rolled-back', 'recovered-dead-run']);
    expect(node.inflight).toBeUndefined();
  });

  it('a bug after the write still rolls back, and is reported as a bug', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const ctx = context(node, plan, []);
    let gathers = 0;
    ctx.gatherFacts = () => {
      if (++gathers === 2) throw new TypeError("Cannot read properties of undefined (reading 'x')");
      return Promise.resolve(node.facts());
    };
    const outcome = await applyNode(node, ctx);
    expect(outcome).toMatchObject({ status: 'rolled-back', internal: true });
    expect(JSON.stringify(outcome)).toContain('internal error (a bug in kubemend)');
    expect(node.files.get(CONFIG)).toBe(BEFORE);
  });

  /** A lock holder on the node that ended at once, saying `firstLine`: the lock was not taken. */
  const refusedWith = (firstLine: string) => () =>
    Promise.resolve({ firstLine, running: false, stderr: () => '', release: () => Promise.resolve() });

  it('another run holds the lock: refused in words, nothing else runs', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.hold = refusedWith('');
    node.faults.set('lock-owner', () =>
      ok(
        '{"runId":"20261203T081500-abc123","tool":"kubemend 0.1.0","since":"2026-12-03T08:15:00.000Z","by":"ops@bastion"}\n',
      ),
    );
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toEqual({
      node: 'w1',
      status: 'error',
      reason:
        'w1 is locked by another kubemend run 20261203T081500-abc123 (kubemend 0.1.0) started 2026-12-03 08:15:00 UTC by ops@bastion; wait for it to finish (the lock of a run that died frees itself within 20 s)',
    });
    expect(node.steps).toEqual(['lock-owner']);
  });

  it("an older kubemend holds its lock in /var/lib/kubemend: refused, naming that run from that version's record", async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.hold = refusedWith('LEGACY');
    const asked: string[][] = [];
    node.faults.set('lock-owner', (args) => {
      asked.push(args);
      return ok('{"runId":"20261101T000000-old","tool":"kubemend 0.0.9"}\n');
    });
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toEqual({
      node: 'w1',
      status: 'error',
      reason:
        'w1 is locked by an older kubemend run 20261101T000000-old (kubemend 0.0.9) (its lock is /var/lib/kubemend/lock); wait for it to finish (the lock of a run that died frees itself within 20 s)',
    });
    expect(asked).toEqual([['legacy']]);
  });

  it("a lock directory that is not kubemend's own: refused with the reason, nothing else runs", async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    node.hold = refusedWith(
      'NORUNDIR /run/kubemend is a symbolic link (to /tmp/x); kubemend keeps its lock only in a directory it made: find out who made this one, remove it and run again',
    );
    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome).toEqual({
      node: 'w1',
      status: 'error',
      reason:
        'w1: /run/kubemend is a symbolic link (to /tmp/x); kubemend keeps its lock only in a directory it made: find out who made this one, remove it and run again',
    });
    expect(node.steps).toEqual([]);
  });
});

describe('the live trust gate in the sequence', () => {
  const url = 'https://10.0.0.1:10250/healthz';
  const pair = 'KMCALLER pair\nKMCERT /pki/c.crt\nKMKEY /pki/c.key\n';
  /** The node's context with the real trust gate, its control plane answering `reply`. */
  function gated(node: FakeNode, plan: NodePlan, events: string[], reply: string) {
    const ctx = context(node, plan, events);
    const me = {
      plan: { ...plan, cluster: 'ca:1', trust: { kubelet: { port: 10250, clientCA: 'planned' as const } } },
      target: ctx.target,
    };
    const cp = {
      plan: {
        ...plan,
        node: 'cp-1',
        role: 'control-plane' as const,
        status: 'compliant' as const,
        changes: [],
        cluster: 'ca:1',
      },
      target: { ...ctx.target, name: 'cp-1', host: '10.0.0.10' },
    };
    const cpSession = probeNode([reply]);
    ctx.trustGate = (own) =>
      runTrustGate(me, [cp, me], new Set(), { own, open: (_n, use) => use(cpSession), clock: ctx.clock });
    return { ctx, stepsAtProbe: () => cpSession.runs.length };
  }

  it('runs after the health gate; its probe and answer are journalled and reported', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const events: string[] = [];
    const { ctx } = gated(node, plan, events, `${pair}KMPROBE 403 ${url}\n`);
    const outcome = await applyNode(node, ctx);
    expect(outcome).toMatchObject({
      status: 'applied',
      trust: [`cp-1 → w1 ${url}: 403 (authenticated, not authorized)`],
    });
    expect(events).toEqual(['backed-up', 'written', 'trust-probe', 'applied']);
    expect(node.steps).toEqual([...APPLY, ...RESTART, 'gather', 'inflight-clear']);
  });

  it('a 401 from the kubelet fails the gate and rolls the node back', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const events: string[] = [];
    const { ctx } = gated(node, plan, events, `${pair}KMPROBE 401 ${url}\n`);
    const outcome = await applyNode(node, ctx);
    expect(outcome).toMatchObject({ status: 'rolled-back' });
    expect(JSON.stringify(outcome)).toContain(
      `trust gate: cp-1 → w1 ${url}: 401 (Unauthorized: the kubelet does not trust the certificate): kubectl logs/exec on w1 would fail`,
    );
    expect(node.files.get(CONFIG)).toBe(BEFORE);
    expect(events).toEqual(['backed-up', 'written', 'trust-probe', 'failed', 'restored', 'rolled-back']);
  });

  it('a gate that could not run says why, and does not pass for a proof', async () => {
    const node = new FakeNode(pki);
    const plan = planFor(node);
    const events: string[] = [];
    const { ctx } = gated(node, plan, events, 'KMCALLER anonymous\n');
    const outcome = await applyNode(node, ctx);
    expect(outcome).toMatchObject({
      status: 'applied',
      trust: [
        "not checked: cp-1's kube-apiserver presents no kubelet client certificate (it calls kubelets anonymously): nothing to prove",
      ],
    });
    expect(events).toContain('trust-gate-skipped');
  });
});

describe('--issue-certs: a pair is kubemend’s only once issue-cert made it', () => {
  const PKI = '/etc/kubernetes/pki';
  const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
  const CRT = `${PKI}/apiserver-kubelet-client.crt`;
  const KEY = `${PKI}/apiserver-kubelet-client.key`;
  const manifest = fixture('kubeadm/kube-apiserver.yaml').replace(/^.*--kubelet-client-.*\n/gm, '');
  const argv = (parse(manifest) as { spec: { containers: { command: string[] }[] } }).spec.containers[0]!
    .command;

  /** A kubeadm control plane without its kubelet client pair, the cluster CA key at hand. */
  class ControlPlane extends FakeNode {
    override facts(): NodeFacts {
      this.steps.push('gather');
      return fakeFacts({
        processes: [
          { pid: 10, comm: 'kube-apiserver', argv },
          { pid: this.kubeletPid, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${CONFIG}`] },
        ],
        files: Object.fromEntries(this.files),
        keys: [`${PKI}/ca.key`],
      });
    }
  }

  it('a failed issue (the pair appeared meanwhile) rolls back without removing that pair', async () => {
    const node = new ControlPlane(pki);
    node.files.set(MANIFEST, manifest);
    // staticPodPath: the kubelet runs the manifest, as on a kubeadm control plane.
    node.files.set(CONFIG, fixture('kubeadm/config.commented.yaml'));
    const model = nodeModel(node.facts());
    const now = new Date();
    const plan = planNode(
      { node: 'w1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:fake' },
      model,
      runControls('w1', model, DEFAULT_CONTROLS, now),
      loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!,
      { node: 'w1', templates, issueCerts: true },
      now,
    );
    expect(plan.blocked).toEqual([]);
    expect(plan.issue?.map((i) => [i.certificate, i.key])).toEqual([[CRT, KEY]]);
    node.steps = [];
    // Someone else's pair lands between the backup and the issue: issue-cert refuses to overwrite it.
    node.faults.set('issue-cert', () => {
      node.files.set(CRT, 'their certificate\n');
      node.files.set(KEY, 'their key\n');
      return fail('exists', `${CRT} or ${KEY} exists now`);
    });
    const restored: string[][] = [];
    node.faults.set('restore', (args) => void restored.push(args));
    const backedUp: string[][] = [];
    node.faults.set('backup', (args) => void backedUp.push(args));

    const outcome = await applyNode(node, context(node, plan, []));
    expect(outcome.status).toMatch(/^rolled-back|rollback-failed$/);
    expect(node.files.get(CRT)).toBe('their certificate\n');
    expect(node.files.get(KEY)).toBe('their key\n');
    // Neither the backup's record nor the restore ever named the pair as kubemend's.
    expect(restored.flat()).not.toContain(CRT);
    expect(restored.flat()).not.toContain(KEY);
    // The backup step checked both paths (absent, in a directory only root may write), as 'issue'.
    expect(backedUp[0]?.slice(-6)).toEqual(['issue', KEY, '-', 'issue', CRT, '-']);
  });
});
