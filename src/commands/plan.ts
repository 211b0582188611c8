import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { currentMember, judgeCurrent, loadGivenCertificates, warnResults } from './fleet.js';
import { gatherNeeds } from '../controls/index.js';
import { ExitCode, UsageError, worstExit } from '../errors.js';
import type { NodeTarget } from '../inventory/types.js';
import type { GatherOptions } from '../node/gather-script.js';
import type { Inspection } from '../node/inspect.js';
import { loadBuiltinPlaybooks, playbookFor, resolvePlaybook, withParams } from '../playbook/load.js';
import type { Playbook } from '../playbook/types.js';
import {
  judgeRead,
  planExitCode,
  planFileOf,
  planRead,
  type JudgedRead,
  type PlannedNode,
} from '../plan/build.js';
import type { PlanFile } from '../plan/types.js';
import { makeColors } from '../report/colors.js';
import type { AuditResult } from '../controls/types.js';
import { errorLine } from '../report/error-line.js';
import { renderPlanMarkdown } from '../report/plan-markdown.js';
import { writeJson } from '../report/json-stream.js';
import { renderPlanPatch, renderPlanText } from '../report/plan-render.js';
import { inspectSelectedKeeping } from './audit.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { PLAN_NAMESPACE, signingKey, signPlan } from './plan-binding.js';
import { commandLine } from './rerun.js';
import { shellWord } from '../node/ssh/shell.js';
import { loadTemplates } from './templates.js';

export interface PlanOptions extends CommonOptions {
  out?: string;
  diff?: string;
  /** --sign KEY: sign the plan file into OUT.sig (OpenSSH sshsig, namespace kubemend-plan). */
  sign?: string;
  issueCerts?: boolean;
}

/** Every path a playbook may point a fix at, so one gather sees them all (no second round trip). */
export function gatherFor(playbooks: readonly Playbook[]): GatherOptions {
  const needs = gatherNeeds(playbooks);
  return { extraFiles: needs.files, extraKeys: needs.keys, extraPairs: needs.pairs };
}

/** The playbook for each node: inventory `playbook`, else -p, else by layout; then the node's params. */
export function choosePlaybook(
  target: NodeTarget,
  layout: string | null,
  cli: string | undefined,
  builtins: Playbook[],
): Playbook {
  const base = playbookFor(
    layout,
    { ...(target.playbook ? { node: target.playbook } : {}), ...(cli ? { cli } : {}) },
    builtins,
  );
  return withParams(base, target.params, `node ${target.name}`);
}

/** What `plan` gathers on a node: every path any playbook it may use could point a fix at. */
export function gatherForTarget(
  target: NodeTarget,
  cli: string | undefined,
  builtins: readonly Playbook[],
): GatherOptions {
  const candidates = [...builtins, ...(cli ? [resolvePlaybook(cli)] : [])];
  if (target.playbook) candidates.push(resolvePlaybook(target.playbook));
  return gatherFor(candidates.map((p) => withParams(p, target.params, `node ${target.name}`)));
}

interface PlanContextAll {
  opts: PlanOptions;
  builtins: Playbook[];
  templates: ReturnType<typeof loadTemplates>;
  /** Each node is judged at the time it was read. */
  now: () => Date;
}

/** Audits and plans one node as it finishes reading (plan/build.ts), with its playbook and fleet member. */
const planOne = (
  i: Inspection,
  ctx: PlanContextAll,
  keep: boolean,
  keepResults: boolean,
  judged?: { at: Date; judged: readonly AuditResult[] },
): PlannedNode<Inspection> =>
  planRead(i, {
    controls: ctx.opts.controls,
    templates: ctx.templates,
    ...(ctx.opts.issueCerts ? { issueCerts: true } : {}),
    current: currentMember(i),
    playbook: (model) => choosePlaybook(i.target, model.layout, ctx.opts.playbook, ctx.builtins),
    now: judged?.at ?? ctx.now(),
    keep,
    keepResults,
    ...(judged ? { judged: judged.judged } : {}),
  });

/**
 * Audits and plans the selected nodes, each on its own as it is read and then together (the fleet
 * step, from each node's small summary). keepInspections: each node's facts are kept too (apply
 * and the session go on with them); otherwise they are dropped as each node is planned.
 * keepResults false: each node's audit results are dropped too (results comes back empty).
 */
