import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { realClock, type Clock } from '../apply/clock.js';
import { defaultJournalPath, Journal } from '../apply/journal.js';
import { applyNode, type NodeOutcome, type Stage } from '../apply/node-apply.js';
import { parseNotAfter, rolloutBatches } from '../apply/rollout.js';
import { ExitCode, UsageError, worstExit } from '../errors.js';
import { loadInventory, selectNodes } from '../inventory/load.js';
import type { NodeTarget } from '../inventory/types.js';
import { withSession } from '../node/ssh/index.js';
import { terminalPassphrasePrompt } from '../node/ssh/index.js';
import { checkPlaybookChoices, loadBuiltinPlaybooks, playbookFor, withParams } from '../playbook/load.js';
import { parsePlanFile } from '../plan/plan-file.js';
import type { NodePlan, PlanFile } from '../plan/types.js';
import { makeColors, type Colors } from '../report/colors.js';
import { TOOL } from '../version.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { buildPlan, gatherFor } from './plan.js';
import { StageBoard } from './stage-board.js';
import { loadTemplates } from './templates.js';

export interface ApplyOptions extends CommonOptions {
  plan?: string;
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
}

export interface ApplyReport {
  version: 1;
  tool: string;
  runId: string;
  journal: string;
  startedAt: string;
  finishedAt: string;
  outcomes: NodeOutcome[];
  stoppedEarly?: string;
}

const newRunId = (now: Date) =>
  `${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;

function outcomeExit(o: NodeOutcome): ExitCode {
  switch (o.status) {
    case 'applied':
    case 'compliant':
      return ExitCode.ok;
    case 'stale':
      return ExitCode.stalePlan;
    case 'error':
    case 'rollback-failed':
      return ExitCode.unreachable;
    default:
      return ExitCode.findings;
  }
}

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

export async function runApply(opts: ApplyOptions, io: Io, deps: ApplyDeps = {}): Promise<ExitCode> {
  const interactive = io.stdinIsTTY && Boolean(io.stdout.isTTY);
  if (!opts.yes && !interactive)
    throw new UsageError(
      'apply changes nodes and needs a confirmation: run it on a terminal to confirm each node, or pass --yes',
      ['for an unattended run of a reviewed plan: kubemend apply --plan change.plan.json --yes'],
    );
  const startedAt = io.now();
  const notAfter = opts.notAfter ? parseNotAfter(opts.notAfter, startedAt) : undefined;
  if (opts.notAfter && !notAfter)
    throw new UsageError(
      `--not-after "${opts.notAfter}" is neither a clock time (HH:MM) nor an ISO date-time`,
    );
  const journal = new Journal(opts.journal ?? defaultJournalPath(io.env), () => io.now());
  const runId = newRunId(startedAt);
  const clock = deps.clock ?? realClock;
  const colors = makeColors(wantColor(io, 'stderr', !opts.color));

  let planned: { plan: NodePlan; target: NodeTarget }[];
  if (deps.planned) {
    planned = deps.planned;
  } else if (opts.plan) {
    let text: string;
    try {
      text = readFileSync(opts.plan, 'utf8');
    } catch (e) {
      throw new UsageError(
        `cannot read plan ${opts.plan}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const plan = parsePlanFile(opts.plan, text);
    const targets = await loadInventory(opts.inventory, {
      ...(opts.knownHosts ? { knownHostsFile: opts.knownHosts } : {}),
      ...(opts.ssh ? { ssh: opts.ssh } : {}),
    });
    planned = matchTargets(plan, targets, opts.limit);
    checkPlaybookChoices(
      planned.map((p) => p.target),
      opts.playbook,
    );
  } else {
    const { plan, inspections } = await buildPlan(opts, io);
    planned = plan.nodes.map((n) => ({
      plan: n,
      target: inspections.find((i) => i.target.name === n.node)!.target,
    }));
  }
  journal.write({
    runId,
    event: 'start',
    tool: TOOL,
    plan: opts.plan ?? null,
    nodes: planned.map((p) => p.plan.node),
  });

  const builtins = loadBuiltinPlaybooks();
  const templates = loadTemplates();
  const outcomes: NodeOutcome[] = [];
  let stoppedEarly: string | undefined;
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const board = new StageBoard(io);

  for (const { plan } of planned) {
    if (plan.status === 'compliant') outcomes.push({ node: plan.node, status: 'compliant' });
    if (plan.status === 'blocked')
      outcomes.push({
        node: plan.node,
        status: 'blocked',
        reason: plan.blocked.map((b) => `${b.control}: ${b.reason}`).join('; '),
      });
    if (plan.status === 'error')
      outcomes.push({ node: plan.node, status: 'error', reason: plan.error ?? 'could not be planned' });
  }
  const toChange = planned.filter((p) => p.plan.status === 'change');
  const serial = opts.serial ?? 1;
  const batches = rolloutBatches(
    toChange.map((p) => ({ ...p, role: p.plan.role })),
    serial,
  );

  rollout: for (const batch of batches) {
    const go: typeof batch = [];
    for (const item of batch) {
      if (io.interrupted()) {
        stoppedEarly = 'interrupted (Ctrl-C): no further node was started';
        break rollout;
      }
      if (notAfter && io.now() > notAfter) {
        stoppedEarly = `--not-after ${opts.notAfter} has passed: no further node was started`;
        break rollout;
      }
      if (!opts.yes) {
        const answer = await (deps.confirmer ?? terminalConfirmer(io, colors)).confirm(item.plan);
        if (answer === 'abort') {
          stoppedEarly = 'aborted at the prompt: no further node was started';
          break rollout;
        }
        if (answer === 'skip') {
          outcomes.push({ node: item.plan.node, status: 'skipped', reason: 'skipped at the prompt' });
          journal.write({ runId, node: item.plan.node, event: 'skipped' });
          continue;
        }
      }
      go.push(item);
    }
    const results = await Promise.all(
      go.map(async ({ plan, target }) => {
        const stage = (s: Stage, detail?: string) =>
          board.update(plan.node, `${s}${detail ? `: ${detail}` : ''}`);
        try {
          return await withSession(
            target,
            {
              connectTimeoutSec: opts.connectTimeout,
              acceptNewHostKeys: opts.acceptNewHostKeys,
              env: io.env,
              ...(io.stdinIsTTY && io.stderr.isTTY ? { askPassphrase: terminalPassphrasePrompt() } : {}),
            },
            async (session) => {
              if (plan.hostKey && session.hostKeyFingerprint !== plan.hostKey)
                return {
                  node: plan.node,
                  status: 'error' as const,
                  reason: `host key ${session.hostKeyFingerprint} is not the one the plan was made against (${plan.hostKey})`,
                };
              const base = playbookFor(
                plan.layout,
                {
                  ...(target.playbook ? { node: target.playbook } : {}),
                  ...(opts.playbook ? { cli: opts.playbook } : {}),
                },
                builtins,
              );
              const playbook = withParams(base, target.params, `node ${target.name}`);
              return applyNode(session, {
                runId,
                target,
                plan,
                playbook,
                templates,
                gather: gatherFor([playbook, ...builtins]),
                journal,
                clock,
                now: () => io.now(),
                onStage: stage,
              });
            },
          );
        } catch (e) {
          return { node: plan.node, status: 'error' as const, reason: (e as Error).message };
        }
      }),
    );
    board.endBatch();
    for (const r of results) {
      outcomes.push(r);
      say(describeOutcome(r, colors));
    }
    if (results.some((r) => r.status === 'rollback-failed')) {
      stoppedEarly = 'a rollback failed: the rollout stopped; recover that node by hand (steps above)';
      break;
    }
    if (!opts.keepGoing && results.some((r) => !['applied', 'compliant', 'skipped'].includes(r.status))) {
      stoppedEarly =
        'stopped at the first node that did not apply cleanly (use --keep-going to continue past failures)';
      break;
    }
  }
  for (const { plan } of toChange)
    if (!outcomes.some((o) => o.node === plan.node))
      outcomes.push({ node: plan.node, status: 'skipped', reason: stoppedEarly ?? 'not started' });

  const report: ApplyReport = {
    version: 1,
    tool: TOOL,
    runId,
    journal: journal.path,
    startedAt: startedAt.toISOString(),
    finishedAt: io.now().toISOString(),
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
      : renderApplySummary(report, makeColors(wantColor(io, 'stdout', !opts.color))),
  );
  return worstExit(outcomes.map(outcomeExit));
}

