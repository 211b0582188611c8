/**
 * One node's apply, as one list of named steps run in order (BEFORE_WRITE, then FROM_WRITE):
 *
 *   lock → recover a dead run → fresh facts → preflight → backup → snapshot → write → restart and
 *        health gate → trust gate → re-audit → done
 *
 * A step returns the node's outcome when the apply ends there (a refusal, nothing to do, done).
 * Before the first write a failure means nothing was changed (applyNode's `failed`); from the
 * inflight record on there is one failure path, afterWrite: roll back (restore, restart, health
 * gate). A lost connection is the one failure that cannot be handled from here: it is journalled,
 * and the inflight record written before the first change makes the next run roll back first.
 */
import { changeControls, CONTROLS, DEFAULT_CONTROLS, runControls } from '../controls/index.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import type { NodeFacts } from '../facts/types.js';
import type { NodeTarget } from '../inventory/types.js';
import {
  backupDir,
  backupName,
  madeDirsName,
  backUp,
  clearInflight,
  issueCertificate,
  kubeletJournal,
  writeFile,
  writeInflight,
  writeMetadata,
  type BackupEntry,
  type FileToWrite,
  type Inflight,
} from '../node/changes.js';
import type { GatherOptions } from '../node/gather-script.js';
import { gatherFacts } from '../node/gather.js';
import { INFLIGHT_FILE, StepError } from '../node/remote.js';
import { shellWord } from '../node/ssh/shell.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import type { Templates } from '../plan/change.js';
import { planNode } from '../plan/planner.js';
import type { NodePlan } from '../plan/types.js';
import { TOOL, VERSION } from '../version.js';
import type { Clock } from './clock.js';
import type { Journal } from './journal.js';
import { lockAndRecover, nodeLog } from './locked.js';
import { connectionLost, failedStep, failureReason, internalMark, type NodeOutcome } from './outcome.js';
import { preflight, type PreflightContext } from './preflight.js';
import { leftNotes, rollBack, type NodeLog, type Recovery } from './recover.js';
import {
  GateError,
  restartAndGate,
  snapshot,
  type Gate,
  type OnStage,
  type RestartSpec,
  type Snapshot,
} from './restart-gate.js';
import { describeProbe, type TrustResult } from './trust-gate.js';

export type { NodeOutcome };

export interface ApplyContext {
  runId: string;
  target: NodeTarget;
  plan: NodePlan;
  playbook: Playbook;
  templates: Templates;
  gather: GatherOptions;
  journal: Journal;
  clock: Clock;
  now: () => Date;
  onStage: OnStage;
  /** How facts are gathered (default: the gather script over the session); tests give their own. */
  gatherFacts?: typeof gatherFacts;
  /** The live trust gate (trust-gate.ts): probes from control planes, run after the health gate. */
  trustGate?: (session: NodeSession) => Promise<TrustResult>;
  /**
   * The node's entry as `plan` computes it now (apply/recompute.ts), given the session's host key;
   * by default the node's own plan alone, with this playbook. The inventory's layout and role in `given`.
   */
  judge?: {
    recompute: (model: NodeModel, hostKey: string) => NodePlan;
    given: PreflightContext['given'];
    source: PreflightContext['source'];
  };
}

/** Applies one node's plan under its lock; every failure after the first write rolls back. */
export async function applyNode(session: NodeSession, ctx: ApplyContext): Promise<NodeOutcome> {
  const node = ctx.target.name;
  const log = nodeLog(ctx.journal, session, { runId: ctx.runId, node }, ctx.runId);
  const gate: Gate = { timeouts: ctx.playbook.timeouts, clock: ctx.clock, onStage: ctx.onStage };

  ctx.onStage('lock');
  // A run that died after writing left its record: it is undone (under the lock) before anything is judged.
  return lockAndRecover<NodeOutcome>(
    session,
    {
      runId: ctx.runId,
      now: ctx.now,
      log,
      recover: {
        node,
        gather: ctx.gather,
        gate,
        ...(ctx.gatherFacts ? { gatherFacts: ctx.gatherFacts } : {}),
      },
      refused: (reason) => ({ node, status: 'error', reason }),
      // Before the first write (the steps after it handle their own failures): nothing was changed.
      failed: async (e) => {
        const reason = `${failureReason(e)}; nothing was changed on ${node}`;
        if (connectionLost(e)) {
          await log('connection-lost', { reason: failureReason(e), state: 'nothing was changed' }, null);
          return { node, status: 'error', reason };
        }
        await log('failed', { reason: failureReason(e), state: 'nothing was changed' }, null);
        return { node, status: 'error', reason, ...internalMark(e) };
      },
    },
    (recovery) => lockedSequence(session, ctx, log, gate, recovery),
  );
}

