/**
 * Recovery first, for the nodes a run may touch but will not change: each is locked, and a run that
 * died on it is rolled back and health-gated, before the node is reported compliant or blocked.
 */
import type { NodeTarget } from '../inventory/types.js';
import type { GatherOptions } from '../node/gather-script.js';
import { mapLimit, withSession, type SessionOptions } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import type { NodePlan } from '../plan/types.js';
import type { Clock } from './clock.js';
import type { Journal } from './journal.js';
import { lockAndRecover, nodeLog } from './locked.js';
import { manualSteps } from './node-apply.js';
import { failureReason, internalMark } from './outcome.js';
import type { RecoveryResult } from './node-outcome.js';
import { leftNotes } from './recover.js';

export type { RecoveryResult };

export interface RecoveryContext {
  runId: string;
  journal: Journal;
  clock: Clock;
  now: () => Date;
  concurrency: number;
  session: SessionOptions;
  playbookOf: (plan: NodePlan, target: NodeTarget) => Playbook;
  gatherOf: (playbook: Playbook) => GatherOptions;
  onStage: (node: string, stage: string, detail?: string, gate?: { timeoutSec: number }) => void;
}

export async function recoverFirst(
  items: readonly { plan: NodePlan; target: NodeTarget }[],
  ctx: RecoveryContext,
): Promise<Map<string, RecoveryResult>> {
  const results = await mapLimit([...items], ctx.concurrency, async ({ plan, target }) => {
    const node = target.name;
    const result = await withSession(target, ctx.session, async (session): Promise<RecoveryResult> => {
      const playbook = ctx.playbookOf(plan, target);
      ctx.onStage(node, 'lock');
      return lockAndRecover<RecoveryResult>(
        session,
        {
          runId: ctx.runId,
          now: ctx.now,
          log: nodeLog(ctx.journal, session, { runId: ctx.runId, node }, null),
          recover: {
            node,
            gather: ctx.gatherOf(playbook),
            gate: {
              timeouts: playbook.timeouts,
              clock: ctx.clock,
              onStage: (stage, detail, gate) => ctx.onStage(node, stage, detail, gate),
            },
          },
          refused: (reason) => ({ status: 'locked', outcome: { node, status: 'error', reason } }),
        },
        async (r) => {
          switch (r.kind) {
            case 'none':
              return { status: 'none' };
            case 'unreadable':
              return { status: 'error', outcome: { node, status: 'error', reason: r.reason } };
            case 'failed':
              return {
                status: 'failed',
                outcome: {
                  node,
                  status: 'rollback-failed',
                  reason: r.reason,
                  backup: r.run.backup,
                  manual: manualSteps(node, r.run),
                },
              };
            case 'recovered':
              return {
                status: 'recovered',
                outcome: {
                  node,
                  status: 'recovered',
                  deadRun: r.run.runId,
                  reason: [
                    `run ${r.run.runId} had died here mid-apply; its backup was restored, the node restarted and is healthy${
                      plan.status === 'change'
                        ? ''
                        : `; nothing else changed (plan again to see what ${node} needs now)`
                    }`,
                    ...leftNotes(node, r.left),
                  ].join('; '),
                },
              };
          }
        },
      );
    }).catch((e: unknown): RecoveryResult => ({
      status: 'error',
      outcome: { node, status: 'error', reason: failureReason(e), ...internalMark(e) },
    }));
    return [node, result] as const;
  });
  return new Map(results);
}
