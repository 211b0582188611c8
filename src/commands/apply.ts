import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { realClock, type Clock } from '../apply/clock.js';
import { defaultJournalPath, Journal } from '../apply/journal.js';
import { applyNode } from '../apply/node-apply.js';
import {
  failureReason,
  internalMark,
  isBug,
  messageOf,
  outcomeExit,
  type NodeOutcome,
} from '../apply/outcome.js';
import { findOutsideCallers } from '../apply/trust-callers.js';
import { runTrustGate, type Caller } from '../apply/trust-gate.js';
import type { Inspection } from '../node/inspect.js';
import type { NodeSession, SessionOptions } from '../node/ssh/index.js';
import { recoverFirst } from '../apply/recovery-pass.js';
import {
  afterBatch,
  afterRecovery,
  assembleRollout,
  endOfRollout,
  errorLinesFor,
  haltBefore,
  parseNotAfter,
  promptAnswer,
  recoverFirstOf,
  type Halt,
} from '../apply/rollout.js';
import { ExitCode, NodeError, UsageError, worstExit } from '../errors.js';
import { selectNodes } from '../inventory/load.js';
import { commandApiGate, commandTargets } from './targets.js';
import { gateThroughApi } from '../cluster/api-gate.js';
import type { NodeTarget } from '../inventory/types.js';
import { withSession } from '../node/ssh/index.js';
import { terminalPassphrasePrompt } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import { checkPlaybookChoices, loadBuiltinPlaybooks, playbookFor, withParams } from '../playbook/load.js';
import { parsePlanFile, refuseOtherVersion } from '../plan/plan-file.js';
import { checkPlanSha256, planSha256, verifyPlanSignature, type PlanSigner } from './plan-binding.js';
import type { Templates } from '../plan/change.js';
import type { NodePlan, PlanFile } from '../plan/types.js';
import { describeOutcome, renderApplySummary } from '../report/apply-render.js';
import { makeColors, type Colors } from '../report/colors.js';
import { errorLine } from '../report/error-line.js';
import { PLAN_LINES, visibleDeep } from '../report/visible.js';
import { TOOL } from '../version.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { buildPlan, gatherFor, gatherForTarget } from './plan.js';
import { fleetJudge, type NodeJudge } from './apply-judge.js';
import { commandLine } from './rerun.js';
import { StageBoard } from './stage-board.js';
import { loadTemplates } from './templates.js';

export interface ApplyOptions extends CommonOptions {
  plan?: string;
  /** --plan-sha256: the sha256 the reviewer approved; any other plan file is refused before any node. */
  planSha256?: string;
  /** --allowed-signers: an OpenSSH allowed_signers file; the plan must carry a valid signature from it. */
  allowedSigners?: string;
  /** --plan-signature: the signature file (default: the plan file's path + .sig). */
  planSignature?: string;
  yes: boolean;
  serial?: number;
  keepGoing: boolean;
  notAfter?: string;
  journal?: string;
}

/** Asks about one node on a terminal; tests and --yes use other implementations. */
export interface Confirmer {
  confirm(node: NodePlan): Promise<'apply' | 'skip' | 'abort'>;
}

export interface ApplyDeps {
  clock?: Clock;
  confirmer?: Confirmer;
  /** Nodes already planned in this process (the interactive session); skips planning. */
  planned?: { plan: NodePlan; target: NodeTarget }[];
  /** Findings the session did not apply (unticked, or blocked): the end screen lists them as left. */
  leftFindings?: { node: string; control: string; blocked?: string }[];
}

export interface ApplyReport {
  version: 1;
  tool: string;
  runId: string;
  journal: string;
  startedAt: string;
  finishedAt: string;
  /** The plan file applied: its sha256 and, when checked against --allowed-signers, who signed it. */
  plan?: AppliedPlan;
  outcomes: NodeOutcome[];
  stoppedEarly?: string;
}

export interface AppliedPlan {
  file: string;
  sha256: string;
  signer?: PlanSigner;
}

