import { CONTROLS, runControls } from '../controls/index.js';
import { NodeError } from '../errors.js';
import { takeNodeLock } from './lock.js';
import { manifestFlags } from '../facts/apiserver.js';
import { lastFlag } from '../facts/flags.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import type { NodeTarget } from '../inventory/types.js';
import {
  appendNodeJournalScript,
  backupName,
  backupScript,
  BACKUP_ROOT,
  INFLIGHT_FILE,
  issueScript,
  metadataScript,
  restoreScript,
  writeScript,
  type BackupEntry,
  type FileToWrite,
} from '../node/change-scripts.js';
import type { GatherOptions } from '../node/gather-script.js';
import { gatherFacts } from '../node/gather.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import type { Templates } from '../plan/change.js';
import { planNode } from '../plan/planner.js';
import type { NodePlan, PlannedChange } from '../plan/types.js';
import { TOOL, VERSION } from '../version.js';
import type { Clock } from './clock.js';
import {
  apiserverLivezUrl,
  apiserverState,
  kubeletHealthzUrl,
  kubeletState,
  waitApiserverHealthy,
  waitKubeletHealthy,
  type KubeletState,
} from './health.js';
import type { Journal } from './journal.js';

export type NodeOutcome =
  | { node: string; status: 'applied'; backup: string; changed: string[] }
  | { node: string; status: 'compliant' }
  | { node: string; status: 'stale'; reason: string }
  | { node: string; status: 'blocked'; reason: string }
  | { node: string; status: 'skipped'; reason: string }
  | { node: string; status: 'rolled-back'; reason: string; backup: string; evidence: string[] }
  | { node: string; status: 'rollback-failed'; reason: string; backup: string; manual: string[] }
  | { node: string; status: 'error'; reason: string };

export type Stage =
  | 'lock'
  | 'preflight'
  | 'backup'
  | 'issue'
  | 'write'
  | 'restart'
  | 'health'
  | 're-audit'
  | 'rollback'
  | 'done';

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
  onStage: (stage: Stage, detail?: string) => void;
}

export interface Inflight {
  runId: string;
  tool: string;
  startedAt: string;
  backup: string;
  restarts: PlannedChange['restart'][];
  files: BackupEntry[];
}

class Step extends Error {
  constructor(
    message: string,
    readonly evidence: string[] = [],
  ) {
    super(message);
  }
}

/** Applies one node's planned changes under its lock; every failure after the first write rolls back. */
export async function applyNode(session: NodeSession, ctx: ApplyContext): Promise<NodeOutcome> {
  const node = ctx.target.name;
  const log = async (event: string, extra: Record<string, unknown> = {}, onNode = true) => {
    const line = ctx.journal.write({ runId: ctx.runId, node, event, ...extra });
    if (onNode)
      await session.exec(appendNodeJournalScript(ctx.runId, line), { timeoutSec: 30 }).catch(() => undefined);
  };

  ctx.onStage('lock');
  const taken = await takeNodeLock(session, ctx.runId, ctx.now());
  if (!taken.ok) {
    if (taken.owner) await log('refused-locked', { owner: taken.owner }, false);
    return { node, status: 'error', reason: taken.reason };
  }
  try {
    const recovered = await recoverDeadRun(session, ctx, log);
    if (recovered) return recovered;
    return await applyLocked(session, ctx, log);
  } finally {
    await taken.lock.release();
  }
}

type Log = (event: string, extra?: Record<string, unknown>, onNode?: boolean) => Promise<void>;

/**
 * A run that died after writing (connection lost, Ctrl-C twice) leaves its inflight record behind.
 * The node may hold the new files without having been restarted or verified: put the backups back,
 * restart, and wait for health, so this run starts from the state its plan was made against.
 */