async function planSelected(
  opts: PlanOptions,
  io: Io,
  keepInspections: boolean,
  keepResults = true,
): Promise<{ plan: PlanFile; planned: PlannedNode<Inspection>[]; results: AuditResult[] }> {
  const builtins = loadBuiltinPlaybooks();
  if (opts.playbook) resolvePlaybook(opts.playbook); // a bad -p is exit 2 before any node
  const given = loadGivenCertificates(opts.apiserverKubeletCert);
  const ctx: PlanContextAll = { opts, builtins, templates: loadTemplates(), now: () => io.now() };
  const planned = await inspectSelectedKeeping(
    opts,
    io,
    'planning',
    (i) => planOne(i, ctx, keepInspections, keepResults),
    (target) => gatherForTarget(target, opts.playbook, builtins),
  );
  const { plan, results } = planFileOf(planned, {
    createdAt: io.now(),
    controls: opts.controls,
    given,
    fleetWarn: (results, members) => warnResults(results, judgeCurrent(members, given)),
  });
  return { plan, planned, results };
}

/** Audits and plans the selected nodes, keeping each node's facts (apply). */
export async function buildPlan(
  opts: PlanOptions,
  io: Io,
): Promise<{ plan: PlanFile; inspections: Inspection[]; results: AuditResult[] }> {
  const { plan, planned, results } = await planSelected(opts, io, true);
  return { plan, inspections: planned.flatMap((p) => p.inspection ?? []), results };
}

export { planExitCode };

/**
 * The session reads the selected nodes once, as plan does (the same paths gathered), and runs each
 * control once on each: its audit table and its plan are both made from these results.
 */
export async function readJudged(opts: PlanOptions, io: Io): Promise<JudgedRead<Inspection>[]> {
  const builtins = loadBuiltinPlaybooks();
  if (opts.playbook) resolvePlaybook(opts.playbook); // a bad -p is exit 2 before any node
  return inspectSelectedKeeping(
    opts,
    io,
    'planning',
    (i) => judgeRead(i, opts.controls, io.now()),
    (target) => gatherForTarget(target, opts.playbook, builtins),
  );
}

/** The plan of nodes judged already (readJudged): no node is contacted and no control run again. */
export function planJudged(nodes: readonly JudgedRead<Inspection>[], opts: PlanOptions, io: Io): PlanFile {
  const ctx: PlanContextAll = {
    opts,
    builtins: loadBuiltinPlaybooks(),
    templates: loadTemplates(),
    now: () => io.now(),
  };
  return planFileOf(
    nodes.map((n) => planOne(n.read, ctx, false, true, n)),
    {
      createdAt: io.now(),
      controls: opts.controls,
      given: loadGivenCertificates(opts.apiserverKubeletCert),
      // The results' fleet warnings are the audit's (shown before the plan); the plan file has none.
      fleetWarn: () => undefined,
    },
  ).plan;
}

/**
 * Before any node is contacted: --out and --diff must be writable, so a typo in a path is exit 2
 * (no node contacted) and not a plan computed on every node and then lost.
 */
