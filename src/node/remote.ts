/**
 * The one way kubemend runs anything on a node: a script from src/node/scripts/ (POSIX sh, checked
 * by shellcheck), its values as positional arguments or on stdin. A value that came from a plan, an
 * inventory or a node (a path, a sha256, a URL, file content) is data and never part of a script's
 * text: `sh -c SCRIPT kubemend-NAME ARG…`, every word quoted by the one function shQuote. With
 * `become: sudo` the session wraps that whole line in `sudo -n sh -c …`, quoted the same way.
 */
import { readFileSync } from 'node:fs';
import { NodeError } from '../errors.js';
import { overflowText } from './ssh/session-parts.js';
import { shQuote } from './ssh/shell.js';
import type { ExecOptions, ExecResult, NodeSession } from './ssh/types.js';

import { INFLIGHT_FILE, LOCK_DIR, STATE_DIR } from '../facts/kubemend-state.js';

export { INFLIGHT_FILE, STATE_DIR };
export const BACKUP_ROOT = `${STATE_DIR}/backups`;

export type ScriptName =
  | 'apiserver-state'
  | 'backup'
  | 'gather'
  | 'inflight-clear'
  | 'inflight-read'
  | 'inflight-write'
  | 'issue-cert'
  | 'journal-append'
  | 'kubelet-journal'
  | 'kubelet-state'
  | 'list-backups'
  | 'lock'
  | 'lock-owner'
  | 'metadata-write'
  | 'node-time'
  | 'read-file'
  | 'restart-kubelet'
  | 'restore'
  | 'trust-probe'
  | 'write-file';

const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);
const cache = new Map<ScriptName, string>();

/**
 * A script's text, as shipped (src/node/scripts/, copied to dist/node/scripts/ by the build), with
 * each `. /kubemend/lib/NAME.sh` line replaced by that file of scripts/lib/: one remote command
 * stays one text, and a check several scripts need (safe-dir.sh) is written once.
 */
export function scriptText(name: ScriptName): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = withLibraries(readFileSync(new URL(`${name}.sh`, SCRIPTS_DIR), 'utf8'));
    cache.set(name, text);
  }
  return text;
}

/**
 * Shell files that scripts share live in scripts/lib/ and are never run alone. A node has no file
 * of ours to source, so a line `. /kubemend/lib/NAME.sh` is replaced by that library's text (its
 * comment lines left out) before the script is sent.
 */