/** What the steps of one node's apply share: each step reads what the ones before it learned. */
interface Run {
  session: NodeSession;
  ctx: ApplyContext;
  log: NodeLog;
  gate: Gate;
  node: string;
  recovery: Recovery;
  /** The dead run recovered first, and what its rollback left behind. */
  recovered?: string;
  recoveryLeft: string[];
  facts?: NodeFacts;
  verdict?: Extract<ReturnType<typeof preflight>, { ok: true }>;
  files: FileToWrite[];
  entries: BackupEntry[];
  metadata?: Record<string, unknown> & { files: BackupEntry[] };
  nodeTime?: number;
  backup?: string;
  inflight?: Inflight;
  spec?: RestartSpec;
  before?: Snapshot;
  /** A file on the node was changed (from the first certificate issued or file written). */
  changed: boolean;
  trust?: string[];
}

/** A named step: it returns the node's outcome when the apply ends there, else undefined (go on). */
interface Step {
  name: string;
  run: (r: Run) => Promise<NodeOutcome | undefined>;
}

/**
 * The steps before anything changes: a failure thrown here is "nothing was changed" (applyNode's
 * `failed`); a refusal is an outcome.
 */
const BEFORE_WRITE: readonly Step[] = [
  { name: 'recovery', run: recoveryStep },
  { name: 'facts', run: freshFacts },
  { name: 'preflight', run: preflightStep },
  { name: 'backup', run: backupStep },
  { name: 'snapshot', run: snapshotStep },
];

/** The steps from the inflight record on: any failure here is the one rollback path (afterWrite). */
const FROM_WRITE: readonly Step[] = [
  { name: 'write', run: writeStep },
  { name: 'restart and health gate', run: restartStep },
  { name: 'trust gate', run: trustStep },
  { name: 're-audit', run: reauditStep },
  { name: 'done', run: doneStep },
];

async function lockedSequence(
  session: NodeSession,
  ctx: ApplyContext,
  log: NodeLog,
  gate: Gate,
  recovery: Recovery,
): Promise<NodeOutcome> {
  const r: Run = {
    session,
    ctx,
    log,
    gate,
    node: ctx.target.name,
    recovery,
    recoveryLeft: [],
    files: [],
    entries: [],
    changed: false,
  };
  for (const step of BEFORE_WRITE) {
    const end = await step.run(r);
    if (end) return end;
  }
  try {
    for (const step of FROM_WRITE) {
      const end = await step.run(r);
      if (end) return end;
    }
    throw new Error('the apply steps ended without an outcome');
  } catch (e) {
    return afterWrite(r, e);
  }
}

/** A dead run this apply recovered first: its failure ends the apply; its success is noted. */
async function recoveryStep(r: Run): Promise<NodeOutcome | undefined> {
  const { recovery, node } = r;
  if (recovery.kind === 'failed')
    return {
      node,
      status: 'rollback-failed',
      reason: recovery.reason,
      backup: recovery.run.backup,
      manual: manualSteps(node, recovery.run),
    };
  if (recovery.kind === 'unreadable') return { node, status: 'error', reason: recovery.reason };
  if (recovery.kind === 'recovered') {
    r.recovered = recovery.run.runId;
    r.recoveryLeft = leftNotes(node, recovery.left);
  }
  return undefined;
}

/** Fresh facts, with every file the plan touches. */
async function freshFacts(r: Run): Promise<undefined> {
  r.ctx.onStage('facts');
  const gather = r.ctx.gatherFacts ?? gatherFacts;
  r.facts = await gather(r.session, {
    ...r.ctx.gather,
    extraFiles: [...(r.ctx.gather.extraFiles ?? []), ...r.ctx.plan.changes.map((c) => c.path)],
  });
  return undefined;
}