async function recoverDeadRun(
  session: NodeSession,
  ctx: ApplyContext,
  log: Log,
): Promise<NodeOutcome | undefined> {
  const r = await session.exec(`cat ${INFLIGHT_FILE} 2>/dev/null`, { timeoutSec: 30 });
  if (!r.stdout.trim()) return undefined;
  let dead: Inflight;
  try {
    dead = JSON.parse(r.stdout) as Inflight;
  } catch {
    return {
      node: ctx.target.name,
      status: 'error',
      reason: `${INFLIGHT_FILE} on ${ctx.target.name} is unreadable; inspect it and remove it`,
    };
  }
  ctx.onStage('rollback', `finishing run ${dead.runId}, which stopped mid-apply`);
  await log('recover-dead-run', { deadRun: dead.runId, backup: dead.backup });
  const facts = await gatherFacts(session, ctx.gather);
  const outcome = await rollBack(session, dead, nodeModel(facts), gateOf(ctx), log);
  if (outcome) {
    return {
      node: ctx.target.name,
      status: 'rollback-failed',
      reason: `run ${dead.runId} stopped mid-apply and its changes could not be rolled back: ${outcome}`,
      backup: dead.backup,
      manual: manualSteps(ctx.target.name, dead),
    };
  }
  await log('recovered-dead-run', { deadRun: dead.runId, state: 'rolled back to the backup of that run' });
  return undefined;
}

