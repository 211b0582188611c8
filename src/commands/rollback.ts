import { realClock } from '../apply/clock.js';
import { defaultJournalPath, Journal } from '../apply/journal.js';
import { takeNodeLock } from '../apply/lock.js';
import { rollBack, type Inflight } from '../apply/node-apply.js';
import { unifiedDiff } from '../edits/diff.js';
import { ExitCode, UsageError } from '../errors.js';
import { nodeModel } from '../facts/model.js';
import { appendNodeJournalScript, BACKUP_ROOT, shq } from '../node/change-scripts.js';
import { gatherFacts } from '../node/gather.js';
import { withSession } from '../node/ssh/index.js';
import { loadBuiltinPlaybooks } from '../playbook/load.js';
import { makeColors } from '../report/colors.js';
import { colorDiff } from '../report/plan-render.js';
import { TOOL } from '../version.js';
import { nodeTarget, readBackups, sessionOptions } from './backups.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';

export interface RollbackOptions extends CommonOptions {
  node: string;
  backup?: string;
  yes: boolean;
  journal?: string;
}

/** Restores a node to one of its backups (default: the newest), then restarts and waits for health. */
export async function runRollback(opts: RollbackOptions, io: Io): Promise<ExitCode> {
  const interactive = io.stdinIsTTY && Boolean(io.stdout.isTTY);
  if (!opts.yes && !interactive)
    throw new UsageError(
      'rollback changes the node and needs a confirmation: run it on a terminal, or pass --yes',
    );
  const target = await nodeTarget(opts, opts.node);
  const journal = new Journal(opts.journal ?? defaultJournalPath(io.env), () => io.now());
  const c = makeColors(wantColor(io, 'stdout', !opts.color));
  return withSession(target, sessionOptions(opts, io), async (session) => {
    const backups = await readBackups(session);
    const chosen = opts.backup ? backups.find((b) => b.id === opts.backup) : backups.at(-1);
    if (!chosen)
      throw new UsageError(
        opts.backup
          ? `node ${target.name} has no backup ${opts.backup}`
          : `node ${target.name} has no kubemend backups`,
        [`list them with: kubemend backups --node ${target.name}`],
      );
    const dir = `${BACKUP_ROOT}/${chosen.id}`;
    for (const f of chosen.files) {
      if (f.action === 'created') {
        io.stdout.write(`${c.bold(`delete ${f.path}`)} (kubemend created it in ${chosen.id})\n`);
        continue;
      }
      const read = async (p: string) => (await session.exec(`cat ${shq(p)}`, { timeoutSec: 30 })).stdout;
      const [now, then] = await Promise.all([read(f.path), read(`${dir}/${f.copy ?? ''}`)]);
      const diff = unifiedDiff(target.name, f.path, now, then);
      io.stdout.write(diff ? colorDiff(diff, c) + '\n' : `${f.path}: already as in the backup\n`);
    }
    if (!opts.yes) {
      const { confirm } = await import('@inquirer/prompts');
      const ok = await confirm({
        message: `Restore ${target.name} to backup ${chosen.id}?`,
        default: false,
      }).catch(() => false);
      if (!ok) {
        io.stdout.write('nothing changed\n');
        return ExitCode.findings;
      }
    }
    const runId = `rollback-${chosen.id}`;
    const taken = await takeNodeLock(session, runId, io.now());
    if (!taken.ok) {
      io.stderr.write(`kubemend: ${taken.reason}\n`);
      return ExitCode.unreachable;
    }
    try {
      const model = nodeModel(await gatherFacts(session));
      const run: Inflight = {
        runId: chosen.id,
        tool: TOOL,
        startedAt: io.now().toISOString(),
        backup: dir,
        restarts: [...new Set(chosen.files.map((f) => f.restart ?? 'kubelet'))],
        files: chosen.files,
      };
      const log = async (event: string, extra: Record<string, unknown> = {}) => {
        const line = journal.write({ runId, node: target.name, event, ...extra });
        await session
          .exec(appendNodeJournalScript(chosen.id, line), { timeoutSec: 30 })
          .catch(() => undefined);
      };
      await log('rollback-start', { backup: chosen.id });
      // The generic playbook's health timeouts: a backup does not record the playbook it came from.
      const { timeouts } = loadBuiltinPlaybooks().find((p) => p.name === 'generic')!;
      const error = await rollBack(session, run, model, { timeouts, clock: realClock }, log);
      if (error) {
        io.stderr.write(`kubemend: rollback of ${target.name} to ${chosen.id} failed: ${error}\n`);
        return ExitCode.unreachable;
      }
      io.stdout.write(`${target.name}: restored to backup ${chosen.id}, restarted and healthy\n`);
      return ExitCode.ok;
    } finally {
      await taken.lock.release();
    }
  });
}
