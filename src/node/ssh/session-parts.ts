/**
 * What the two NodeSession implementations (ssh2 in session.ts, the system ssh in
 * openssh-session.ts) must do alike: when to use sudo, the output bound, the lock holder's heartbeat.
 */
import type { EventEmitter } from 'node:events';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { shorten, sudoError, sudoFailure } from './shell.js';
import type { ExecResult, HeldCommand } from './types.js';

/**
 * The one bound on what kubemend keeps of any stream a node sends (each of stdout and stderr of a
 * command, the lock holder's streams): past it kubemend stops the producer and fails the step.
 */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

const inWords = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;

/** The words every overflow error uses: "sent more than 16 MiB on stdout, kubemend's bound; it was stopped". */
export function overflowText(stream: string, maxBytes = DEFAULT_MAX_BYTES): string {
  return `sent more than ${inWords(maxBytes)} on ${stream}, kubemend's bound on what a node may send; it was stopped`;
}
/** How often hold() writes a line to the held command's stdin. */
export const HOLD_HEARTBEAT_MS = 5_000;

/** Whether exec wraps the command in `sudo -n`. */
export function usesSudo(target: NodeTarget, asRoot: boolean): boolean {
  return asRoot && target.become === 'sudo' && target.user !== 'root';
}

/** exec on a session that is closed or whose connection is gone. */
export function closedError(
  node: string,
  command: string,
  closing: boolean,
  lost: string | undefined,
): NodeError {
  return new NodeError(
    node,
    `cannot run '${shorten(command)}' on node ${node}: ${closing ? 'the session is closed' : `connection lost (${lost})`}`,
    'unreachable',
  );
}

/** stdout and stderr, each kept up to maxBytes; past it `stop` is called once (the producer is stopped, not drained). */
export class BoundedOutput {
  private readonly sinks = {
    out: { chunks: [] as Buffer[], bytes: 0 },
    err: { chunks: [] as Buffer[], bytes: 0 },
  };
  truncated = false;
  /** The stream that passed the bound first. */
  overflow: 'stdout' | 'stderr' | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly stop: () => void,
  ) {}

  take(which: 'out' | 'err', chunk: Buffer): void {
    if (this.truncated) return;
    const sink = this.sinks[which];
    const room = this.maxBytes - sink.bytes;
    if (chunk.length > room) {
      if (room > 0) sink.chunks.push(chunk.subarray(0, room));
      sink.bytes = this.maxBytes;
      this.truncated = true;
      this.overflow = which === 'out' ? 'stdout' : 'stderr';
      this.stop();
      return;
    }
    sink.chunks.push(chunk);
    sink.bytes += chunk.length;
  }

  text(which: 'out' | 'err'): string {
    return Buffer.concat(this.sinks[which].chunks).toString('utf8');
  }

  /** The result fields that say whether (and where) the bound was passed. */
  bound(): { truncated: boolean; overflow?: 'stdout' | 'stderr' } {
    return this.overflow ? { truncated: true, overflow: this.overflow } : { truncated: false };
  }
}

export interface HeldStreams {
  node: string;
  stdout: EventEmitter;
  stderr: EventEmitter;
  /** Emits 'close' once the command is over. */
  closing: EventEmitter;
  write(line: string): void;
  end(): void;
  /**
   * Past the bound: stop the holder and take the session down with `why` (the node lock is gone
   * with the holder, so nothing more may be done on the node in this session).
   */
  overflow(why: string): void;
  /** Default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
}

/**
 * The lock holder: resolves with its first line (or when it ends), writes a heartbeat to its stdin
 * (the holder gives up when it stops: a cut link can leave the TCP connection half-open on the
 * node for hours, and with it the lock), and release() closes stdin and waits for the end. Its
 * streams are bounded like exec's: a holder that sends more than the bound (a node flooding the
 * lock channel) is stopped, and the session with it.
 */
export function holdStreams(streams: HeldStreams): Promise<HeldCommand> {
  const maxBytes = streams.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve) => {
    let out = '';
    let errText = '';
    const sent = { stdout: 0, stderr: 0 };
    let ended = false;
    let settled = false;
    let overflowed: string | undefined;
    const closed = new Promise<void>((done) => streams.closing.on('close', () => done()));
    const beat = setInterval(() => {
      if (!ended) streams.write('beat\n');
    }, HOLD_HEARTBEAT_MS);
    const settle = (): void => {
      if (settled) return;
      settled = true;
      resolve({
        firstLine: out.split('\n')[0] ?? '',
        running: !ended && !overflowed,
        stderr: () => errText,
        failure: () => overflowed,
        release: async () => {
          clearInterval(beat);
          if (!ended) streams.end();
          await closed;
        },
      });
    };
    /** Counts what the node sent on a stream; false once past the bound (and stops it, once). */
    const counted = (stream: 'stdout' | 'stderr', chunk: Buffer): boolean => {
      if (overflowed) return false;
      sent[stream] += chunk.length;
      if (sent[stream] <= maxBytes) return true;
      overflowed = `${streams.node}: lock: the lock holder ${overflowText(stream, maxBytes)}`;
      clearInterval(beat);
      streams.overflow(overflowed);
      settle();
      return false;
    };
    streams.stdout.on('data', (chunk: Buffer) => {
      // Only the first line means anything; what follows it is counted, never kept.
      if (!counted('stdout', chunk) || settled) return;
      out += chunk.toString('utf8');
      if (out.includes('\n')) settle();
    });
    streams.stderr.on('data', (chunk: Buffer) => {
      if (counted('stderr', chunk)) errText += chunk.toString('utf8');
    });
    streams.closing.on('close', () => {
      clearInterval(beat);
      ended = true;
      settle();
    });
  });
}

export function timeoutError(node: string, command: string, timeoutSec: number | undefined): NodeError {
  return new NodeError(
    node,
    `'${shorten(command)}' on node ${node} did not finish within ${timeoutSec}s and was killed`,
    'timeout',
  );
}

export function lostError(node: string, command: string, lost: string | undefined): NodeError {
  return new NodeError(
    node,
    `connection to node ${node} lost while running '${shorten(command)}': ${lost ?? 'connection closed'}`,
    'unreachable',
    'check the node and the network, then rerun',
  );
}

/** A finished command's result, or sudo's refusal to run it as the NodeError both transports raise. */
export function sudoChecked(
  node: string,
  target: NodeTarget,
  sudo: boolean,
  result: ExecResult,
): { ok: true; result: ExecResult } | { ok: false; error: NodeError } {
  const refusal = sudo ? sudoFailure(result.code, result.stderr) : undefined;
  return refusal
    ? { ok: false, error: sudoError(node, target.user, refusal, result.stderr) }
    : { ok: true, result };
}
