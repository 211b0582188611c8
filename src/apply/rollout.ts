import type { NodePlan } from '../plan/types.js';
import type { NodeOutcome } from './outcome.js';

/**
 * The order nodes are changed in (DESIGN.md "Rollout"): control-plane nodes one at a time and
 * first, then the others in batches of `serial`. Pure: the caller runs each batch.
 */
export function rolloutBatches<T extends Pick<NodePlan, 'role'>>(nodes: readonly T[], serial: number): T[][] {
  const cp = nodes.filter((n) => n.role === 'control-plane');
  const rest = nodes.filter((n) => n.role !== 'control-plane');
  const batches: T[][] = cp.map((n) => [n]);
  for (let i = 0; i < rest.length; i += serial) batches.push(rest.slice(i, i + serial));
  return batches;
}

/**
 * The batch size for the nodes that are not control planes: `--serial` when given, else the
 * smallest `rollout.serial` of the playbooks of the nodes to change (a playbook asking for care
 * wins), else 1.
 */
export function rolloutSerial(cli: number | undefined, playbookSerials: readonly number[]): number {
  if (cli !== undefined) return cli;
  return playbookSerials.length > 0 ? Math.min(...playbookSerials) : 1;
}

/** `--not-after`: a clock time today (HH:MM, 24h, local) or an ISO date-time. */
export function parseNotAfter(value: string, now: Date): Date | undefined {
  const hm = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (hm) {
    const d = new Date(now);
    d.setHours(Number(hm[1]), Number(hm[2]), 0, 0);
    return d;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * The nodes the recovery pass locks before the rollout: every node this run may touch but will not
 * change, and the nodes to change whose plan was made on top of a dead run's files when they can be
 * planned again (`canReplan`: not a saved plan). Pure.
 */
export const recoverFirstOf = <T extends { plan: NodePlan }>(
  planned: readonly T[],
  canReplan: boolean,
): T[] =>
  planned.filter(
    (p) => p.plan.status !== 'error' && (p.plan.status !== 'change' || (p.plan.deadRun && canReplan)),
  );

/** What a rollout will do, before any node is changed. */
export interface Rollout<T> {
  /** The outcome of every planned node that is not changed and was not handled already. */
  settled: NodeOutcome[];
  /** The nodes to change, in plan order. */
  toChange: T[];
  /** The same nodes in the order they are changed (rolloutBatches). */
  batches: T[][];
}

/**
 * The rollout, assembled from the plan (a saved plan file's, or one made now) and what the
 * recovery pass already answered: which nodes change, in which batches, and what the others come
 * to. Pure (changesets' assembleReleasePlan): runApply only carries it out.
 */
export function assembleRollout<T extends { plan: NodePlan }>(
  planned: readonly T[],
  opts: {
    /** Nodes the recovery pass already gave an outcome. */
    handled: ReadonlySet<string>;
    /** The rollout does not start (a dead run could not be recovered): no node changes. */
    stopped: boolean;
    /** --serial, when given. */
    serial: number | undefined;
    /** The `rollout.serial` of a node's playbook. */
    serialOf: (item: T) => number;
  },
): Rollout<T> {
  const settled: NodeOutcome[] = [];
  for (const { plan } of planned) {
    if (opts.handled.has(plan.node)) continue;
    if (plan.status === 'compliant') settled.push({ node: plan.node, status: 'compliant' });
    if (plan.status === 'blocked')
      settled.push({
        node: plan.node,
        status: 'blocked',
        reason: plan.blocked.map((b) => `${b.control}: ${b.reason}`).join('; '),
      });
    if (plan.status === 'error')
      settled.push({ node: plan.node, status: 'error', reason: plan.error ?? 'could not be planned' });
  }
  const toChange = opts.stopped
    ? []
    : planned.filter((p) => p.plan.status === 'change' && !opts.handled.has(p.plan.node));
  const serial = rolloutSerial(opts.serial, toChange.map(opts.serialOf));
  const byRole = rolloutBatches(
    toChange.map((item) => ({ item, role: item.plan.role })),
    serial,
  );
  return { settled, toChange, batches: byRole.map((b) => b.map((x) => x.item)) };
}
