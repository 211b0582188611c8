/**
 * The few error types kubemend raises, each with a stable exit code. One place (apply/outcome.ts:
 * failureKind, errorExit, outcomeExit) decides what a failure was and maps it to a process exit code; DESIGN.md fixes their precedence: 2, 70, 3, 130, 4, 1, 0.
 */

export const ExitCode = {
  ok: 0,
  findings: 1,
  usage: 2,
  unreachable: 3,
  stalePlan: 4,
  /** A bug in kubemend. Never used for bad input, and never exit 2 once a node was contacted. */
  internal: 70,
  /** Cancelled by the user (Ctrl-C, or no/abort at a prompt). */
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const precedence: readonly ExitCode[] = [2, 70, 3, 130, 4, 1, 0];

/** The highest-precedence code among those that occurred. */
export function worstExit(codes: Iterable<ExitCode>): ExitCode {
  let best: ExitCode = 0;
  for (const code of codes) {
    if (precedence.indexOf(code) < precedence.indexOf(best)) best = code;
  }
  return best;
}

/** A mistake in what the user gave us (flags, inventory, playbook, plan). Exit 2, message only. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** Extra lines, e.g. one per validation problem, each naming file, line and fix. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A node could not be reached, authenticated, or read. Exit 3 when it decides the run. */
export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly node: string,
    message: string,
    /** Stable machine-readable kind, e.g. 'host-key-changed', 'auth', 'timeout', 'sudo-password'. */
    readonly kind: NodeErrorKind,
    /** What the user can do about it. */
    readonly fix?: string,
  ) {
    super(message);
  }
}

export type NodeErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'host-key-unknown'
  | 'host-key-changed'
  /** A host certificate that cannot be trusted (wrong CA, expired, or a client without certificates). */
  | 'host-certificate'
  | 'sudo-password'
  | 'permission'
  | 'remote-command'
  | 'passphrase';

/** A bug in kubemend. Printed with its stack and a request to report it. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}