function describeOutcome(o: NodeOutcome, c: Colors): string {
  switch (o.status) {
    case 'applied':
      return `${c.green('✔')} ${o.node}: applied, healthy and re-audited (backup ${o.backup})`;
    case 'rolled-back':
      return `${c.yellow('↺')} ${o.node}: rolled back: ${o.reason}`;
    case 'rollback-failed':
      return `${c.red('✘')} ${o.node}: ROLLBACK FAILED: ${o.reason}`;
    case 'stale':
      return `${c.red('✘')} ${o.node}: refused, the plan is stale: ${o.reason}`;
    case 'compliant':
      return `${c.green('✔')} ${o.node}: compliant, nothing to do`;
    default:
      return `${c.yellow('•')} ${o.node}: ${o.status}: ${o.reason}`;
  }
}

export function renderApplySummary(report: ApplyReport, c: Colors): string {
  const lines = [c.bold(`kubemend apply ${report.runId}`)];
  for (const o of report.outcomes) {
    lines.push(describeOutcome(o, c));
    if (o.status === 'rolled-back') for (const e of o.evidence.slice(-10)) lines.push(c.dim(`    ${e}`));
    if (o.status === 'rollback-failed') {
      lines.push(`  recover ${o.node} by hand:`);
      for (const s of o.manual) lines.push(`    ${s}`);
    }
  }
  if (report.stoppedEarly) lines.push(c.yellow(report.stoppedEarly));
  const applied = report.outcomes.filter((o) => o.status === 'applied');
  if (applied.length > 0) {
    lines.push('', 'Backups, and how to undo:');
    for (const o of applied)
      if (o.status === 'applied')
        lines.push(`  ${o.node}: ${o.backup}   kubemend rollback --node ${o.node} --backup ${report.runId}`);
  }
  lines.push('', `journal: ${report.journal}`);
  return lines.join('\n') + '\n';
}

/** The terminal prompt: the node's diffs and restart impact, then apply / skip / show more / abort. */
export function terminalConfirmer(io: Io, c: Colors): Confirmer {
  return {
    async confirm(node) {
      const { select } = await import('@inquirer/prompts');
      const { colorDiff, restartsOf } = await import('../report/plan-render.js');
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