function checkWritable(path: string, what: string): void {
  const dir = dirname(resolve(path));
  const refuse = (why: string, fix: string) => {
    throw new UsageError(`cannot write ${what} ${path}: ${why}`, [fix]);
  };
  try {
    if (!statSync(dir).isDirectory())
      refuse(`${dir} is not a directory`, 'give a path in an existing directory');
    accessSync(dir, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    refuse(
      `${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'give a path in an existing directory you can write to',
    );
  }
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isFile())
    refuse('it exists and is not a regular file', 'give the path of a file');
}

/** Whole or not at all: a temp file beside the target, written piece by piece, then a rename over it. */
function writeOut(
  path: string,
  content: string | ((write: (s: string) => void) => void),
  what: string,
): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.tmp`);
  try {
    if (typeof content === 'string') writeFileSync(tmp, content, { flag: 'wx' });
    else {
      const fd = openSync(tmp, 'wx');
      try {
        content((s) => writeSync(fd, s));
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(
      `cannot write ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/**
 * The plan file's text (`JSON.stringify(plan, null, 2)` and a newline) to `write`, piece by piece
 * (report/json-stream.ts): a large fleet's plan is megabytes, never held as one string.
 */
export function writePlanJson(plan: PlanFile, write: (chunk: string) => void): void {
  writeJson(plan, write);
  write('\n');
}

/** The plan file's text to `write`, returning its sha256 (what apply --plan-sha256 checks). */
function writeHashed(plan: PlanFile, write: (chunk: string) => void): string {
  const hash = createHash('sha256');
  writePlanJson(plan, (chunk) => {
    hash.update(chunk);
    write(chunk);
  });
  return hash.digest('hex');
}

export async function runPlan(opts: PlanOptions, io: Io): Promise<ExitCode> {
  if (opts.output === 'junit') throw new UsageError('plan has no junit output; use table, json or markdown');
  if (opts.sign && !opts.out)
    throw new UsageError('--sign signs the plan file: give it with --out FILE', [
      'kubemend plan --out change.plan.json --sign ~/.ssh/id_ed25519',
    ]);
  if (opts.out) checkWritable(opts.out, 'the plan file');
  if (opts.diff) checkWritable(opts.diff, 'the patch');
  // Before any node: ssh-keygen is there and the key is one it can use.
  const signWith = opts.sign
    ? { key: opts.sign, fingerprint: await signingKey(opts.sign, io.env) }
    : undefined;
  const sigPath = opts.out && `${opts.out}.sig`;
  if (sigPath && signWith) checkWritable(sigPath, 'the plan signature');
  // The audit results are shown only by the Markdown ticket: no other output keeps them.
  const { plan, results, planned } = await planSelected(opts, io, false, opts.output === 'markdown');
  let signed: { path: string; key: string } | undefined;
  let unsigned = false;
  let sha256: string | undefined;
  const out = opts.out;
  if (out) writeOut(out, (write) => (sha256 = writeHashed(plan, write)), 'the plan file');
  if (out && sigPath && signWith) {
    try {
      // The same text again, whole (only a signed plan is held as one string), not read back.
      const text: string[] = [];
      writePlanJson(plan, (chunk) => text.push(chunk));
      writeOut(sigPath, await signPlan(signWith.key, text.join(''), io.env), 'the plan signature');
      signed = { path: sigPath, key: signWith.fingerprint };
    } catch (e) {
      // The nodes were read: not exit 2. The plan stays written, for a signature made by hand.
      unsigned = true;
      io.stderr.write(
        `error: the plan was written to ${out} but not signed: ${(e as Error).message}\n` +
          `  sign it by hand: ssh-keygen -Y sign -n ${PLAN_NAMESPACE} -f ${shellWord(signWith.key)} ${shellWord(out)}` +
          ` (a key with a passphrase: load it first with ssh-add)\n`,
      );
    }
  }
  if (opts.diff) writeOut(opts.diff, renderPlanPatch(plan), 'the patch');
  const errColors = makeColors(wantColor(io, 'stderr', !opts.color));
  for (const p of planned)
    if (p.error) io.stderr.write(errorLine(p.target.name, p.error.message, errColors, p.error.fix));
  // The plan file's sha256 for the lines below (computed as it was written).
  const digest = (): string => (sha256 ??= writeHashed(plan, () => undefined));
  switch (opts.output) {
    case 'json':
      // The same text as the plan file, written again piece by piece (megabytes on a large fleet).
      writePlanJson(plan, (chunk) => io.stdout.write(chunk));
      break;
    case 'markdown':
      io.stdout.write(
        renderPlanMarkdown(plan, {
          results,
          ...(opts.out
            ? {
                file: { path: opts.out, sha256: digest(), ...(signed ? { signature: signed } : {}) },
                applyCommand: commandLine(opts)(
                  'apply',
                  '--plan',
                  opts.out,
                  '--plan-sha256',
                  digest(),
                  '--yes',
                ),
              }
            : {}),
        }),
      );
      break;
    default:
      io.stdout.write(renderPlanText(plan, makeColors(wantColor(io, 'stdout', !opts.color))));
      if (opts.out)
        io.stdout.write(
          `plan written to ${opts.out} (sha256 ${digest()}): apply it with ${commandLine(opts)('apply', '--plan', opts.out, '--plan-sha256', digest())}\n`,
        );
      if (signed) io.stdout.write(`signature written to ${signed.path} (${signed.key})\n`);
      if (opts.diff) io.stdout.write(`patch written to ${opts.diff}\n`);
  }
  return unsigned ? worstExit([planExitCode(plan), ExitCode.findings]) : planExitCode(plan);
}
