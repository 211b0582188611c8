import type { NodePlan } from '../plan/types.js';
import type { NodeOutcome, RecoveryResult } from './node-outcome.js';

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
  /**
   * The nodes the plan would change, also when the rollout does not start: each one without an
   * outcome at the end is reported skipped with the reason, never left out of the report.
   */
  wouldChange: T[];
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
  const wouldChange = planned.filter((p) => p.plan.status === 'change' && !opts.handled.has(p.plan.node));
  const toChange = opts.stopped ? [] : wouldChange;
  const serial = rolloutSerial(opts.serial, toChange.map(opts.serialOf));
  const byRole = rolloutBatches(
    toChange.map((item) => ({ item, role: item.plan.role })),
    serial,
  );
  return { settled, toChange, wouldChange, batches: byRole.map((b) => b.map((x) => x.item)) };
}

/** Why no further node is started; `cancelled` when the user stopped the run (exit 130). */
export interface Halt {
  reason: string;
  cancelled: boolean;
}

/**
 * What the recovery pass's answers come to: the outcomes reported now, the nodes to plan again
 * (recovered under a plan that was made on top of the dead run's files), the dead run undone on
 * each of those, and the halt when a dead run could not be put back (the rollout does not start).
 */
export function afterRecovery<T extends { plan: NodePlan }>(
  planned: readonly T[],
  results: ReadonlyMap<string, RecoveryResult>,
  canReplan: boolean,
): { outcomes: NodeOutcome[]; again: Set<string>; recoveredRuns: Map<string, string>; halt?: Halt } {
  const outcomes: NodeOutcome[] = [];
  const again = new Set<string>();
  const recoveredRuns = new Map<string, string>();
  for (const [name, r] of results) {
    if (r.status === 'none') continue;
    const item = planned.find((p) => p.plan.node === name)!;
    // Planned here on top of the dead run's files (whatever that plan said): plan it again.
    if (r.status === 'recovered' && (canReplan || item.plan.status === 'change')) {
      again.add(name);
      if (r.outcome.status === 'recovered') recoveredRuns.set(name, r.outcome.deadRun);
      continue;
    }
    outcomes.push(r.outcome);
  }
  const failed = outcomes.some((o) => o.status === 'rollback-failed');
  return {
    outcomes,
    again,
    recoveredRuns,
    ...(failed
      ? {
          halt: {
            reason:
              'recovering a dead run failed: the rollout did not start; recover that node by hand (steps above)',
            cancelled: false,
          },
        }
      : {}),
  };
}

/**
 * Before the next node is started: Ctrl-C was pressed, or --not-after has passed (`now` is read
 * only when there is a --not-after).
 */
export function haltBefore(s: {
  interrupted: boolean;
  notAfter?: { at: Date; given: string };
  now: () => Date;
}): Halt | undefined {
  if (s.interrupted) return { reason: 'interrupted (Ctrl-C): no further node was started', cancelled: true };
  if (s.notAfter && s.now() > s.notAfter.at)
    return {
      reason: `--not-after ${s.notAfter.given} has passed: no further node was started`,
      cancelled: false,
    };
  return undefined;
}

/** The answer at a node's prompt: go on with it, skip it (its outcome), or abort the rollout. */
export function promptAnswer(
  node: string,
  answer: 'apply' | 'skip' | 'abort',
): { go: true } | { skip: NodeOutcome } | { halt: Halt } {
  if (answer === 'abort')
    return { halt: { reason: 'aborted at the prompt: no further node was started', cancelled: true } };
  if (answer === 'skip') return { skip: { node, status: 'skipped', reason: 'skipped at the prompt' } };
  return { go: true };
}

/** Whether a node's outcome counts as changed-and-proven for the nodes after it (trust gate, judge). */
const landed = (o: NodeOutcome) => o.status === 'applied' || o.status === 'already-applied';

/**
 * A batch's results: each outcome as reported (marked with the dead run it was applied over), the
 * nodes now applied and those that failed, and the halt when the rollout stops here: a rollback
 * failed, or a node did not apply cleanly without --keep-going.
 */
export function afterBatch(
  results: readonly NodeOutcome[],
  recoveredRuns: ReadonlyMap<string, string>,
  keepGoing: boolean,
): { outcomes: NodeOutcome[]; applied: string[]; failed: string[]; halt?: Halt } {
  const outcomes = results.map((found) => {
    const dead = recoveredRuns.get(found.node);
    return dead && (found.status === 'applied' || found.status === 'compliant')
      ? { ...found, recovered: dead }
      : found;
  });
  const applied = results.filter(landed).map((o) => o.node);
  const failed = results.filter((o) => !landed(o)).map((o) => o.node);
  const stop = (reason: string) => ({ outcomes, applied, failed, halt: { reason, cancelled: false } });
  if (results.some((r) => r.status === 'rollback-failed'))
    return stop('a rollback failed: the rollout stopped; recover that node by hand (steps above)');
  if (
    !keepGoing &&
    results.some((r) => !['applied', 'already-applied', 'compliant', 'skipped'].includes(r.status))
  )
    return stop(
      'stopped at the first node that did not apply cleanly (use --keep-going to continue past failures)',
    );
  return { outcomes, applied, failed };
}

/**
 * The end of the rollout: every node to change that has no outcome is skipped (with the halt's
 * reason); a halt is news only when a node was really left unstarted or the user stopped the run;
 * Ctrl-C while the last nodes were in flight (they finished or rolled back first) cancels the run.
 */
export function endOfRollout(s: {
  outcomes: readonly NodeOutcome[];
  toChange: readonly string[];
  halt: Halt | undefined;
  interrupted: boolean;
}): { notStarted: NodeOutcome[]; halt: Halt | undefined } {
  const notStarted: NodeOutcome[] = s.toChange
    .filter((node) => !s.outcomes.some((o) => o.node === node))
    .map((node) => ({ node, status: 'skipped', reason: s.halt?.reason ?? 'not started' }));
  let halt = notStarted.length === 0 && !s.halt?.cancelled ? undefined : s.halt;
  if (s.interrupted && !halt?.cancelled)
    halt = {
      reason: 'interrupted while the last node was in flight: it was finished (or rolled back) first',
      cancelled: true,
    };
  return { notStarted, halt };
}

/**
 * The outcomes that get an error line on stderr: a node that could not be reached or put back,
 * unless the live board already left that node's line on the terminal (`shownOnTerminal`).
 */
export const errorLinesFor = (
  outcomes: readonly NodeOutcome[],
  shownOnTerminal: ReadonlySet<string> | undefined,
): Extract<NodeOutcome, { status: 'error' | 'rollback-failed' }>[] =>
  outcomes.filter(
    (o): o is Extract<NodeOutcome, { status: 'error' | 'rollback-failed' }> =>
      (o.status === 'error' || o.status === 'rollback-failed') && !shownOnTerminal?.has(o.node),
  );