const newRunId = (now: Date) =>
  `${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;

/** The options that bound the plan to its approval, for the commands printed to take up what was left. */
const pinsOf = (opts: ApplyOptions): string[] => [
  ...(opts.planSha256 ? ['--plan-sha256', opts.planSha256] : []),
  ...(opts.allowedSigners ? ['--allowed-signers', opts.allowedSigners] : []),
  ...(opts.planSignature ? ['--plan-signature', opts.planSignature] : []),
];

/** Plan-file nodes matched to inventory targets; any mismatch is a usage error before anything is touched. */
function matchTargets(
  plan: PlanFile,
  targets: NodeTarget[],
  limit: string | undefined,
): { plan: NodePlan; target: NodeTarget }[] {
  const selected = selectNodes(targets, limit);
  const problems: string[] = [];
  const pairs: { plan: NodePlan; target: NodeTarget }[] = [];
  for (const n of plan.nodes) {
    const target = targets.find((t) => t.name === n.node);
    if (!target) {
      problems.push(
        `node ${n.node} of the plan is not in the inventory — use the inventory the plan was made with (-i)`,
      );
      continue;
    }
    if (!selected.includes(target)) continue;
    if (target.host !== n.host || target.port !== n.port)
      problems.push(
        `node ${n.node}: the plan was made for ${n.host}:${n.port}, the inventory says ${target.host}:${target.port}`,
      );
    pairs.push({ plan: n, target });
  }
  if (problems.length > 0) throw new UsageError('the plan does not match the inventory', problems);
  return pairs;
}

/** Before anything is read: options that contradict each other, or an apply nobody could confirm (exit 2). */
function refuseBadOptions(opts: ApplyOptions, io: Io): void {
  if (opts.output === 'junit' || opts.output === 'markdown')
    throw new UsageError(
      `apply has no ${opts.output} output; use table or json (-o json for a record of the run)`,
      [`for a change ticket, render the plan instead: kubemend plan -o markdown`],
    );
  for (const [flag, given] of [
    ['--plan-sha256', opts.planSha256],
    ['--allowed-signers', opts.allowedSigners],
    ['--plan-signature', opts.planSignature],
  ] as const)
    if (given !== undefined && !opts.plan)
      throw new UsageError(`${flag} pins a saved plan: give the plan with --plan FILE`);
  if (opts.planSignature !== undefined && !opts.allowedSigners)
    throw new UsageError('--plan-signature is checked against --allowed-signers FILE: give both');
  const interactive = io.stdinIsTTY && Boolean(io.stdout.isTTY);
  if (!opts.yes && !interactive)
    throw new UsageError(
      'apply changes nodes and needs a confirmation: run it on a terminal to confirm each node, or pass --yes',
      ['for an unattended run of a reviewed plan: kubemend apply --plan change.plan.json --yes'],
    );
}

/**
 * A saved plan (--plan FILE): its bytes checked against --plan-sha256 and --allowed-signers before
 * anything else reads them, then its entries matched to the inventory's nodes.
 */
async function fromPlanFile(
  file: string,
  opts: ApplyOptions,
  io: Io,
): Promise<{
  planned: { plan: NodePlan; target: NodeTarget }[];
  approved: AppliedPlan;
  planFile: { plan: PlanFile; targets: NodeTarget[] };
}> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(
      `cannot read plan ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  // What was approved, checked on these very bytes before anything else reads them.
  if (opts.planSha256 !== undefined) checkPlanSha256(file, bytes, opts.planSha256);
  const signer = opts.allowedSigners
    ? await verifyPlanSignature(file, bytes, opts.planSignature ?? `${file}.sig`, opts.allowedSigners, io.env)
    : undefined;
  const approved: AppliedPlan = { file, sha256: planSha256(bytes), ...(signer ? { signer } : {}) };
  const plan = parsePlanFile(file, bytes.toString('utf8'));
  refuseOtherVersion(file, plan, TOOL);
  const targets = await commandTargets(opts, io);
  const planned = matchTargets(plan, targets, opts.limit);
  const planFile = { plan, targets };
  checkPlaybookChoices(
    planned.map((p) => p.target),
    opts.playbook,
  );
  return { planned, approved, planFile };
}

type Planned = { plan: NodePlan; target: NodeTarget };

/** What the rollout works from: the planned nodes, and the plan file or this run's own plan behind them. */
interface Source {
  planned: Planned[];
  approved?: AppliedPlan;
  /** The plan file, when there is one: its entries are computed again and compared (apply/recompute.ts). */
  planFile?: { plan: PlanFile; targets: NodeTarget[] };
  /** This run's own plan: the nodes as it read them (the fleet for the recompute, not read again). */
  inspected?: Inspection[];
  /** Plans again for nodes whose plan was made on top of a dead run's files (none for a plan file). */
  replan?: (names: ReadonlySet<string>) => Promise<Planned[]>;
}

