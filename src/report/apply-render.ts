import type { Colors } from './colors.js';
import { visible, visibleDeep } from './visible.js';

/** Builds a kubemend command line to print, carrying the options the run needed (commands/rerun.ts). */
export type CommandLine = (command: string, ...args: string[]) => string;

/**
 * What one node came to (the apply JSON's `outcomes[]`), as much of it as the end screen shows.
 * Structural, so that the change engine's outcome type fits without report/ importing apply/.
 */
export interface OutcomeView {
  node: string;
  status: string;
  reason?: string;
  backup?: string;
  evidence?: readonly string[];
  manual?: readonly string[];
  /** A run that had died on the node and was rolled back first. */
  recovered?: string;
  /** The live trust gate's probes and the checks it could not run. */
  trust?: readonly string[];
}

/** Something the run deliberately left as it was, and the command that would deal with it later. */
export interface LeftItem {
  node: string;
  what: string;
  later?: string;
}

export interface ApplySummary {
  runId: string;
  journal: string;
  outcomes: readonly OutcomeView[];
  stoppedEarly?: string;
  /** The plan file applied, if any: "later" commands apply the same reviewed plan. */
  plan?: string;
  /**
   * How that plan was bound to its approval: its sha256, who signed it (when checked), and the
   * options that pinned it, which the "later" commands carry too.
   */
  approval?: { sha256: string; signer?: { principal: string; key: string }; pins: readonly string[] };
  /** Findings the session did not apply: unticked by the user, or blocked (with why and the way out). */
  leftFindings?: readonly { node: string; control: string; blocked?: string }[];
}

/** One line per node result; the status is a word, the symbol only decorates it. */
export function describeOutcome(given: OutcomeView, c: Colors): string {
  // Reasons and evidence carry node text (error output, paths): escaped, never terminal control.
  const o = visibleDeep(given);
  const dead = o.recovered ? `; run ${o.recovered}, which had died here, was rolled back first` : '';
  switch (o.status) {
    case 'applied':
      return `${c.green('✔')} ${o.node}: applied, healthy and re-audited (backup on the node: ${o.backup ?? ''})${dead}`;
    case 'rolled-back':
      return `${c.yellow('↺')} ${o.node}: rolled back: ${o.reason ?? ''}`;
    case 'rollback-failed':
      return `${c.red('✘')} ${o.node}: ROLLBACK FAILED: ${o.reason ?? ''}`;
    case 'stale':
      return `${c.red('✘')} ${o.node}: refused, the plan is stale: ${o.reason ?? ''}`;
    case 'compliant':
      return `${c.green('✔')} ${o.node}: compliant, nothing to do${dead}`;
    case 'already-applied':
      return `${c.green('✔')} ${o.node}: already applied by this plan (nothing written, nothing restarted)`;
    case 'recovered':
      return `${c.yellow('↺')} ${o.node}: recovered: ${o.reason ?? ''}`;
    default:
      return `${c.yellow('•')} ${o.node}: ${o.status}${o.reason ? `: ${o.reason}` : ''}`;
  }
}

/** Outcomes that leave a node as it was; the end screen lists them with the command for later. */
const LEFT = new Set(['skipped', 'blocked', 'stale', 'error']);

/** Nodes and findings the run left alone, each with the command that would take it up later. */
export function leftItems(s: ApplySummary, cmd: CommandLine): LeftItem[] {
  const again = (nodes: string) =>
    s.plan
      ? cmd('apply', '--plan', s.plan, ...(s.approval?.pins ?? []), '-l', nodes)
      : cmd('apply', '-l', nodes);
  // A new plan goes to a new file: the reviewed plan file is never the one to overwrite.
  const fresh = s.plan && /(^|\/)new\.plan\.json$/.test(s.plan) ? 'new-2.plan.json' : 'new.plan.json';
  const items: LeftItem[] = [];
  for (const f of s.leftFindings ?? [])
    items.push(
      f.blocked
        ? { node: f.node, what: `${f.control}: blocked: ${f.blocked}`, later: cmd('plan', '-l', f.node) }
        : {
            node: f.node,
            what: `${f.control}: unticked, not changed`,
            later: cmd('apply', '-l', f.node, '--controls', f.control),
          },
    );
  for (const o of s.outcomes) {
    if (o.status === 'skipped')
      items.push({ node: o.node, what: `not changed: ${o.reason ?? 'skipped'}`, later: again(o.node) });
    if (o.status === 'blocked')
      items.push({
        node: o.node,
        what: `blocked, not changed: ${o.reason ?? ''}`,
        later: s.plan ? cmd('plan', '-l', o.node, '--out', fresh) : cmd('plan', '-l', o.node),
      });
    if (o.status === 'stale')
      items.push({
        node: o.node,
        what: 'not changed: its files changed since the plan; review a new plan',
        later: cmd('plan', '-l', o.node, '--out', fresh),
      });
    if (o.status === 'error')
      items.push({ node: o.node, what: `not changed: ${o.reason ?? 'error'}`, later: again(o.node) });
  }
  return items;
}

/**
 * The end screen of an apply: each result once (not again for the nodes in `resultsShown`, whose
 * result line the live board left on the terminal),
 * what was left and how to take it up, where the backups are and the undo command for each node.
 */
export function renderApplySummary(
  given: ApplySummary,
  c: Colors,
  opts: { cmd: CommandLine; resultsShown?: ReadonlySet<string> },
): string {
  const s = visibleDeep(given);
  const shown = new Set([...(opts.resultsShown ?? [])].map(visible));
  const lines = [c.bold(`kubemend apply ${s.runId}`)];
  if (s.plan && s.approval) {
    const { sha256, signer } = s.approval;
    lines.push(
      `plan ${s.plan}, sha256 ${sha256}${signer ? `, signed by ${signer.principal} (${signer.key})` : ', not signature-checked'}`,
    );
  }
  for (const o of s.outcomes) {
    if (LEFT.has(o.status)) continue; // listed once, under "Left as it was", with the way on
    const detail = [
      ...(o.trust?.map((t) => `    trust gate: ${t}`) ?? []),
      ...(o.evidence?.slice(-10).map((e) => c.dim(`    ${e}`)) ?? []),
      ...(o.manual ? [`  recover ${o.node} by hand:`, ...o.manual.map((step) => `    ${step}`)] : []),
    ];
    if (!shown.has(o.node)) lines.push(describeOutcome(o, c));
    else if (detail.length > 0) lines.push(`${o.node}:`);
    lines.push(...detail);
  }
  if (s.stoppedEarly) lines.push(c.yellow(s.stoppedEarly));
  const left = leftItems(s, opts.cmd);
  if (left.length > 0) {
    lines.push('', 'Left as it was:');
    for (const l of left) {
      lines.push(`  ${l.node}: ${l.what}`);
      if (l.later) lines.push(`    later: ${l.later}`);
    }
  }
  const applied = s.outcomes.filter((o) => o.status === 'applied' && o.backup);
  if (applied.length > 0) {
    lines.push('', 'Backups (on the node), and how to undo:');
    for (const o of applied) {
      lines.push(`  ${o.node}: ${o.backup} on ${o.node}`);
      lines.push(`    undo: ${opts.cmd('rollback', '--node', o.node, '--backup', s.runId)}`);
    }
  }
  lines.push('', `journal: ${s.journal}`);
  return lines.join('\n') + '\n';
}
