import { hostname, userInfo } from 'node:os';
import { LEGACY_LOCK } from '../facts/kubemend-state.js';
import { holdLock, lockOwner } from '../node/changes.js';
import type { HeldCommand, NodeSession } from '../node/ssh/index.js';
import { TOOL } from '../version.js';

/** Who holds a node's lock, as the holder wrote it on the node. */
export interface LockOwner {
  runId: string;
  tool: string;
  since: string;
  /** user@host of the controller that runs kubemend. */
  by?: string;
}

/** The node lock, or why it could not be taken (another run holds it, or a tool is missing). */
export type LockResult = { ok: true; lock: HeldCommand } | { ok: false; reason: string; owner: string };

function controllerIdentity(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid (a container): keep "unknown"
  }
  return `${user}@${hostname()}`;
}

/** A lock owner record in words: "run R (kubemend 0.1.0) started 2026-12-03 08:40:12 UTC by root@ops-1". */
export function describeOwner(raw: string): string {
  let o: Partial<LockOwner>;
  try {
    o = JSON.parse(raw) as Partial<LockOwner>;
  } catch {
    return 'a kubemend run whose owner record is unreadable';
  }
  const since = typeof o.since === 'string' ? o.since.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '';
  return [
    `run ${typeof o.runId === 'string' ? o.runId : 'unknown'}`,
    typeof o.tool === 'string' ? `(${o.tool})` : '',
    since ? `started ${since}` : '',
    typeof o.by === 'string' ? `by ${o.by}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Takes the node lock for this run; released by lock.release() or when the connection drops. */
export async function takeNodeLock(session: NodeSession, runId: string, since: Date): Promise<LockResult> {
  const owner: LockOwner = { runId, tool: TOOL, since: since.toISOString(), by: controllerIdentity() };
  const { held: lock, answer } = await holdLock(session, JSON.stringify(owner));
  const flooded = lock.failure?.();
  if (answer.kind === 'locked' && !flooded) return { ok: true, lock };
  await lock.release();
  if (flooded) return { ok: false, owner: '', reason: flooded };
  if (answer.kind === 'missing')
    return {
      ok: false,
      owner: '',
      reason: `${answer.tool} is not installed on ${session.node}; kubemend needs it to lock the node`,
    };
  if (answer.kind === 'unsafe-dir') return { ok: false, owner: '', reason: `${session.node}: ${answer.why}` };
  const legacy = answer.kind === 'legacy';
  const raw = await lockOwner(session, legacy ? 'legacy' : 'current').catch(() => '');
  const run = raw ? describeOwner(raw) : 'run';
  const holder = legacy ? `an older kubemend ${run} (its lock is ${LEGACY_LOCK})` : `another kubemend ${run}`;
  return {
    ok: false,
    owner: raw,
    reason: `${session.node} is locked by ${holder}; wait for it to finish (the lock of a run that died frees itself within 20 s)`,
  };
}