function withLibraries(text: string): string {
  return text.replace(/^\. \/kubemend\/lib\/([a-z-]+)\.sh$/gm, (_, lib: string) =>
    readFileSync(new URL(`lib/${lib}.sh`, SCRIPTS_DIR), 'utf8')
      .replace(/^[ \t]*#.*\n/gm, '')
      .trimEnd(),
  );
}

/**
 * The scripts that keep kubemend's state on the node (backups, the inflight record, the lock): their
 * directories come in the environment, KUBEMEND_STATE_DIR (STATE_DIR) and KUBEMEND_LOCK_DIR
 * (LOCK_DIR), set on the command line itself (so a value the node's environment holds never counts)
 * and never written into a script's text.
 */
const STATE_SCRIPTS: ReadonlySet<ScriptName> = new Set<ScriptName>([
  'backup',
  'inflight-clear',
  'inflight-read',
  'inflight-write',
  'issue-cert',
  'journal-append',
  'list-backups',
  'lock',
  'lock-owner',
  'metadata-write',
  'restore',
]);

/** The environment a script runs with: `KUBEMEND_STATE_DIR=… KUBEMEND_LOCK_DIR=…` for STATE_SCRIPTS. */
export function scriptEnv(name: ScriptName): Record<string, string> {
  return STATE_SCRIPTS.has(name) ? { KUBEMEND_STATE_DIR: STATE_DIR, KUBEMEND_LOCK_DIR: LOCK_DIR } : {};
}

/**
 * The command line that runs a script with its arguments: `[VAR='…'…] sh -c 'TEXT' kubemend-NAME 'ARG'…`
 * (the assignments of scriptEnv, quoted like every value).
 */
export function scriptCommand(name: ScriptName, args: readonly string[] = []): string {
  const env = Object.entries(scriptEnv(name)).map(([k, v]) => `${k}=${shQuote(v)}`);
  return [...env, 'sh', '-c', shQuote(scriptText(name)), `kubemend-${name}`, ...args.map(shQuote)].join(' ');
}

/**
 * The reason words a script gives with `KMFAIL <reason> <message>` (every one in scripts/*.sh), and
 * the ones kubemend gives itself: 'failed' (a non-zero exit without a known word), 'timeout' (killed
 * after its bound), 'too-large' (it said more than the bound). A word a node sends that is not in this
 * list reads as 'failed': the node's text never picks a branch kubemend has no name for.
 */
export const STEP_FAILURES = [
  'absent',
  'exists',
  'issue',
  'link',
  'nospace',
  'other-run',
  'restart',
  'restore',
  'stale',
  'tool',
  'unsafe',
  'usage',
  'write',
  'failed',
  'timeout',
  'too-large',
] as const;
export type StepFailure = (typeof STEP_FAILURES)[number];

const stepFailure = (word: string | undefined): StepFailure =>
  STEP_FAILURES.find((f) => f === word) ?? 'failed';

/**
 * Why a remote step failed: the script said so (`KMFAIL <reason> <message>` on stderr and a
 * non-zero exit), it exited non-zero without saying why, or it was killed after its timeout while
 * the connection stayed up. A lost connection is not a StepError: it stays a NodeError
 * 'unreachable', because nothing more can be done on the node from here.
 */
export class StepError extends Error {
  override readonly name = 'StepError';
  constructor(
    readonly node: string,
    /** The step of the sequence, e.g. "backup", "health: kubelet". */
    readonly step: string,
    readonly script: ScriptName,
    /** The script's exit status; null when it was killed (timeout) or died from a signal. */
    readonly status: number | null,
    /** The script's own reason word (stale, link, nospace, exists, write, restore…), or 'failed' / 'timeout'. */
    readonly reason: StepFailure,
    /** What the script said, or the tail of its stderr. */
    readonly detail: string,
    readonly stderrTail: string,
  ) {
    super(
      `${node}: ${step} failed: ${detail} (${script}.sh, ${status === null ? 'no exit status' : `exit ${status}`})`,
    );
  }
}

/** The last lines of a script's stderr, for messages (a few KiB at most: a node may send megabytes on one line). */
const tail = (s: string, lines = 8) => s.slice(-4096).trimEnd().split('\n').slice(-lines).join('\n');

/** Reads the `KMFAIL <reason> <message>` a script printed on failure (the last one wins). */
export function scriptFailure(stderr: string): { reason: StepFailure; message: string } | undefined {
  const at = stderr.lastIndexOf('KMFAIL ');
  if (at < 0) return undefined;
  const m = /^KMFAIL (\S+) ?([\s\S]*)$/.exec(stderr.slice(at).trimEnd());
  return m ? { reason: stepFailure(m[1]), message: m[2] ?? '' } : undefined;
}

export interface RunOptions extends Omit<ExecOptions, 'timeoutSec'> {
  /** The step of the apply sequence this belongs to, for messages and the journal. */
  step: string;
  timeoutSec?: number;
}

/**
 * Runs a script and returns its result when it exits 0. Throws StepError when it fails or times
 * out with the connection alive, NodeError 'unreachable' when the connection is lost, and the
 * session's own NodeErrors (sudo refused) as they are.
 */
export async function runScript(
  session: NodeSession,
  name: ScriptName,
  args: readonly string[],
  opts: RunOptions,
): Promise<ExecResult> {
  const { step, ...exec } = opts;
  let r: ExecResult;
  try {
    r = await session.exec(scriptCommand(name, args), { timeoutSec: 60, ...exec });
  } catch (e) {
    if (e instanceof NodeError && e.kind === 'timeout')
      throw new StepError(
        session.node,
        step,
        name,
        null,
        'timeout',
        `did not finish within ${exec.timeoutSec ?? 60}s and was killed`,
        '',
      );
    throw e;
  }
  // Past the bound nothing the script said can be trusted to be whole, not even a KMFAIL line.
  if (r.truncated)
    throw new StepError(
      session.node,
      step,
      name,
      r.code,
      'too-large',
      overflowText(r.overflow ?? 'stdout', exec.maxBytes),
      tail(r.stderr),
    );
  if (r.code === 0) return r;
  const said = scriptFailure(r.stderr);
  const detail = said?.message || tail(r.stderr) || 'no message';
  throw new StepError(session.node, step, name, r.code, said?.reason ?? 'failed', detail, tail(r.stderr));
}