/** Preflight: a pure verdict on the plan and those facts (stale, blocked, already applied, nothing to do). */
async function preflightStep(r: Run): Promise<NodeOutcome | undefined> {
  const { ctx, node, log } = r;
  const changes = ctx.plan.changes;
  ctx.onStage('preflight');
  const judge = ctx.judge ?? ownPlanOnly(ctx);
  const verdict = preflight(ctx.plan, r.facts!, {
    given: judge.given,
    recompute: (model) => judge.recompute(model, r.session.hostKeyFingerprint),
    source: judge.source,
    now: ctx.now(),
  });
  if (!verdict.ok) {
    await log(
      verdict.status === 'stale' ? 'refused-stale' : 'preflight-failed',
      { reason: verdict.reason },
      null,
    );
    return { node, status: verdict.status, reason: verdict.reason };
  }
  if (verdict.alreadyApplied) {
    const reason = `already applied by this plan: ${changes.map((c) => c.path).join(', ')} hold the planned content and the node passes; nothing written, nothing restarted`;
    await log('already-applied', { reason }, null);
    return { node, status: 'already-applied', reason };
  }
  if (changes.length === 0 && !ctx.plan.issue?.length)
    return r.recovered
      ? {
          node,
          status: 'recovered',
          deadRun: r.recovered,
          reason: [
            `run ${r.recovered} had died here; its backup was restored and the node is healthy. This plan had nothing to change on ${node}; plan again to see what it needs now`,
            ...r.recoveryLeft,
          ].join('; '),
        }
      : { node, status: 'compliant' };
  r.verdict = verdict;
  return undefined;
}

/** Backup: staleness at the last moment, free space, copies and metadata. Nothing changed yet. */
async function backupStep(r: Run): Promise<NodeOutcome | undefined> {
  const { ctx, node, log } = r;
  ctx.onStage('backup');
  r.files = ctx.plan.changes.map((c) => ({
    path: c.path,
    action: c.action,
    beforeSha256: c.before?.sha256 ?? null,
    content: c.after.content,
    afterSha256: c.after.sha256,
  }));
  r.entries = backupEntries(ctx, r.facts!.files);
  r.metadata = {
    id: ctx.runId,
    createdAt: ctx.now().toISOString(),
    tool: TOOL,
    version: VERSION,
    node,
    files: r.entries,
  };
  const toIssue = (ctx.plan.issue ?? []).flatMap((i) => [i.key, i.certificate]);
  try {
    ({ nodeTime: r.nodeTime } = await backUp(r.session, ctx.runId, r.files, r.metadata, toIssue));
  } catch (e) {
    if (!(e instanceof StepError)) throw e;
    const why = e.detail;
    if (e.reason === 'stale' || e.reason === 'exists') {
      await log('refused-stale', { reason: why }, null);
      return { node, status: 'stale', reason: why };
    }
    await log('backup-failed', { reason: why }, null);
    return {
      node,
      status: 'blocked',
      reason:
        e.reason === 'link' || e.reason === 'unsafe'
          ? `preflight: ${why}; nothing was changed on ${node}`
          : `backup failed, nothing was changed: ${why}`,
    };
  }
  r.backup = backupDir(ctx.runId);
  await log('backed-up', { backup: r.backup, files: r.entries.map((e) => e.path) });
  return undefined;
}

/** The inflight record to write, and what the restart gate must see replaced (before the first write). */
async function snapshotStep(r: Run): Promise<undefined> {
  const changes = r.ctx.plan.changes;
  const restarts = [...new Set(changes.map((c) => c.restart))];
  r.inflight = {
    runId: r.ctx.runId,
    tool: TOOL,
    startedAt: r.ctx.now().toISOString(),
    nodeTime: r.nodeTime!,
    backup: r.backup!,
    restarts,
    files: r.entries,
  };
  r.spec = { restarts, expectApiserverFlags: expectedApiserverFlags(r.ctx.plan) };
  r.before = await snapshot(r.session, r.verdict!.model, r.spec);
  return undefined;
}

/** The inflight record, then the certificates to issue, then the files. */
async function writeStep(r: Run): Promise<NodeOutcome | undefined> {
  const { ctx, session, log, node } = r;
  ctx.onStage('write');
  await writeInflight(session, r.inflight!);
  for (const i of ctx.plan.issue ?? []) {
    ctx.onStage('issue', i.certificate);
    r.changed = true;
    const sums = await issueCertificate(session, ctx.runId, i);
    // Recorded as created only now that they exist and their sha256 is known: a failed issue
    // (a pair that was there, a CA that would not sign) has nothing of ours to remove.
    for (const [path, sha256] of [
      [i.key, sums.keySha256],
      [i.certificate, sums.certSha256],
    ] as const)
      r.entries.push({ path, action: 'created', sha256, restart: 'static-pod:kube-apiserver' });
    await writeMetadata(session, ctx.runId, { ...r.metadata!, files: r.entries });
    await writeInflight(session, r.inflight!);
    await log('issued', { certificate: i.certificate, key: i.key, signedBy: i.caCertificate });
  }
  ctx.onStage('write');
  for (const f of r.files) {
    try {
      await writeFile(session, ctx.runId, f);
    } catch (e) {
      // write-file.sh leaves its target as it was: a first file that fails means nothing changed.
      if (!r.changed && e instanceof StepError) {
        await clearInflight(session, ctx.runId, 'write');
        await log('write-failed', { reason: e.detail, state: 'nothing was changed' });
        return {
          node,
          status: e.reason === 'stale' ? 'stale' : 'blocked',
          reason: `${e.message}; nothing was changed`,
        };
      }
      throw e;
    }
    r.changed = true;
  }
  await log('written', { files: r.files.map((f) => f.path) });
  return undefined;
}