async function plannedNodes(opts: ApplyOptions, io: Io, deps: ApplyDeps): Promise<Source> {
  if (deps.planned) return { planned: deps.planned };
  if (opts.plan) return fromPlanFile(opts.plan, opts, io);
  const src: Source = { planned: [] };
  const pairUp = ({ plan, inspections }: Awaited<ReturnType<typeof buildPlan>>) => {
    src.inspected = inspections; // the nodes as this plan read them: apply's recompute judges with them
    return plan.nodes.map((n) => ({
      plan: n,
      target: inspections.find((i) => i.target.name === n.node)!.target,
    }));
  };
  src.planned = pairUp(await buildPlan(opts, io));
  // The whole selection is planned again, so the fleet step judges these nodes with all the others.
  src.replan = async (names) => pairUp(await buildPlan(opts, io)).filter((p) => names.has(p.plan.node));
  return src;
}

/** What every step of one run shares. */
interface Run {
  opts: ApplyOptions;
  io: Io;
  deps: ApplyDeps;
  runId: string;
  journal: Journal;
  clock: Clock;
  colors: Colors;
  board: StageBoard;
  session: SessionOptions;
  builtins: Playbook[];
  templates: Templates;
  playbookOf: (plan: NodePlan, target: NodeTarget) => Playbook;
}

function runContext(base: Pick<Run, 'opts' | 'io' | 'deps' | 'runId' | 'journal' | 'clock' | 'colors'>): Run {
  const { opts, io } = base;
  const builtins = loadBuiltinPlaybooks();
  const templates = loadTemplates();
  const board = new StageBoard(io);
  const session = {
    connectTimeoutSec: opts.connectTimeout,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    env: io.env,
    ...(io.stdinIsTTY && io.stderr.isTTY ? { askPassphrase: terminalPassphrasePrompt() } : {}),
  };
  const playbookOf = (plan: NodePlan, target: NodeTarget): Playbook =>
    withParams(
      playbookFor(
        plan.layout,
        {
          ...(target.playbook ? { node: target.playbook } : {}),
          ...(opts.playbook ? { cli: opts.playbook } : {}),
        },
        builtins,
      ),
      target.params,
      `node ${target.name}`,
    );
  return { ...base, builtins, templates, board, session, playbookOf };
}

/**
 * Recovery first: every node this run may touch is locked and its dead run (if any) undone before
 * it is judged compliant. Nodes to change do this as the first step of their own sequence, unless
 * their plan was made on top of a dead run's files (then it is done here and they are planned again).
 */
async function recoveryPass(run: Run, src: Source): Promise<ReturnType<typeof afterRecovery>> {
  const { board } = run;
  const recoverHere = recoverFirstOf(src.planned, Boolean(src.replan));
  if (recoverHere.length === 0) return afterRecovery(src.planned, new Map(), Boolean(src.replan));
  const results = await recoverFirst(recoverHere, {
    runId: run.runId,
    journal: run.journal,
    clock: run.clock,
    now: () => run.io.now(),
    concurrency: run.opts.concurrency,
    session: run.session,
    playbookOf: run.playbookOf,
    gatherOf: (p) => gatherFor([p, ...run.builtins]),
    onStage: (node, stage, detail, gate) =>
      board.update(node, `${stage}${detail ? `: ${detail}` : ''}`, gate),
  });
  const after = afterRecovery(src.planned, results, Boolean(src.replan));
  for (const o of after.outcomes) board.finish(o.node, describeOutcome(o, run.colors));
  board.endBatch();
  if (after.again.size > 0 && src.replan) {
    const fresh = await src.replan(after.again);
    src.planned = src.planned.map((p) => fresh.find((f) => f.plan.node === p.plan.node) ?? p);
  }
  return after;
}

/**
 * The control planes of the inventory this run did not select, read (never changed) for the live
 * trust gate to probe from (apply/trust-callers.ts); journalled when any was read.
 */
async function outsideCallers(run: Run, planned: readonly Planned[]) {
  const { board } = run;
  const { read, found } = await findOutsideCallers(planned, () => commandTargets(run.opts, run.io, false), {
    ...run.session,
    concurrency: run.opts.concurrency,
    onStart: (n) => board.update(n, 'read only: may be a control plane the trust gate probes from'),
    onDone: (i) =>
      board.update(i.target.name, i.ok ? 'read (nothing changed there)' : `not reached: ${i.error.message}`),
  });
  if (read.length > 0) {
    board.endBatch();
    run.journal.write({
      runId: run.runId,
      event: 'trust-callers',
      read,
      callers: found.callers.map((c) => ({ node: c.node, cluster: c.cluster })),
      unreached: found.unreached,
    });
  }
  return found;
}

