import { existsSync } from 'node:fs';
import { checkbox, confirm, input, Separator } from '@inquirer/prompts';
import { changeControls, channelControls, controlById } from '../controls/index.js';
import { openDoor } from '../controls/kubelet-client-ca/open-door.js';
import type { ControlId } from '../controls/types.js';
import { ExitCode, UsageError } from '../errors.js';
import { usesCluster } from '../cluster/targets.js';
import { selectNodes } from '../inventory/load.js';
import type { NodeTarget } from '../inventory/types.js';
import { makeColors } from '../report/colors.js';
import { colorDiff, restartsOf } from '../report/plan-render.js';
import { renderAuditTable } from '../report/table.js';
import { PLAN_LINES, visible, visibleDeep } from '../report/visible.js';
import { runApply } from './apply.js';
import { judgeMore } from '../plan/build.js';
import { auditJudged, renderAuditErrors } from './audit.js';
import { wantColor, type Io } from './io.js';
import { DEFAULT_INVENTORY, type CommonOptions } from './options.js';
import { page } from './pager.js';
import { planJudged, readJudged } from './plan.js';
import { commandLine } from './rerun.js';
import { commandSource } from './targets.js';

/** Inventory files looked for in the current directory, in this order. */
const CANDIDATES = [
  'inventory.yaml',
  'inventory.yml',
  'hosts.yaml',
  'hosts.yml',
  'inventory/hosts.yaml',
  'inventory/hosts.yml',
];

/** Ctrl-C at an inquirer prompt: leave every node untouched and stop. */
class Cancelled extends Error {}
const cancellable = <T>(p: Promise<T>): Promise<T> =>
  p.catch((e: Error) => {
    if (e.name === 'ExitPromptError' || e.name === 'AbortPromptError') throw new Cancelled();
    throw e;
  });

/**
 * `kubemend` on a terminal: find the inventory, choose nodes, audit, choose findings, review the
 * diffs, confirm, apply with live progress, and say where the backups are.
 */
