import { realClock } from '../apply/clock.js';
import { defaultJournalPath, Journal } from '../apply/journal.js';
import { lockAndRecover, nodeLog } from '../apply/locked.js';
import { manualSteps } from '../apply/node-apply.js';
import { leftNotes, rollBack } from '../apply/recover.js';
import type { Gate } from '../apply/restart-gate.js';
import { unifiedDiff } from '../edits/diff.js';
import { ExitCode, UsageError } from '../errors.js';
import { nodeModel } from '../facts/model.js';
import { backupDir, nodeFileAbsent, readNodeFile, type Inflight } from '../node/changes.js';
import { gatherFacts } from '../node/gather.js';
import { withSession } from '../node/ssh/index.js';
import { loadBuiltinPlaybooks } from '../playbook/load.js';
import { makeColors } from '../report/colors.js';
import { errorLine } from '../report/error-line.js';
import { colorDiff } from '../report/plan-render.js';
import { visible } from '../report/visible.js';
import { TOOL } from '../version.js';
import { nodeTarget, readBackups, sessionOptions } from './backups.js';
import { wantColor, type Io } from './io.js';
import type { CommonOptions } from './options.js';
import { commandLine } from './rerun.js';
import { StageBoard } from './stage-board.js';

export interface RollbackOptions extends CommonOptions {
  node: string;
  backup?: string;
  yes: boolean;
  journal?: string;
}

/**
 * Restores a node to one of its backups (default: the newest), then restarts and waits for health.
 * Under the node lock from the start: a run that died on the node is recovered first, and only the
 * inflight record of the run being restored is ever cleared.
 */