async function applyLocked(session: NodeSession, ctx: ApplyContext, log: Log): Promise<NodeOutcome> {
  const node = ctx.target.name;
  const changes = ctx.plan.changes;
  if (changes.length === 0 && !ctx.plan.issue?.length) return { node, status: 'compliant' };

  // Preflight again, on fresh facts: nothing is written when it fails.
  ctx.onStage('preflight');
  const facts = await gatherFacts(session, {
    ...ctx.gather,
    extraFiles: [...(ctx.gather.extraFiles ?? []), ...changes.map((c) => c.path)],
  });
  for (const c of changes) {
    const f = facts.files.get(c.path);
    if (c.action === 'create' && f && f.status !== 'missing')
      return stale(node, `${c.path} exists now, but the plan creates it`, log);
    if (c.action === 'modify') {
      if (!f || f.status !== 'ok') return stale(node, `${c.path} no longer exists or is unreadable`, log);
      if (f.sha256 !== c.before?.sha256) return stale(node, `${c.path} changed since the plan was made`, log);
    }
  }
  const model = nodeModel(facts, { ...(ctx.plan.layout ? { layout: ctx.plan.layout } : {}) });
  const now = ctx.now();
  const fresh = planNode(
    { node, host: ctx.plan.host, port: ctx.plan.port, hostKey: ctx.plan.hostKey },
    model,
    runControls(node, model, CONTROLS, now),
    ctx.playbook,
    { node, templates: ctx.templates, issueCerts: (ctx.plan.issue?.length ?? 0) > 0 },
    now,
  );
  for (const i of ctx.plan.issue ?? []) {
    if (!fresh.issue?.some((f) => f.certificate === i.certificate && f.key === i.key && f.caKey === i.caKey))
      return {
        node,
        status: 'blocked',
        reason: `preflight: ${i.certificate} can no longer be issued as planned (${fresh.blocked.map((b) => b.reason).join('; ') || 'the node changed'}); plan again`,
      };
  }
  for (const c of changes) {
    const blocked = fresh.blocked.find((b) => b.control === c.control);
    if (blocked) {
      await log('preflight-failed', { reason: blocked.reason }, false);
      return { node, status: 'blocked', reason: `preflight: ${blocked.reason} (way out: ${blocked.fix})` };
    }
    if (!fresh.changes.some((f) => f.path === c.path && f.after.sha256 === c.after.sha256)) {
      await log('preflight-failed', { reason: 'plan differs', path: c.path }, false);
      return {
        node,
        status: 'blocked',
        reason: `preflight: kubemend would no longer write ${c.path} as planned (the node's certificates or settings changed); plan again`,
      };
    }
  }

  // Backup (with the disk space check): exit 4 = stale at the last moment, 28 = no space.
  ctx.onStage('backup');
  const backup = `${BACKUP_ROOT}/${ctx.runId}`;
  const files: FileToWrite[] = changes.map((c) => ({
    path: c.path,
    action: c.action,
    beforeSha256: c.before?.sha256 ?? null,
    content: c.after.content,
    afterSha256: c.after.sha256,
  }));
  const entries: BackupEntry[] = changes.map((c, i) => {
    const f = facts.files.get(c.path);
    return c.action === 'modify'
      ? {
          path: c.path,
          action: 'modified',
          sha256: c.before?.sha256 ?? '',
          ...(f?.mode ? { mode: f.mode } : {}),
          ...(f?.uid !== undefined ? { uid: f.uid } : {}),
          ...(f?.gid !== undefined ? { gid: f.gid } : {}),
          copy: backupName(i, c.path),
          restart: c.restart,
        }
      : { path: c.path, action: 'created', sha256: c.after.sha256, restart: c.restart };
  });
  for (const i of ctx.plan.issue ?? [])
    for (const path of [i.key, i.certificate])
      entries.push({ path, action: 'created', sha256: '', restart: 'static-pod:kube-apiserver' });
  const metadata = {
    id: ctx.runId,
    createdAt: ctx.now().toISOString(),
    tool: TOOL,
    version: VERSION,
    node,
    files: entries,
  };
  const b = await session.exec(backupScript(ctx.runId, files, metadata), { timeoutSec: 120 });
  if (b.code === 4) return stale(node, b.stdout.trim().replace(/^(STALE|EXISTS) /, ''), log);
  if (b.code === 5) {
    const why = b.stdout.trim().replace(/^LINK /, '');
    await log('preflight-failed', { reason: why }, false);
    return { node, status: 'blocked', reason: `preflight: ${why}` };
  }
  if (b.code !== 0 || !b.stdout.includes('BACKED-UP')) {
    const why = (b.stdout + b.stderr).trim().replace(/^NOSPACE /, '') || `exit ${b.code ?? 'signal'}`;
    await log('backup-failed', { reason: why }, false);
    return { node, status: 'blocked', reason: `backup failed, nothing was changed: ${why}` };
  }
  await log('backed-up', { backup, files: entries.map((e) => e.path) });

  const restarts = [...new Set(changes.map((c) => c.restart))];
  const inflight: Inflight = {
    runId: ctx.runId,
    tool: TOOL,
    startedAt: ctx.now().toISOString(),
    backup,
    restarts,
    files: entries,
  };
  const url = kubeletHealthzUrl(model);
  const beforeKubelet = await kubeletState(session, url).catch(() => undefined);
  const manifestChange = changes.find((c) => c.restart === 'static-pod:kube-apiserver');
  const livezUrl = apiserverLivezUrl(model.apiserver.manifest?.flags ?? []);
  const beforePids = manifestChange
    ? (await apiserverState(session, livezUrl)).processes.map((p) => p.pid)
    : [];

  try {
    for (const i of ctx.plan.issue ?? []) {
      ctx.onStage('issue', i.certificate);
      const r = await session.exec(issueScript(ctx.runId, i), { timeoutSec: 120 });
      const m = /^ISSUED (\S+) (\S+)$/m.exec(r.stdout);
      if (!m) throw new Step(`issuing ${i.certificate} failed: ${(r.stdout + r.stderr).trim()}`);
      for (const e of entries) if (e.path === i.certificate) e.sha256 = m[1] ?? '';
      for (const e of entries) if (e.path === i.key) e.sha256 = m[2] ?? '';
      await session.exec(metadataScript(ctx.runId, { ...metadata, files: entries }), { timeoutSec: 30 });
      await log('issued', { certificate: i.certificate, key: i.key, signedBy: i.caCertificate });
    }
    ctx.onStage('write');
    const w = await session.exec(writeScript(ctx.runId, files, inflight), { timeoutSec: 120 });
    if (w.code !== 0 || !w.stdout.includes('WRITTEN'))
      throw new Step(`writing failed: ${(w.stdout + w.stderr).trim()}`);
    await log('written', { files: files.map((f) => f.path) });

    await restartAndWait(session, ctx, {
      restarts,
      url,
      beforeKubelet,
      manifestChange,
      livezUrl,
      beforePids,
    });

    ctx.onStage('re-audit');
    const after = nodeModel(await gatherFacts(session, ctx.gather));
    const results = runControls(
      node,
      after,
      CONTROLS.filter((k) => [...changes, ...(ctx.plan.issue ?? [])].some((c) => c.control === k.id)),
      ctx.now(),
    );
    const failing = results.filter((r) => r.status !== 'pass');
    if (failing.length > 0)
      throw new Step(`re-audit: ${failing.map((r) => `${r.control} ${r.status}: ${r.reason}`).join('; ')}`);
    await session.exec(`rm -f ${INFLIGHT_FILE}`, { timeoutSec: 30 });
    await log('applied', { backup });
    ctx.onStage('done');
    return { node, status: 'applied', backup, changed: files.map((f) => f.path) };
  } catch (e) {
    const reason = e instanceof Step ? e.message : (e as Error).message;
    const evidence = e instanceof Step ? e.evidence : [];
    if (e instanceof NodeError && (e.kind === 'unreachable' || e.kind === 'timeout')) {
      // Nothing more can be done from here. The node holds the written files (the write script is
      // all-or-stop), possibly not yet restarted; its inflight record makes the next run roll back.
      const state = `connection lost after the backup (${backup}); the node may hold the new files, not yet verified; the next kubemend run on ${node} restores the backup first, or run: kubemend rollback --node ${node} --backup ${ctx.runId}`;
      ctx.journal.write({ runId: ctx.runId, node, event: 'connection-lost', reason, state });
      return { node, status: 'error', reason: `${reason}; ${state}` };
    }
    await log('failed', { reason }).catch(() => undefined);
    ctx.onStage('rollback', reason);
    const rollbackError = await rollBack(session, inflight, model, gateOf(ctx), log).catch(
      (err: Error) => err.message,
    );
    if (rollbackError)
      return {
        node,
        status: 'rollback-failed',
        reason: `${reason}; rollback failed: ${rollbackError}`,
        backup,
        manual: manualSteps(node, inflight),
      };
    return {
      node,
      status: 'rolled-back',
      reason,
      backup,
      evidence: [...evidence, ...(await kubeletJournal(session, inflight.startedAt))],
    };
  }
}