export async function runSession(base: CommonOptions, io: Io): Promise<ExitCode> {
  const c = makeColors(wantColor(io, 'stdout', !base.color));
  try {
    io.stdout.write(
      `${c.bold('kubemend')}: audit and fix the kubelet client CA and the apiserver's kubelet client certificate\n\n`,
    );
    if (base.inventory !== DEFAULT_INVENTORY && !existsSync(base.inventory))
      throw new UsageError(`inventory ${base.inventory} does not exist`);
    // With --kubeconfig/--context the nodes come from the cluster (merged with -i when that file is there).
    let inventory = usesCluster(base)
      ? base.inventory
      : existsSync(base.inventory)
        ? base.inventory
        : CANDIDATES.find((f) => existsSync(f));
    if (!inventory)
      inventory = await cancellable(
        input({
          message: 'Inventory file (kubemend YAML or Ansible YAML):',
          validate: (v) => (existsSync(v) ? true : `${v} does not exist`),
        }),
      );
    const source = await commandSource({ ...base, inventory }, io);
    io.stdout.write(
      source.cluster
        ? `nodes: cluster ${visible(source.cluster.name)} (context ${visible(source.cluster.context)})\n`
        : `inventory: ${visible(inventory)}\n`,
    );
    const nodes = source.nodes;

    const chosen = await cancellable(
      checkbox<string>({
        message: 'Nodes to audit (space toggles, a toggles all, enter confirms)',
        pageSize: 20,
        required: true,
        // -l given: only the nodes it selects are offered (a pattern matching none is exit 2).
        choices: groupedChoices(base.limit ? selectNodes(nodes, base.limit) : nodes),
      }),
    );
    let opts: CommonOptions = { ...base, inventory, limit: chosen.join(',') };

    const startedAt = io.now();
    // Each node read once and each control run once on it: the audit shown and the plan offered
    // are made from the same results.
    let judged = await readJudged(opts, io);
    if (io.interrupted()) throw new Cancelled();
    const inspections = judged.map((j) => j.read);
    const report = auditJudged(judged, opts, startedAt, io.now());
    let plan = planJudged(judged, opts, io);
    io.stdout.write(`\n${renderAuditTable(report, c, { width: io.stdout.columns })}`);
    io.stderr.write(renderAuditErrors(report, makeColors(wantColor(io, 'stderr', !opts.color))));
    const cmd = commandLine(opts);
    const unknownKeys = inspections.flatMap((i) =>
      !i.ok && i.error.kind === 'host-key-unknown' ? [i.target.name] : [],
    );
    if (unknownKeys.length > 0)
      io.stdout.write(
        `unknown host keys on ${visible(unknownKeys.join(', '))}: once you have checked their fingerprints, accept them with\n  ${cmd('', '--accept-new-host-keys')}\n`,
      );

    // Where the kubelet serves anyone (the open-door warning), the opt-in controls that close the
    // door are offered, unticked; ticked, the selection is planned again with them, from the facts
    // already read (only the added controls run).
    const door = channelControls('kubelet-access').filter((id) => !opts.controls.some((k) => k.id === id));
    const open = inspections
      .filter((i) => i.ok && openDoor(i.model.kubelet.settings))
      .map((i) => i.target.name);
    if (door.length > 0 && open.length > 0) {
      const more = await cancellable(
        checkbox<ControlId>({
          message: `The kubelet on ${visible(open.join(', '))} serves anyone (anonymous requests on, AlwaysAllow). Close the door too? (opt-in; the fleet step checks the kube-apiserver can still call it)`,
          choices: door.map((id) => ({
            name: `${id} (${controlById(id).benchmarks.join(', ')})`,
            value: id,
            checked: false,
          })),
        }),
      );
      if (more.length > 0) {
        const added = more.map(controlById);
        opts = { ...opts, controls: [...opts.controls, ...added] };
        judged = judged.map((j) => judgeMore(j, added));
        plan = planJudged(judged, opts, io);
      }
    }

    // One finding a change: a file edited by several controls is one change, taken or left whole.
    const findingOf = (ch: (typeof plan.nodes)[number]['changes'][number]) => changeControls(ch).join('+');
    const fixable = plan.nodes.flatMap((n) =>
      [...new Set([...n.changes.map(findingOf), ...n.blocked.map((b) => b.control)])].map((control) => ({
        node: n.node,
        control,
        // A change is blocked when any control it was made by is.
        blocked: n.blocked.find((b) => control.split('+').includes(b.control)),
      })),
    );
    if (fixable.length === 0) {
      io.stdout.write(`\n${c.green('Nothing to fix on the selected nodes.')}\n`);
      return report.errors.length > 0 ? ExitCode.unreachable : ExitCode.ok;
    }
    const selected = await cancellable(
      checkbox<string>({
        message: 'Findings to fix',
        pageSize: 20,
        choices: fixable.map((f) => ({
          name:
            visible(`${f.node}: ${f.control}`) +
            (f.blocked ? c.red(` (blocked: ${visible(f.blocked.reason)})`) : ''),
          value: `${f.node}\0${f.control}`,
          checked: !f.blocked,
          disabled: f.blocked ? 'blocked' : false,
        })),
      }),
    );
    const wanted = new Set(selected);
    const planned = plan.nodes
      .map((n) => {
        const changes = n.changes.filter((ch) => wanted.has(`${n.node}\0${findingOf(ch)}`));
        return {
          ...n,
          changes,
          blocked: [],
          status: changes.length > 0 ? ('change' as const) : ('compliant' as const),
        };
      })
      .filter((n) => n.changes.length > 0);
    if (planned.length === 0) {
      io.stdout.write('Nothing selected; no node was changed.\n');
      return ExitCode.findings;
    }

    let review = '';
    // The node's text (names, notes, diffs) shown escaped, never as terminal control.
    for (const n of visibleDeep(planned, PLAN_LINES)) {
      review += `\n${c.bold(n.node)} (${n.role ?? 'role unknown'}, ${n.layout ?? 'layout unknown'})\n`;
      for (const ch of n.changes) {
        review += `${colorDiff(ch.diff, c)}\n`;
        if (!ch.durable) review += `${c.yellow('not durable:')} ${ch.notes.join(' ')}\n`;
      }
      review += `restarts: ${restartsOf(n).join('; ')}\n`;
    }
    page(review, io, base.pager);
    const go = await cancellable(
      confirm({
        message: `Apply ${planned.reduce((k, n) => k + n.changes.length, 0)} change(s) to ${planned.length} node(s)? (backups, health gates, automatic rollback)`,
        default: false,
      }),
    );
    if (!go) {
      io.stdout.write('Not applied: no node was changed.\n');
      return ExitCode.cancelled;
    }
    const targets = new Map<string, NodeTarget>(inspections.map((i) => [i.target.name, i.target]));
    if (io.interrupted()) throw new Cancelled();
    io.changing?.();
    const left = fixable.filter((f) => !wanted.has(`${f.node}\0${f.control}`));
    return await runApply({ ...opts, yes: true, keepGoing: false }, io, {
      planned: planned.map((p) => ({ plan: p, target: targets.get(p.node)! })),
      leftFindings: left.map((f) => ({
        node: f.node,
        // A change made by several controls: the later command names them all (--controls a,b).
        control: f.control.replaceAll('+', ','),
        ...(f.blocked ? { blocked: `${f.blocked.reason}; way out: ${f.blocked.fix}` } : {}),
      })),
    });
  } catch (e) {
    if (e instanceof Cancelled) {
      io.stdout.write('\nCancelled: no node was changed.\n');
      return ExitCode.cancelled;
    }
    throw e;
  }
}

/** Checkbox choices grouped by the node's first group (and role, when the inventory gives it). */
function groupedChoices(
  nodes: readonly NodeTarget[],
): (Separator | { name: string; value: string; checked: boolean })[] {
  const groups = new Map<string, NodeTarget[]>();
  for (const n of nodes) {
    const key = n.groups[0] ?? 'ungrouped';
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const out: (Separator | { name: string; value: string; checked: boolean })[] = [];
  for (const [group, members] of groups) {
    out.push(new Separator(`── ${visible(group)}`));
    for (const n of [...members].sort(
      (a, b) => Number(b.role === 'control-plane') - Number(a.role === 'control-plane'),
    ))
      out.push({
        name: visible(`${n.name}  ${n.host}${n.role ? `  ${n.role}` : ''}`),
        value: n.name,
        checked: true,
      });
  }
  return out;
}