export async function runRollback(opts: RollbackOptions, io: Io): Promise<ExitCode> {
  const interactive = io.stdinIsTTY && Boolean(io.stdout.isTTY);
  if (!opts.yes && !interactive)
    throw new UsageError(
      'rollback changes the node and needs a confirmation: run it on a terminal, or pass --yes',
    );
  const target = await nodeTarget(opts, io, opts.node);
  const journal = new Journal(opts.journal ?? defaultJournalPath(io.env), () => io.now());
  const c = makeColors(wantColor(io, 'stdout', !opts.color));
  const ec = makeColors(wantColor(io, 'stderr', !opts.color));
  const board = new StageBoard(io);
  // What is printed of the node's text (reasons, paths, the backup's metadata) is escaped.
  const name = visible(target.name);
  return withSession(target, sessionOptions(opts, io), async (session) => {
    const runId = `rollback-${io.now().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
    const log = nodeLog(journal, session, { runId, node: target.name }, null);
    // The generic playbook's health timeouts: a backup does not record the playbook it came from.
    const { timeouts } = loadBuiltinPlaybooks().find((p) => p.name === 'generic')!;
    const gate: Gate = {
      timeouts,
      clock: realClock,
      onStage: (stage, detail, g) => board.update(target.name, `${stage}${detail ? `: ${detail}` : ''}`, g),
    };
    return lockAndRecover<ExitCode>(
      session,
      {
        runId,
        now: () => io.now(),
        log,
        recover: { node: target.name, gather: {}, gate },
        refused: (reason) => {
          io.stderr.write(errorLine(target.name, reason, ec));
          return ExitCode.unreachable;
        },
      },
      async (recovery) => {
        board.endBatch();
        if (recovery.kind === 'unreadable') {
          io.stderr.write(errorLine(target.name, recovery.reason, ec));
          return ExitCode.unreachable;
        }
        if (recovery.kind === 'failed') {
          io.stderr.write(`${errorLine(target.name, recovery.reason, ec)}  recover ${name} by hand:\n`);
          for (const s of manualSteps(target.name, recovery.run)) io.stderr.write(`    ${visible(s)}\n`);
          return ExitCode.unreachable;
        }
        if (recovery.kind === 'recovered') {
          io.stdout.write(
            `${name}: run ${visible(recovery.run.runId)} had died here mid-apply; its backup was restored first, and the node is healthy\n`,
          );
          for (const l of leftNotes(target.name, recovery.left)) io.stderr.write(`kubemend: ${visible(l)}\n`);
          // Asked for that very backup (or for the newest, which it is): it is restored now.
          if (!opts.backup || opts.backup === recovery.run.runId)
            return recovery.left.length > 0 ? ExitCode.findings : ExitCode.ok;
        }

        const backups = await readBackups(session);
        const chosen = opts.backup ? backups.find((b) => b.id === opts.backup) : backups.at(-1);
        // The node was read, so not exit 2 (DESIGN.md: exit 2 means no node was contacted); nothing changed.
        if (!chosen) {
          io.stderr.write(
            `kubemend: ${opts.backup ? `node ${name} has no backup ${visible(opts.backup)}` : `node ${name} has no kubemend backups`}: nothing was changed\n` +
              `  list them with: ${visible(commandLine(opts)('backups', '--node', target.name))}\n`,
          );
          return ExitCode.findings;
        }
        const dir = backupDir(chosen.id);
        const id = visible(chosen.id);
        io.stdout.write(`backup ${id} (on ${name}: ${visible(dir)})\n`);
        // Created files already gone: with every modified file as in the backup, nothing to restart.
        const absent: string[] = [];
        for (const f of chosen.files) {
          if (f.action === 'created') {
            // A file that cannot be read is there: it is removed (while still kubemend's), and the node restarted.
            if (await nodeFileAbsent(session, f.path).catch(() => false)) {
              absent.push(f.path);
              io.stdout.write(`${visible(f.path)}: already gone (kubemend created it in ${id})\n`);
            } else
              io.stdout.write(
                `${c.bold(`delete ${visible(f.path)}`)} (kubemend created it in ${id}; removed only while its sha256 is still ${visible(f.sha256) || 'the one kubemend wrote, which this backup does not record: it stays'})\n`,
              );
            continue;
          }
          const [now, then] = await Promise.all([
            readNodeFile(session, f.path).catch(() => ''),
            readNodeFile(session, `${dir}/${f.copy ?? ''}`),
          ]);
          const diff = unifiedDiff(target.name, f.path, now, then);
          io.stdout.write(
            diff ? colorDiff(diff, c) + '\n' : `${visible(f.path)}: already as in the backup\n`,
          );
        }
        if (!opts.yes) {
          const { confirm } = await import('@inquirer/prompts');
          const ok = await confirm({
            message: `Restore ${name} to backup ${id}?`,
            default: false,
          }).catch(() => false);
          if (!ok) {
            io.stdout.write(`Not restored: nothing on ${name} was changed.\n`);
            return ExitCode.cancelled;
          }
        }
        const model = nodeModel(await gatherFacts(session));
        const run: Inflight = {
          runId: chosen.id,
          tool: TOOL,
          startedAt: io.now().toISOString(),
          backup: dir,
          restarts: [...new Set(chosen.files.map((f) => f.restart ?? 'kubelet'))],
          files: chosen.files,
        };
        await log('rollback-start', { backup: chosen.id }, chosen.id);
        const { error, left, restarted } = await rollBack(session, run, model, gate, log, { absent });
        board.endBatch();
        for (const l of leftNotes(target.name, left)) io.stderr.write(`kubemend: ${visible(l)}\n`);
        if (error) {
          io.stderr.write(errorLine(target.name, `rollback to ${chosen.id} failed: ${error}`, ec));
          return ExitCode.unreachable;
        }
        if (left.length > 0) {
          io.stdout.write(
            `${name}: restored to backup ${id}, restarted and healthy, except ${left.length} created file(s) left in place (above)\n`,
          );
          return ExitCode.findings;
        }
        io.stdout.write(
          restarted
            ? `${name}: restored to backup ${id}, restarted and healthy\n`
            : `${name}: nothing to restore: every file is already as in backup ${id}; nothing was restarted\n`,
        );
        return ExitCode.ok;
      },
    );
  });
}