/** The restarts the changes need, each with its health gate (restart-gate.ts). */
async function restartStep(r: Run): Promise<undefined> {
  await restartAndGate(r.session, r.spec!, r.before!, r.gate);
  return undefined;
}

/** The live trust gate, where apply has one: the control plane must still reach the kubelet. */
async function trustStep(r: Run): Promise<undefined> {
  if (r.ctx.trustGate) r.trust = await trustGate(r.session, r.ctx, r.log);
  return undefined;
}

/** The controls this plan fixed pass on the node as it is now. */
async function reauditStep(r: Run): Promise<undefined> {
  r.ctx.onStage('re-audit');
  await reaudit(r.session, r.ctx);
  return undefined;
}

/** Every gate passed: the inflight record goes, the node is applied. */
async function doneStep(r: Run): Promise<NodeOutcome> {
  const { ctx, backup, recovered, trust } = r;
  await clearInflight(r.session, ctx.runId, 'done');
  await r.log('applied', { backup, ...(recovered ? { recoveredRun: recovered } : {}) });
  ctx.onStage('done');
  return {
    node: r.node,
    status: 'applied',
    backup: backup!,
    changed: r.files.map((f) => f.path),
    ...(recovered ? { recovered } : {}),
    ...(trust && trust.length > 0 ? { trust } : {}),
  };
}

/**
 * The one failure path from the first write on: a lost connection is journalled (the inflight
 * record makes the next run roll back first); any other failure rolls the node back.
 */
async function afterWrite(r: Run, e: unknown): Promise<NodeOutcome> {
  const { node, log, session, backup } = r;
  const inflight = r.inflight!;
  const reason = failureReason(e);
  if (connectionLost(e)) {
    // The node may hold the new files, not yet restarted or verified; its inflight record makes
    // the next kubemend run on it roll back first.
    const state = `connection lost after the backup (${backup}); the node may hold the new files, not yet verified; the next kubemend apply or rollback on ${node} restores the backup first`;
    await log('connection-lost', { reason, state }, null);
    return { node, status: 'error', reason: `${reason}; ${state}` };
  }
  await log('failed', { step: failedStep(e), reason });
  r.ctx.onStage('rollback', reason);
  const { error: rollbackError, left } = await rollBack(
    session,
    inflight,
    r.verdict!.model,
    r.gate,
    log,
  ).catch((err: unknown) => ({ error: failureReason(err), left: [] }));
  const internal = internalMark(e);
  const leftBehind = leftNotes(node, left)
    .map((l) => `; ${l}`)
    .join('');
  if (rollbackError)
    return {
      node,
      status: 'rollback-failed',
      reason: `${reason}; rollback failed: ${rollbackError}${leftBehind}`,
      backup: backup!,
      manual: manualSteps(node, inflight),
      ...internal,
    };
  return {
    node,
    status: 'rolled-back',
    reason: `${reason}${leftBehind}`,
    backup: backup!,
    evidence: await kubeletJournal(session, r.nodeTime!),
    ...internal,
  };
}

/**
 * Runs the live trust gate and journals every probe with its answer; a kubelet that rejects its
 * control plane's certificate fails the gate (GateError: the change is rolled back).
 */
async function trustGate(session: NodeSession, ctx: ApplyContext, log: NodeLog): Promise<string[]> {
  ctx.onStage('trust', 'kube-apiserver → kubelet', { timeoutSec: 30 });
  const { records, skipped } = await ctx.trustGate!(session);
  for (const r of records) await log('trust-probe', { ...r });
  for (const reason of skipped) await log('trust-gate-skipped', { reason });
  const rejected = records.filter((r) => r.verdict === 'rejected');
  const served = records.filter((r) => r.verdict === 'served');
  const on = (rs: typeof records) => [...new Set(rs.map((r) => r.to))].join(', ');
  if (rejected.length > 0 || served.length > 0)
    throw new GateError(
      'trust gate',
      [
        ...(rejected.length > 0
          ? [
              `trust gate: ${rejected.map(describeProbe).join('; ')}: kubectl logs/exec on ${on(rejected)} would fail`,
            ]
          : []),
        ...(served.length > 0
          ? [
              `trust gate: ${served.map(describeProbe).join('; ')}: the kubelet on ${on(served)} still serves callers with no credentials`,
            ]
          : []),
      ].join('; '),
    );
  return [
    ...records.map(
      (r) => `${r.verdict === 'trusted' || r.verdict === 'refused' ? '' : 'not proven: '}${describeProbe(r)}`,
    ),
    ...skipped.map((s) => `not checked: ${s}`),
  ];
}