async function stale(node: string, reason: string, log: Log): Promise<NodeOutcome> {
  await log('refused-stale', { reason }, false);
  return { node, status: 'stale', reason };
}

async function restartAndWait(
  session: NodeSession,
  ctx: ApplyContext,
  s: {
    restarts: PlannedChange['restart'][];
    url: string | null;
    beforeKubelet: KubeletState | undefined;
    manifestChange: PlannedChange | undefined;
    livezUrl: string;
    beforePids: number[];
  },
): Promise<void> {
  const t = ctx.playbook.timeouts;
  if (s.restarts.some((r) => r !== 'static-pod:kube-apiserver')) {
    ctx.onStage('restart', 'kubelet');
    if (s.restarts.includes('kubelet+daemon-reload')) await mustRun(session, 'systemctl daemon-reload');
    const before = s.beforeKubelet ?? (await kubeletState(session, s.url));
    await mustRun(session, 'systemctl restart kubelet');
    ctx.onStage('health', 'kubelet');
    const h = await waitKubeletHealthy(session, {
      before,
      url: s.url,
      timeoutSec: t.kubeletHealthySec,
      stableSec: t.kubeletStableSec,
      clock: ctx.clock,
    });
    if (!h.ok) throw new Step(h.reason);
  }
  if (s.manifestChange) {
    ctx.onStage('health', 'kube-apiserver');
    const flags = manifestFlags(s.manifestChange.path, s.manifestChange.after.content)?.flags ?? [];
    const expect = ['kubelet-client-certificate', 'kubelet-client-key']
      .map((n) => lastFlag(flags, n))
      .filter((f) => f !== undefined)
      .map((f) => `--${f.name}=${f.value}`);
    const h = await waitApiserverHealthy(session, {
      beforePids: s.beforePids,
      expect,
      livezUrl: s.livezUrl,
      timeoutSec: t.apiserverRestartSec,
      clock: ctx.clock,
    });
    if (!h.ok) throw new Step(h.reason);
  }
}

