/**
 * "Lock, recover, release", written once for apply, the recovery pass and `kubemend rollback`:
 * take the node lock, roll back a run that died on the node, run the caller's steps, and release
 * the lock whatever happens. Nothing is judged or changed on a node before a dead run is undone.
 */
import type { NodeSession } from '../node/ssh/index.js';
import { appendNodeJournal } from '../node/changes.js';
import type { Journal } from './journal.js';
import { takeNodeLock } from './lock.js';
import { recoverDeadRun, type NodeLog, type Recovery } from './recover.js';

/**
 * A run's journal on one node: each line locally and, unless `onNode` is null, into that run's
 * backup directory on the node (default: `defaultOnNode`; null: local only).
 */
export function nodeLog(
  journal: Journal,
  session: NodeSession,
  run: { runId: string; node: string },
  defaultOnNode: string | null,
): NodeLog {
  return async (event, extra = {}, onNode = defaultOnNode) => {
    const line = journal.write({ runId: run.runId, node: run.node, event, ...extra });
    if (onNode) await appendNodeJournal(session, onNode, line).catch(() => undefined);
  };
}

export interface LockedRun<T> {
  runId: string;
  now: () => Date;
  log: NodeLog;
  /** How a dead run is recovered (its facts, its health gate). */
  recover: Omit<Parameters<typeof recoverDeadRun>[1], 'log'>;
  /** The node is locked by another run (or cannot be locked): the caller's answer. */
  refused: (reason: string, owner: string) => T;
  /**
   * A failure of the recovery or of the steps (an error thrown, not an answer returned): the caller's
   * answer, with the lock still held. Without it the error is thrown on, after the lock is released.
   */
  failed?: (e: unknown) => Promise<T>;
}

/** Runs `steps` under the node lock, after any dead run on the node was recovered. */
export async function lockAndRecover<T>(
  session: NodeSession,
  run: LockedRun<T>,
  steps: (recovery: Recovery) => Promise<T>,
): Promise<T> {
  const taken = await takeNodeLock(session, run.runId, run.now());
  if (!taken.ok) {
    await run.log('refused-locked', { owner: taken.owner, reason: taken.reason }, null);
    return run.refused(taken.reason, taken.owner);
  }
  try {
    const recovery = await recoverDeadRun(session, { ...run.recover, log: run.log });
    return await steps(recovery);
  } catch (e) {
    if (!run.failed) throw e;
    return await run.failed(e);
  } finally {
    await taken.lock.release();
  }
}