/** Without a fleet at hand (tests, a single node): the node's own plan, with the playbook given. */
function ownPlanOnly(ctx: ApplyContext): NonNullable<ApplyContext['judge']> {
  return {
    given: {},
    source: 'fresh',
    recompute: (model, hostKey) => {
      const node = ctx.plan.node;
      return planNode(
        { node, host: ctx.plan.host, port: ctx.plan.port, hostKey },
        model,
        runControls(
          node,
          model,
          CONTROLS.filter(
            (k) =>
              DEFAULT_CONTROLS.includes(k) || ctx.plan.changes.some((c) => changeControls(c).includes(k.id)),
          ),
          ctx.now(),
        ),
        ctx.playbook,
        { node, templates: ctx.templates, ...(ctx.plan.issue?.length ? { issueCerts: true } : {}) },
        ctx.now(),
      );
    },
  };
}

function backupEntries(
  ctx: ApplyContext,
  files: Map<string, { mode?: string; uid?: number; gid?: number }>,
): BackupEntry[] {
  const entries: BackupEntry[] = ctx.plan.changes.map((c, i) => {
    const f = files.get(c.path);
    return c.action === 'modify'
      ? {
          path: c.path,
          action: 'modified',
          sha256: c.before?.sha256 ?? '',
          ...(f?.mode ? { mode: f.mode } : {}),
          ...(f?.uid !== undefined ? { uid: f.uid } : {}),
          ...(f?.gid !== undefined ? { gid: f.gid } : {}),
          copy: backupName(i),
          restart: c.restart,
        }
      : {
          path: c.path,
          action: 'created',
          sha256: c.after.sha256,
          madeDirs: madeDirsName(i),
          restart: c.restart,
        };
  });
  return entries;
}

/** What the restarted components must show: each control's gate (the kube-apiserver's new flags). */
const expectedApiserverFlags = (plan: NodePlan): string[] =>
  CONTROLS.flatMap((c) => c.gate(plan.changes).apiserverFlags);

/** The controls this plan fixed must pass on the node as it is now. */
async function reaudit(session: NodeSession, ctx: ApplyContext): Promise<NodeModel> {
  const after = nodeModel(await (ctx.gatherFacts ?? gatherFacts)(session, ctx.gather));
  const fixed = [
    ...ctx.plan.changes.flatMap(changeControls),
    ...(ctx.plan.issue ?? []).map((c) => c.control),
  ];
  const failing = runControls(
    ctx.target.name,
    after,
    CONTROLS.filter((k) => fixed.includes(k.id)),
    ctx.now(),
  ).filter((r) => r.status !== 'pass');
  if (failing.length > 0)
    throw new GateError(
      're-audit',
      `re-audit: ${failing.map((r) => `${r.control} ${r.status}: ${r.reason}`).join('; ')}`,
    );
  return after;
}

/** The commands to put a node back by hand, for when kubemend's own rollback failed. */
export function manualSteps(node: string, run: Pick<Inflight, 'files' | 'backup' | 'restarts'>): string[] {
  const steps = run.files.map((f) =>
    f.action === 'modified'
      ? `on ${node}: cp -p ${shellWord(`${run.backup}/${f.copy ?? ''}`)} ${shellWord(f.path)}   # restores the original (sha256 ${f.sha256})`
      : f.sha256
        ? `on ${node}: [ "$(sha256sum < ${shellWord(f.path)} | cut -d ' ' -f 1)" = ${f.sha256} ] && rm -f ${shellWord(f.path)}   # kubemend created it; a file with another sha256 is not kubemend's`
        : `on ${node}: ls -l ${shellWord(f.path)}   # kubemend may have created it (no sha256 recorded): check it before you remove it`,
  );
  if (run.restarts.includes('kubelet+daemon-reload')) steps.push(`on ${node}: systemctl daemon-reload`);
  if (run.restarts.some((r) => r !== 'static-pod:kube-apiserver'))
    steps.push(`on ${node}: systemctl restart kubelet`);
  steps.push(`on ${node}: rm -f ${INFLIGHT_FILE}   # once the node is healthy again`);
  return steps;
}