/** The nodes of a batch the user lets start, in order; skipped ones get their outcome; or the halt. */
async function confirmBatch(
  run: Run,
  batch: readonly Planned[],
  notAfter: { at: Date; given: string } | undefined,
  outcomes: NodeOutcome[],
): Promise<{ go: Planned[]; halt?: Halt }> {
  const { io, opts } = run;
  const go: Planned[] = [];
  for (const item of batch) {
    const halt = haltBefore({
      interrupted: io.interrupted(),
      ...(notAfter ? { notAfter } : {}),
      now: () => io.now(),
    });
    if (halt) return { go, halt };
    if (!opts.yes) {
      const answer = promptAnswer(
        item.plan.node,
        await (run.deps.confirmer ?? terminalConfirmer(io, run.colors)).confirm(item.plan),
      );
      if ('halt' in answer) return { go, halt: answer.halt };
      if ('skip' in answer) {
        outcomes.push(answer.skip);
        run.journal.write({ runId: run.runId, node: item.plan.node, event: 'skipped' });
        continue;
      }
    }
    go.push(item);
  }
  return { go };
}

/** What the nodes of a batch see of the rollout so far: the judge, the trust gates, who applied. */
interface Rollout {
  judgeOf: NodeJudge | undefined;
  apiGate: Awaited<ReturnType<typeof commandApiGate>>;
  outside: Awaited<ReturnType<typeof outsideCallers>>;
  planned: readonly Planned[];
  applied: Set<string>;
  failed: Set<string>;
}

/** One node's apply (apply/node-apply.ts) over its own session; a connection failure or a bug as its outcome. */
async function applyOne(run: Run, { plan, target }: Planned, r: Rollout): Promise<NodeOutcome> {
  const { opts, io, journal, runId, clock } = run;
  // A control plane's session for the trust gate, refused when its host key is not the one read.
  const openChecked = <T>(n: Caller, use: (s: NodeSession) => Promise<T>): Promise<T> =>
    withSession(n.target, run.session, (s) => {
      if (n.hostKey && s.hostKeyFingerprint !== n.hostKey)
        throw new NodeError(
          n.node,
          `${n.node}: host key ${s.hostKeyFingerprint} is not the one it was planned or read against (${n.hostKey})`,
          'host-key-changed',
        );
      return use(s);
    });
  try {
    return await withSession(target, run.session, async (session) => {
      if (plan.hostKey && session.hostKeyFingerprint !== plan.hostKey)
        return {
          node: plan.node,
          status: 'error' as const,
          reason: `host key ${session.hostKeyFingerprint} is not the one the plan was made against (${plan.hostKey})`,
        };
      return applyNode(session, {
        ...(r.judgeOf ? { judge: r.judgeOf(target, r.failed) } : {}),
        trustGate: (own) =>
          gateThroughApi(
            r.apiGate,
            { plan, target },
            () =>
              runTrustGate(
                { plan, target },
                r.planned,
                r.applied,
                { own, open: openChecked, clock },
                r.outside,
              ),
            r.planned,
            r.applied,
          ),
        runId,
        target,
        plan,
        playbook: run.playbookOf(plan, target),
        templates: run.templates,
        // What plan gathered, so the entry computed again sees the same files.
        gather: gatherForTarget(target, opts.playbook, run.builtins),
        journal,
        clock,
        now: () => io.now(),
        onStage: (s, detail, gate) => run.board.update(plan.node, `${s}${detail ? `: ${detail}` : ''}`, gate),
      });
    });
  } catch (e) {
    // applyNode returns its outcomes; what arrives here is the connection (NodeError) or a bug.
    journal.write({ runId, node: plan.node, event: 'failed', reason: messageOf(e), internal: isBug(e) });
    return { node: plan.node, status: 'error' as const, reason: failureReason(e), ...internalMark(e) };
  }
}

