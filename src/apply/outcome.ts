/**
 * What a node's run came to, and the one place that decides what a failure was: the node's answer
 * (a step or gate that said no), the node itself (connection, sudo, host key), the user's input, or a
 * bug in kubemend. Apply, recovery, rollback and the CLI's last-resort handler all ask here, so a
 * given error is reported, journalled and turned into an exit code the same way wherever it lands.
 */
import { ExitCode, NodeError, UsageError } from '../errors.js';
import { StepError } from '../node/remote.js';
import type { NodeOutcome } from './node-outcome.js';
import { GateError } from './restart-gate.js';

export type { NodeOutcome };

/**
 * Which kind of failure an error is. A failed step or gate is the node's answer; a NodeError is the
 * node or the way to it; a UsageError is the user's input; anything else is a bug in kubemend.
 */
export type FailureKind = 'step' | 'gate' | 'node' | 'usage' | 'bug';

export function failureKind(e: unknown): FailureKind {
  if (e instanceof StepError) return 'step';
  if (e instanceof GateError) return 'gate';
  if (e instanceof NodeError) return 'node';
  if (e instanceof UsageError) return 'usage';
  return 'bug';
}

export const isBug = (e: unknown): boolean => failureKind(e) === 'bug';

/** Whether an error means the connection is gone (nothing more can be done on the node). */
export const connectionLost = (e: unknown): boolean => e instanceof NodeError && e.kind === 'unreachable';

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** An error as an outcome's reason: its message, and for a bug the words that say so. */
export const failureReason = (e: unknown): string =>
  isBug(e) ? `internal error (a bug in kubemend): ${messageOf(e)}` : messageOf(e);

/** The `internal` mark an outcome carries when its failure was a bug (exit 70). */
export const internalMark = (e: unknown): { internal?: true } => (isBug(e) ? { internal: true } : {});

/** The node a failure names (a NodeError's, a failed step's), if any. */
export const failedNode = (e: unknown): string | undefined =>
  e instanceof NodeError || e instanceof StepError ? e.node : undefined;

/** The step a failure is journalled under. */
export const failedStep = (e: unknown): string =>
  e instanceof StepError || e instanceof GateError ? e.step : isBug(e) ? 'internal' : 'node';

/** An error that ended a command, as its exit code (DESIGN.md "Exit codes"). */
export function errorExit(e: unknown): ExitCode {
  switch (failureKind(e)) {
    case 'usage':
      return ExitCode.usage;
    case 'node':
    case 'step':
    case 'gate':
      // A node could not be read or changed; its answer ended the command.
      return ExitCode.unreachable;
    case 'bug':
      // 70, never 2: exit 2 promises that no node was touched, which a bug cannot promise.
      return ExitCode.internal;
  }
}

/** A node's outcome as its exit code; the run exits with the worst of them (errors.ts worstExit). */
export function outcomeExit(o: NodeOutcome): ExitCode {
  if ('internal' in o && o.internal) return ExitCode.internal;
  switch (o.status) {
    case 'applied':
    case 'already-applied':
    case 'compliant':
      return ExitCode.ok;
    case 'stale':
      return ExitCode.stalePlan;
    case 'error':
    case 'rollback-failed':
      return ExitCode.unreachable;
    default:
      // rolled-back, blocked, skipped, recovered (a dead run was undone; this run fixed nothing there)
      return ExitCode.findings;
  }
}
