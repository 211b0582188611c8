import type { NodeFacts } from './types.js';

/** kubemend's own state on a node (src/node/scripts/*.sh use the same paths). */
export const STATE_DIR = '/var/lib/kubemend';
/** Written while a run has changed files on the node and not yet finished; a later run finds it. */
export const INFLIGHT_FILE = `${STATE_DIR}/inflight.json`;
/**
 * The node lock and its owner record (src/node/scripts/lock.sh): root's own directory on the tmpfs
 * that boot empties, so that locking a node kubemend does not change leaves nothing on its disk.
 */
export const LOCK_DIR = '/run/kubemend';
/** The lock of kubemend versions before LOCK_DIR: held as well where it exists, never created. */
export const LEGACY_LOCK = `${STATE_DIR}/lock`;

export interface DeadRun {
  runId: string;
  startedAt: string | null;
}

/**
 * The record of a kubemend run that changed files on this node and never finished, as gathered.
 * An unreadable record is still a dead run: its id is then unknown.
 */
export function deadRunOf(facts: NodeFacts): DeadRun | undefined {
  const f = facts.files.get(INFLIGHT_FILE);
  if (!f || f.status !== 'ok' || !f.content?.trim()) return undefined;
  try {
    const v = JSON.parse(f.content) as { runId?: unknown; startedAt?: unknown };
    return {
      runId: typeof v.runId === 'string' ? v.runId : 'unknown',
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : null,
    };
  } catch {
    return { runId: 'unknown', startedAt: null };
  }
}

/** What audit and plan say about a dead run on a node. */
export const deadRunWarning = (node: string, run: DeadRun): string =>
  `a kubemend run (${run.runId}) died on ${node}${run.startedAt ? ` on ${run.startedAt}` : ''} after changing files; ` +
  `the node may hold unverified changes. The next kubemend apply or rollback on ${node} recovers it first ` +
  `(restores that run's backup, restarts, checks health)`;
