import { lockHolderScript, readLockOwnerScript } from '../node/change-scripts.js';
import type { HeldCommand, NodeSession } from '../node/ssh/index.js';
import { TOOL } from '../version.js';

/** The node lock, or why it could not be taken (another run holds it, or flock is missing). */
export type LockResult = { ok: true; lock: HeldCommand } | { ok: false; reason: string; owner: string };

/** Takes the node lock for this run; released by lock.release() or when the connection drops. */
export async function takeNodeLock(session: NodeSession, runId: string, since: Date): Promise<LockResult> {
  const lock = await session.hold(
    lockHolderScript(JSON.stringify({ runId, tool: TOOL, since: since.toISOString() })),
  );
  if (lock.firstLine === 'LOCKED') return { ok: true, lock };
  await lock.release();
  if (lock.firstLine === 'NOFLOCK')
    return {
      ok: false,
      owner: '',
      reason: `flock (util-linux) is not installed on ${session.node}; kubemend needs it to lock the node`,
    };
  const owner = (await session.exec(readLockOwnerScript, { timeoutSec: 30 })).stdout.split('\n')[0] ?? '';
  return {
    ok: false,
    owner,
    reason: `${session.node} is locked by another kubemend run (${owner || 'owner unknown'}); wait for it to finish`,
  };
}
