/**
 * The real NodeSession: an SSH connection (through any jump hosts) that runs commands, as root
 * through `sudo -n` when the node says `become: sudo`.
 */
import type { Client, ClientChannel } from 'ssh2';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { connectChain, closeClients } from './jump.js';
import { shorten, sudoWrap } from './shell.js';
import {
  BoundedOutput,
  DEFAULT_MAX_BYTES,
  closedError,
  holdStreams,
  lostError,
  sudoChecked,
  timeoutError,
  usesSudo,
} from './session-parts.js';
import { openOpenSshSession } from './openssh-session.js';
import { chooseTransport } from './transport.js';
import type {
  ExecOptions,
  ExecResult,
  HeldCommand,
  HoldOptions,
  NodeSession,
  SessionOptions,
} from './types.js';

export { DEFAULT_MAX_BYTES, HOLD_HEARTBEAT_MS } from './session-parts.js';

/** Connects to the node (through its jump hosts, with the transport chooseTransport picks). Rejects with a NodeError whose kind says what failed. */
export async function openSession(target: NodeTarget, opts: SessionOptions): Promise<NodeSession> {
  const choice = await chooseTransport(target, opts);
  if (choice.transport === 'openssh') return openOpenSshSession(target, opts, choice);
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

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const sudo = usesSudo(this.target, opts.asRoot ?? true);
    const line = sudo ? sudoWrap(command) : command;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (this.closing || this.lost)
      return Promise.reject(closedError(this.node, command, Boolean(this.closing), this.lost));
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
      // Past the bound, stop the producer rather than drain an unbounded stream.
      const output = new BoundedOutput(maxBytes, () => channel.close());
      let code: number | null = null;
      let signal: string | undefined;
      let sawExit = false;
      let timedOut = false;
      channel.on('data', (chunk: Buffer) => output.take('out', chunk));
      channel.stderr.on('data', (chunk: Buffer) => output.take('err', chunk));
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
        const stdout = output.text('out');
        const stderr = output.text('err');
        const truncated = output.truncated;
        if (timedOut) return reject(timeoutError(this.node, command, opts.timeoutSec));
        if (!sawExit && !truncated && this.lost) return reject(lostError(this.node, command, this.lost));
        const done = sudoChecked(this.node, this.target, sudo, {
          code,
          ...(signal ? { signal } : {}),
          stdout,
          stderr,
          ...output.bound(),
        });
        if (done.ok) resolve(done.result);
        else reject(done.error);
      });
    });
  }

  hold(command: string, opts: HoldOptions = {}): Promise<HeldCommand> {
    const line = usesSudo(this.target, true) ? sudoWrap(command) : command;
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
        channel.on('error', () => undefined);
        resolve(
          holdStreams({
            node: this.node,
            stdout: channel,
            stderr: channel.stderr,
            closing: channel,
            write: (line) => channel.write(line),
            end: () => channel.end(),
            overflow: (why) => {
              this.lost ??= why;
              channel.close();
            },
            ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
          }),
        );
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= closeClients(this.clients);
    return this.closing;
  }
}
