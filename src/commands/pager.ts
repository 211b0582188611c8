import { spawnSync } from 'node:child_process';
import type { Io } from './io.js';

/** The pager to use: KUBEMEND_PAGER, then PAGER (like git's GIT_PAGER, then PAGER), else less. */
export function pagerCommand(env: NodeJS.ProcessEnv): string {
  return env['KUBEMEND_PAGER'] || env['PAGER'] || 'less';
}

/**
 * Shows long text through a pager on a terminal, like git does; prints it when it fits, when
 * there is no terminal, with --no-pager, or when the pager cannot start. A line first says how to
 * leave the pager, since a user who has never met less is otherwise stuck in it.
 */
export function page(text: string, io: Io, usePager: boolean): void {
  const rows = io.stdout.rows || 40;
  if (!usePager || !io.stdout.isTTY || text.split('\n').length < rows - 4) {
    io.stdout.write(text);
    return;
  }
  const pager = pagerCommand(io.env);
  // A pager value may carry arguments ("less -S"): the shell splits it, as git does.
  const [cmd, args] = pager === 'less' ? ['less', ['-R', '-F', '-X']] : ['sh', ['-c', pager]];
  io.stdout.write(`(the diffs open in ${pager}: space shows more, q comes back to kubemend)\n`);
  const r = spawnSync(cmd, args, {
    input: text,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { LESS: 'FRX', ...io.env },
  });
  if (r.error || r.status === 127) io.stdout.write(text);
}