async function mustRun(session: NodeSession, command: string): Promise<void> {
  const r = await session.exec(command, { timeoutSec: 120 });
  if (r.code !== 0) throw new Step(`'${command}' failed: ${r.stderr.trim() || `exit ${r.code ?? 'signal'}`}`);
}

/** Restores a run's backup, restarts what it restarted, and waits for health. Returns an error text, or undefined. */
const gateOf = (ctx: ApplyContext): Gate => ({ timeouts: ctx.playbook.timeouts, clock: ctx.clock });

export interface Gate {
  timeouts: Playbook['timeouts'];
  clock: Clock;
}

export async function rollBack(
  session: NodeSession,
  run: Inflight,
  model: NodeModel,
  gate: Gate,
  log: Log,
): Promise<string | undefined> {
  const livezUrl = apiserverLivezUrl(model.apiserver.manifest?.flags ?? []);
  const manifestRestored = run.restarts.includes('static-pod:kube-apiserver');
  // The restored manifest must bring up a new process: remember the ones running now.
  const beforePids = manifestRestored
    ? (await apiserverState(session, livezUrl)).processes.map((p) => p.pid)
    : [];
  const r = await session.exec(restoreScript(run.runId, run.files), { timeoutSec: 120 });
  if (r.code !== 0 || !r.stdout.includes('RESTORE-DONE'))
    return (r.stdout + r.stderr).trim() || `exit ${r.code ?? 'signal'}`;
  await log('restored', { files: run.files.map((f) => f.path), fromRun: run.runId });
  const url = kubeletHealthzUrl(model);
  const t = gate.timeouts;
  try {
    if (run.restarts.some((x) => x !== 'static-pod:kube-apiserver')) {
      if (run.restarts.includes('kubelet+daemon-reload')) await mustRun(session, 'systemctl daemon-reload');
      const before = await kubeletState(session, url);
      await mustRun(session, 'systemctl restart kubelet');
      const h = await waitKubeletHealthy(session, {
        before,
        url,
        timeoutSec: t.kubeletHealthySec,
        stableSec: t.kubeletStableSec,
        clock: gate.clock,
      });
      if (!h.ok) return `after restoring: ${h.reason}`;
    }
    if (manifestRestored) {
      const h = await waitApiserverHealthy(session, {
        beforePids,
        expect: [],
        livezUrl,
        timeoutSec: t.apiserverRestartSec,
        clock: gate.clock,
      });
      if (!h.ok) return `after restoring: ${h.reason}`;
    }
  } catch (e) {
    return (e as Error).message;
  }
  await session.exec(`rm -f ${INFLIGHT_FILE}`, { timeoutSec: 30 });
  await log('rolled-back', { backup: run.backup });
  return undefined;
}

async function kubeletJournal(session: NodeSession, since: string): Promise<string[]> {
  const r = await session
    .exec(
      `journalctl -u kubelet --since '${since.replace('T', ' ').replace(/\..*$/, '')}' -n 40 --no-pager -o cat 2>/dev/null`,
      {
        timeoutSec: 30,
      },
    )
    .catch(() => undefined);
  return (r?.stdout ?? '').split('\n').filter(Boolean).slice(-40);
}

export function manualSteps(node: string, run: Pick<Inflight, 'files' | 'backup' | 'restarts'>): string[] {
  const steps = run.files.map((f) =>
    f.action === 'modified'
      ? `on ${node}: cp -p ${run.backup}/${f.copy ?? ''} ${f.path}   # restores the original (sha256 ${f.sha256})`
      : `on ${node}: rm -f ${f.path}   # kubemend created it`,
  );
  if (run.restarts.includes('kubelet+daemon-reload')) steps.push(`on ${node}: systemctl daemon-reload`);
  if (run.restarts.some((r) => r !== 'static-pod:kube-apiserver'))
    steps.push(`on ${node}: systemctl restart kubelet`);
  steps.push(`on ${node}: rm -f ${INFLIGHT_FILE}   # once the node is healthy again`);
  return steps;
}