/** The end: the record of the run (JSON, or the end screen), its journal entry, and the exit code. */
function finishRun(
  run: Run,
  end: {
    startedAt: Date;
    approved: AppliedPlan | undefined;
    outcomes: NodeOutcome[];
    halt: Halt | undefined;
  },
): ExitCode {
  const { opts, io, journal, runId, deps } = run;
  const { approved, outcomes } = end;
  const stoppedEarly = end.halt?.reason;
  const report: ApplyReport = {
    version: 1,
    tool: TOOL,
    runId,
    journal: journal.path,
    startedAt: end.startedAt.toISOString(),
    finishedAt: io.now().toISOString(),
    ...(approved ? { plan: approved } : {}),
    outcomes,
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
  journal.write({
    runId,
    event: 'finish',
    outcomes: outcomes.map((o) => ({ node: o.node, status: o.status })),
  });
  io.stdout.write(
    opts.output === 'json'
      ? JSON.stringify(report, null, 2) + '\n'
      : renderApplySummary(
          {
            runId,
            journal: journal.path,
            outcomes,
            ...(stoppedEarly ? { stoppedEarly } : {}),
            ...(opts.plan ? { plan: opts.plan } : {}),
            ...(approved ? { approval: { ...approved, pins: pinsOf(opts) } } : {}),
            ...(deps.leftFindings ? { leftFindings: deps.leftFindings } : {}),
          },
          makeColors(wantColor(io, 'stdout', !opts.color)),
          // The board left each finished node's result line on this terminal: not again.
          { cmd: commandLine(opts), ...(io.stdout.isTTY ? { resultsShown: run.board.shown } : {}) },
        ),
  );
  return worstExit([...outcomes.map(outcomeExit), end.halt?.cancelled ? ExitCode.cancelled : ExitCode.ok]);
}

/** `--not-after`, parsed against the run's start; a value that is not a time is a usage error. */
function notAfterOf(opts: ApplyOptions, startedAt: Date): { at: Date; given: string } | undefined {
  if (!opts.notAfter) return undefined;
  const at = parseNotAfter(opts.notAfter, startedAt);
  if (!at)
    throw new UsageError(
      `--not-after "${opts.notAfter}" is neither a clock time (HH:MM) nor an ISO date-time`,
    );
  return { at, given: opts.notAfter };
}

/** The journal's first record of the run: the plan (and what approved it) and the nodes planned. */
function journalStart(run: Pick<Run, 'journal' | 'runId' | 'opts'>, src: Source): void {
  const { approved } = src;
  run.journal.write({
    runId: run.runId,
    event: 'start',
    tool: TOOL,
    plan: run.opts.plan ?? null,
    ...(approved
      ? { planSha256: approved.sha256, ...(approved.signer ? { signer: approved.signer } : {}) }
      : {}),
    nodes: src.planned.map((p) => p.plan.node),
  });
}

/**
 * What the nodes to change are judged and gated with, read before the first change (nothing is
 * read when no node changes): the fleet judge, the API server's gate, the control planes outside
 * the selection.
 */
async function prepareRollout(run: Run, src: Source, changing: boolean): Promise<Rollout> {
  const { opts, io, deps } = run;
  const { planned } = src;
  return {
    // Each node's entry is computed again before it is changed, judged with the fleet as read now.
    judgeOf: changing
      ? await fleetJudge({
          opts,
          io,
          planned,
          planFile: src.planFile,
          inspected: src.inspected,
          narrowed: Boolean(deps.planned),
          builtins: run.builtins,
          templates: run.templates,
          session: run.session,
        })
      : undefined,
    // The live trust gate through the API server's node proxy where the kubeconfig is at hand
    // (cluster/api-gate.ts); else, and when that proves nothing, SSH probes from the control planes.
    apiGate: await commandApiGate(opts, io, run.clock),
    outside: await outsideCallers(run, changing ? planned : []),
    planned,
    applied: new Set<string>(),
    failed: new Set<string>(),
  };
}

/**
 * The batches in order, each confirmed node of a batch changed at once; the outcomes land in
 * `outcomes`. Returns why the rollout stopped before its end, if it did.
 */
async function runBatches(
  run: Run,
  batches: readonly Planned[][],
  rollout: Rollout,
  s: { notAfter: { at: Date; given: string } | undefined; recoveredRuns: ReadonlyMap<string, string> },
  outcomes: NodeOutcome[],
): Promise<Halt | undefined> {
  const { board } = run;
  for (const batch of batches) {
    const confirmed = await confirmBatch(run, batch, s.notAfter, outcomes);
    if (confirmed.halt) return confirmed.halt;
    const after = afterBatch(
      await Promise.all(confirmed.go.map((item) => applyOne(run, item, rollout))),
      s.recoveredRuns,
      run.opts.keepGoing,
    );
    for (const n of after.applied) rollout.applied.add(n);
    for (const n of after.failed) rollout.failed.add(n);
    for (const o of after.outcomes) board.finish(o.node, describeOutcome(o, run.colors));
    outcomes.push(...after.outcomes);
    board.endBatch();
    if (after.halt) return after.halt;
  }
  return undefined;
}

/**
 * apply: I/O in order. What is decided between the steps (which nodes, in which batches, what stops
 * the rollout, what is printed) is apply/rollout.ts's, pure.
 */
export async function runApply(opts: ApplyOptions, io: Io, deps: ApplyDeps = {}): Promise<ExitCode> {
  refuseBadOptions(opts, io);
  const startedAt = io.now();
  const notAfter = notAfterOf(opts, startedAt);
  const journal = new Journal(opts.journal ?? defaultJournalPath(io.env), () => io.now());
  const runId = newRunId(startedAt);
  const clock = deps.clock ?? realClock;
  const colors = makeColors(wantColor(io, 'stderr', !opts.color));
  const src = await plannedNodes(opts, io, deps);
  journalStart({ journal, runId, opts }, src);
  const run = runContext({ opts, io, deps, runId, journal, clock, colors });

  // Recovery first; then the rollout as assembled from the plan and what recovery answered.
  const recovery = await recoveryPass(run, src);
  const outcomes: NodeOutcome[] = [...recovery.outcomes];
  const { settled, toChange, wouldChange, batches } = assembleRollout(src.planned, {
    handled: new Set(outcomes.map((o) => o.node)),
    stopped: recovery.halt !== undefined,
    serial: opts.serial,
    serialOf: (p) => run.playbookOf(p.plan, p.target).rollout.serial,
  });
  outcomes.push(...settled);
  const rollout = await prepareRollout(run, src, toChange.length > 0);
  const halt =
    (await runBatches(
      run,
      batches,
      rollout,
      { notAfter, recoveredRuns: recovery.recoveredRuns },
      outcomes,
    )) ?? recovery.halt;
  run.board.stop();
  // Every node that could not be reached or put back: one error line on stderr, naming it.
  const errColors = makeColors(wantColor(io, 'stderr', !opts.color));
  for (const o of errorLinesFor(outcomes, io.stderr.isTTY ? run.board.shown : undefined))
    io.stderr.write(errorLine(o.node, o.reason, errColors));
  const end = endOfRollout({
    outcomes,
    toChange: wouldChange.map((p) => p.plan.node),
    halt,
    interrupted: io.interrupted(),
  });
  outcomes.push(...end.notStarted);
  return finishRun(run, { startedAt, approved: src.approved, outcomes, halt: end.halt });
}

/** The terminal prompt: the node's diffs and restart impact, then apply / skip / show more / abort. */
export function terminalConfirmer(io: Io, c: Colors): Confirmer {
  return {
    async confirm(given) {
      const { select } = await import('@inquirer/prompts');
      const { colorDiff, restartsOf } = await import('../report/plan-render.js');
      // The node's text (paths, notes, diffs, new files) shown escaped, never as terminal control.
      const node = visibleDeep(given, PLAN_LINES);
      io.stdout.write(
        `\n${c.bold(node.node)} (${node.host}, ${node.role ?? 'role unknown'}, ${node.layout ?? 'layout unknown'})\n`,
      );
      for (const ch of node.changes) io.stdout.write(`${colorDiff(ch.diff, c)}\n`);
      io.stdout.write(`restarts: ${restartsOf(node).join('; ')}\n`);
      for (;;) {
        // Ctrl-C at the prompt leaves this node (and every later one) untouched.
        const answer = await select({
          message: `Apply these changes to ${node.node}?`,
          choices: [
            {
              name: 'apply',
              value: 'apply' as const,
              description: 'back up, write, restart, check health; roll back on failure',
            },
            { name: 'skip this node', value: 'skip' as const },
            { name: 'show more (full new files and notes)', value: 'more' as const },
            { name: 'abort the rollout (no further node)', value: 'abort' as const },
          ],
        }).catch((e: Error) => {
          if (e.name === 'ExitPromptError' || e.name === 'AbortPromptError') return 'abort' as const;
          throw e;
        });
        if (answer !== 'more') return answer;
        for (const ch of node.changes) {
          io.stdout.write(
            `\n${c.bold(`${ch.action} ${ch.path}`)} [${ch.control}] restart: ${ch.restart}${ch.durable ? '' : ' (not durable)'}\n`,
          );
          for (const n of ch.notes) io.stdout.write(`note: ${n}\n`);
          io.stdout.write(ch.after.content.endsWith('\n') ? ch.after.content : `${ch.after.content}\n`);
        }
      }
    },
  };
}
