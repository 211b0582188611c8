/**
 * The real NodeSession: an SSH connection (through any jump hosts) that runs commands, as root
 * through `sudo -n` when the node says `become: sudo`.
 */
import type { Client, ClientChannel } from 'ssh2';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { connectChain, closeClients } from './jump.js';
import { sudoFailure, sudoWrap } from './shell.js';
import type { ExecOptions, ExecResult, HeldCommand, NodeSession, SessionOptions } from './types.js';

export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** How often hold() writes a line to the held command's stdin. */
export const HOLD_HEARTBEAT_MS = 5_000;

/** Connects to the node (through its jump hosts). Rejects with a NodeError whose kind says what failed. */
export async function openSession(target: NodeTarget, opts: SessionOptions): Promise<NodeSession> {
  const chain = await connectChain(target, opts);
  return new SshNodeSession(target, chain.clients, chain.node.fingerprint);
}

/** Opens a session, runs fn, and always closes the session, also when fn throws. */
export async function withSession<T>(
  target: NodeTarget,
  opts: SessionOptions,
  fn: (session: NodeSession) => Promise<T>,
): Promise<T> {
  const session = await openSession(target, opts);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

function shorten(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}

class SshNodeSession implements NodeSession {
  readonly node: string;
  private readonly client: Client;
  private closing: Promise<void> | undefined;
  private lost: string | undefined;

  constructor(
    private readonly target: NodeTarget,
    /** Outermost jump host first, the node's own connection last. */
    private readonly clients: Client[],
    readonly hostKeyFingerprint: string,
  ) {
    this.node = target.name;
    this.client = clients[clients.length - 1]!;
    this.client.on('error', (err: Error) => {
      // After 'ready', errors (keepalive timeout, reset) end the connection; remember why.
      this.lost = err.message;
    });
    this.client.on('close', () => {
      this.lost ??= 'connection closed';
    });
    // Jump hosts: errors close the forwarded stream and so the node connection; keep them quiet here.
    for (const jump of clients.slice(0, -1)) jump.on('error', () => undefined);
  }

  /** Whether exec wraps the command in `sudo -n`. */
  private usesSudo(asRoot: boolean): boolean {
    return asRoot && this.target.become === 'sudo' && this.target.user !== 'root';
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const sudo = this.usesSudo(opts.asRoot ?? true);
    const line = sudo ? sudoWrap(command) : command;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (this.closing || this.lost) {
      return Promise.reject(
        new NodeError(
          this.node,
          `cannot run '${shorten(command)}' on node ${this.node}: ${this.closing ? 'the session is closed' : `connection lost (${this.lost})`}`,
          'unreachable',
        ),
      );
    }
    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(line, (err, channel) => {
        if (err) {
          reject(
            new NodeError(
              this.node,
              `cannot run '${shorten(command)}' on node ${this.node}: ${err.message}`,
              this.lost ? 'unreachable' : 'remote-command',
            ),
          );
          return;
        }
        this.collect(channel, command, sudo, maxBytes, opts).then(resolve, reject);
        channel.end(opts.stdin ?? undefined);
      });
    });
  }

  private collect(
    channel: ClientChannel,
    command: string,
    sudo: boolean,
    maxBytes: number,
    opts: ExecOptions,
  ): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const out = { chunks: [] as Buffer[], bytes: 0 };
      const err = { chunks: [] as Buffer[], bytes: 0 };
      let truncated = false;
      let code: number | null = null;
      let signal: string | undefined;
      let sawExit = false;
      let timedOut = false;

      const take = (sink: typeof out, chunk: Buffer): void => {
        if (truncated) return;
        const room = maxBytes - sink.bytes;
        if (chunk.length > room) {
          if (room > 0) sink.chunks.push(chunk.subarray(0, room));
          sink.bytes = maxBytes;
          truncated = true;
          // Stop the producer rather than drain an unbounded stream.
          channel.close();
          return;
        }
        sink.chunks.push(chunk);
        sink.bytes += chunk.length;
      };
      channel.on('data', (chunk: Buffer) => take(out, chunk));
      channel.stderr.on('data', (chunk: Buffer) => take(err, chunk));
      channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
        sawExit = true;
        code = exitCode ?? null;
        if (exitSignal) signal = exitSignal;
      });
      // A write after the server closed the channel (e.g. sudo refused at once) is not our failure.
      channel.on('error', () => undefined);

      const timer =
        opts.timeoutSec !== undefined
          ? setTimeout(
              () => {
                timedOut = true;
                // Ask the server to kill it (OpenSSH honours this since 7.9), then drop the channel.
                try {
                  channel.signal('KILL');
                } catch {
                  // The channel may already be closing.
                }
                channel.close();
              },
              Math.max(1, opts.timeoutSec * 1000),
            )
          : undefined;

      channel.on('close', () => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out.chunks).toString('utf8');
        const stderr = Buffer.concat(err.chunks).toString('utf8');
        if (timedOut) {
          reject(
            new NodeError(
              this.node,
              `'${shorten(command)}' on node ${this.node} did not finish within ${opts.timeoutSec}s and was killed`,
              'timeout',
            ),
          );
          return;
        }
        if (!sawExit && !truncated && this.lost) {
          reject(
            new NodeError(
              this.node,
              `connection to node ${this.node} lost while running '${shorten(command)}': ${this.lost}`,
              'unreachable',
              'check the node and the network, then rerun',
            ),
          );
          return;
        }
        if (sudo) {
          const refusal = sudoFailure(code, stderr);
          if (refusal) {
            reject(this.sudoError(refusal, stderr));
            return;
          }
        }
        resolve({ code, ...(signal ? { signal } : {}), stdout, stderr, truncated });
      });
    });
  }

  private sudoError(refusal: 'password' | 'tty' | 'not-allowed', stderr: string): NodeError {
    const user = this.target.user;
    switch (refusal) {
      case 'password':
        return new NodeError(
          this.node,
          `user ${user} on node ${this.node} needs a password for sudo; kubemend runs \`sudo -n\` and never prompts`,
          'sudo-password',
          `allow NOPASSWD for ${user} in sudoers on ${this.node} (e.g. '${user} ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/), or connect as root`,
        );
      case 'tty':
        return new NodeError(
          this.node,
          `sudo on node ${this.node} requires a terminal (Defaults requiretty); kubemend runs commands without one`,
          'permission',
          `remove 'Defaults requiretty' for ${user} in sudoers on ${this.node}, or connect as root`,
        );
      case 'not-allowed':
        return new NodeError(
          this.node,
          `user ${user} on node ${this.node} may not use sudo: ${stderr.trim().split('\n')[0] ?? ''}`,
          'permission',
          `grant ${user} sudo rights (NOPASSWD) on ${this.node}, or connect as root`,
        );
    }
  }

  hold(command: string): Promise<HeldCommand> {
    const line = this.usesSudo(true) ? sudoWrap(command) : command;
    return new Promise<HeldCommand>((resolve, reject) => {
      this.client.exec(line, (err, channel) => {
        if (err) {
          reject(
            new NodeError(
              this.node,
              `cannot run '${shorten(command)}' on node ${this.node}: ${err.message}`,
              'unreachable',
            ),
          );
          return;
        }
        let out = '';
        let errText = '';
        let ended = false;
        let settled = false;
        const closed = new Promise<void>((done) => channel.on('close', () => done()));
        // A heartbeat on stdin: the holder gives up when it stops (a cut link can leave the TCP
        // connection half-open on the node for hours, and with it the lock).
        const beat = setInterval(() => {
          if (!ended) channel.write('beat\n');
        }, HOLD_HEARTBEAT_MS);
        channel.on('close', () => clearInterval(beat));
        const settle = () => {
          if (settled) return;
          settled = true;
          resolve({
            firstLine: out.split('\n')[0] ?? '',
            running: !ended,
            stderr: () => errText,
            release: async () => {
              clearInterval(beat);
              if (!ended) channel.end();
              await closed;
            },
          });
        };
        channel.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('\n')) settle();
        });
        channel.stderr.on('data', (chunk: Buffer) => (errText += chunk.toString('utf8')));
        channel.on('error', () => undefined);
        channel.on('close', () => {
          ended = true;
          settle();
        });
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= closeClients(this.clients);
    return this.closing;
  }
}
