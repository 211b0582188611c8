/**
 * Putting a node back: restoring a run's backup, restarting what it restarted, waiting for health
 * (rollback of a failed apply, `kubemend rollback`, and the recovery of a run that died mid-apply).
 */
import { nodeModel, type NodeModel } from '../facts/model.js';
import { clearInflight, readInflight, restoreFiles, type Inflight, type LeftFile } from '../node/changes.js';
import type { GatherOptions } from '../node/gather-script.js';
import { gatherFacts } from '../node/gather.js';
import { INFLIGHT_FILE } from '../node/remote.js';
import type { NodeSession } from '../node/ssh/index.js';
import { restartAndGate, snapshot, type Gate } from './restart-gate.js';

/**
 * Writes a journal line locally and, unless `onNode` is null, into that run's backup directory on
 * the node (default: the current run's).
 */
export type NodeLog = (
  event: string,
  extra?: Record<string, unknown>,
  onNode?: string | null,
) => Promise<void>;

/** What a rollback did: why it failed (undefined when the node is back and healthy), and what it left. */
export interface RolledBack {
  error?: string;
  /** Created files that were not removed because they are no longer provably kubemend's. */
  left: LeftFile[];
  /** Whether it restarted anything (false: every file was already as in the backup). */
  restarted?: boolean;
}

/** One line per created file a rollback left in place, for the user: which, why, and what to do. */
export const leftNotes = (node: string, left: readonly LeftFile[]): string[] =>
  left.map(
    (l) =>
      `${node}: left ${l.path} in place: ${l.why}; kubemend removes only what it can prove it wrote: check the file and remove it by hand if it is not wanted`,
  );

/**
 * Restores a run's backup, restarts what it restarted and waits for health; then clears the
 * inflight record if it is that run's. A created file that is not the one kubemend wrote stays
 * (journalled as left-in-place and returned): never deleted, never a silent success.
 *
 * With `unlessUnchanged`, a restore that changed nothing (every modified file already as in the
 * backup, every created file already gone: `absent` lists those found missing before the restore)
 * restarts nothing, since the running processes already have what the backup holds
 * (`kubemend rollback` of a node already put back). Without it, the restart always runs: a dead
 * run may have put its files back and died before restarting what still runs its change.
 */
export async function rollBack(
  session: NodeSession,
  run: Inflight,
  model: NodeModel,
  gate: Gate,
  log: NodeLog,
  unlessUnchanged?: { absent: readonly string[] },
): Promise<RolledBack> {
  const spec = { restarts: run.restarts, expectApiserverFlags: [] };
  let left: LeftFile[] = [];
  try {
    const before = await snapshot(session, model, spec);
    gate.onStage?.('rollback', `restoring ${run.files.length} file(s) from ${run.backup}`);
    const restored = await restoreFiles(session, run.runId, run.files);
    left = restored.left;
    const untouched = (f: Inflight['files'][number]) =>
      restored.unchanged.includes(f.path) ||
      (f.action === 'created' && !!unlessUnchanged?.absent.includes(f.path));
    if (unlessUnchanged && left.length === 0 && run.files.every(untouched)) {
      await log('nothing-to-restore', { files: run.files.map((f) => f.path), fromRun: run.runId }, run.runId);
      await clearInflight(session, run.runId, 'rollback');
      return { left, restarted: false };
    }
    // A manifest already as in the backup brings no new kube-apiserver: the one running must do.
    const manifests = run.files.filter((f) => f.restart === 'static-pod:kube-apiserver');
    if (manifests.length > 0 && manifests.every((f) => restored.unchanged.includes(f.path)))
      before.apiserverPids = [];
    await log('restored', { files: run.files.map((f) => f.path), fromRun: run.runId }, run.runId);
    for (const l of left) await log('left-in-place', { path: l.path, reason: l.why }, run.runId);
    await restartAndGate(session, spec, before, gate);
    await clearInflight(session, run.runId, 'rollback');
  } catch (e) {
    return { error: (e as Error).message, left };
  }
  await log('rolled-back', { backup: run.backup }, run.runId);
  return { left, restarted: true };
}

export type Recovery =
  | { kind: 'none' }
  | { kind: 'recovered'; run: Inflight; left: LeftFile[] }
  | { kind: 'failed'; run: Inflight; reason: string }
  | { kind: 'unreadable'; reason: string };

/**
 * Under the node lock: a run that died after writing (connection lost, kubemend killed) left its
 * inflight record. The node may hold its new files without having been restarted or verified: put
 * that run's backup back, restart, and wait for health, before anything else is judged.
 */
export async function recoverDeadRun(
  session: NodeSession,
  ctx: { node: string; gather: GatherOptions; gate: Gate; log: NodeLog; gatherFacts?: typeof gatherFacts },
): Promise<Recovery> {
  ctx.gate.onStage?.('recover');
  const dead = await readInflight(session);
  if (dead === undefined) return { kind: 'none' };
  if (dead === 'unreadable')
    return {
      kind: 'unreadable',
      reason: `${INFLIGHT_FILE} on ${ctx.node} is not a kubemend inflight record kubemend can read; inspect it (it names the backup of a run that died) and remove it`,
    };
  ctx.gate.onStage?.('recover', `run ${dead.runId} died here mid-apply: restoring its backup`);
  // Into the dead run's own journal on the node: its story ends there.
  await ctx.log(
    'recover-dead-run',
    { deadRun: dead.runId, backup: dead.backup, startedAt: dead.startedAt },
    dead.runId,
  );
  const model = nodeModel(await (ctx.gatherFacts ?? gatherFacts)(session, ctx.gather));
  const { error: failed, left } = await rollBack(session, dead, model, ctx.gate, ctx.log);
  if (failed) {
    await ctx.log('recovery-failed', { deadRun: dead.runId, reason: failed }, dead.runId);
    return {
      kind: 'failed',
      run: dead,
      reason: `run ${dead.runId} stopped mid-apply and its changes could not be rolled back: ${failed}`,
    };
  }
  await ctx.log(
    'recovered-dead-run',
    { deadRun: dead.runId, state: `restored the backup ${dead.backup}, restarted, healthy` },
    dead.runId,
  );
  return { kind: 'recovered', run: dead, left };
}
