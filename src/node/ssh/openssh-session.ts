/**
 * The NodeSession over the system `ssh`: one ControlMaster per node (authenticated once, host key
 * checked by OpenSSH under kubemend's policy), and one `ssh -S socket` client per command. Same
 * guarantees as the built-in session: bounded output, a timeout kills the remote command, `sudo -n`,
 * the lock heartbeat, a lost connection rejects with 'unreachable', close() is idempotent.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import type { HostKeySubject } from './host-key.js';
import { readKnownHosts } from './known-hosts.js';
import { clientArgs, masterArgs } from './openssh-args.js';
import type { OpenSshPolicy } from './openssh-args.js';
import { privatePath, releasePath, track } from './openssh-dir.js';
import { KILL_ORPHANS_SCRIPT } from './openssh-kill.js';
import { authenticated, masterFailure, verifiedKey } from './openssh-log.js';
import type { VerifiedKey } from './openssh-log.js';
import { first } from './openssh-settings.js';
import { shQuote, shorten, sudoWrap } from './shell.js';
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
import type { TransportChoice } from './transport.js';
import { missingSsh } from './transport.js';
import type {
  ExecOptions,
  ExecResult,
  HeldCommand,
  HoldOptions,
  NodeSession,
  SessionOptions,
} from './types.js';

/** Kept of a ProxyCommand's stderr, for messages. */
const PROXY_STDERR_BYTES = 16 * 1024;

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((done) => child.once('exit', () => done()));

/**
 * ssh's log of the connection, bounded like every stream from a node (what the server sends, such
 * as its banner, ends up in it); '' when it cannot be read.
 */
async function readLog(path: string): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min((await file.stat()).size, DEFAULT_MAX_BYTES));
      const { bytesRead } = await file.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** Starts the node's ControlMaster and waits until it is authenticated; rejects with a NodeError. */
export async function openOpenSshSession(
  target: NodeTarget,
  opts: SessionOptions,
  choice: TransportChoice,
): Promise<NodeSession> {
  const settings = choice.settings;
  const host = (settings && first(settings, 'hostname')) ?? target.host;
  const port = Number((settings && first(settings, 'port')) ?? target.port);
  const user = (settings && first(settings, 'user')) ?? target.user;
  const proxyCommand = settings && first(settings, 'proxycommand');
  const policy: OpenSshPolicy = {
    knownHostsFile: target.knownHostsFile,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    connectTimeoutSec: opts.connectTimeoutSec,
    ...(choice.configFile !== undefined ? { configFile: choice.configFile } : {}),
  };
  const subject: HostKeySubject = {
    node: target.name,
    label: `node ${target.name}`,
    host,
    port,
    knownHostsFile: target.knownHostsFile,
    acceptNew: opts.acceptNewHostKeys,
  };
  const prefix = privatePath();
  const paths = { socket: `${prefix}.s`, log: `${prefix}.log` };
  const env = opts.env ?? process.env;
  const cleanup = async (): Promise<void> => {
    await rm(paths.socket, { force: true });
    await rm(paths.log, { force: true });
    releasePath();
  };

  const master = spawn('ssh', masterArgs(target, policy, paths), {
    env,
    // Its own process group: the terminal's Ctrl-C must not cut a node off in the middle of an apply.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(master);
  let proxyStderr = '';
  master.stderr?.on('data', (d: Buffer) => {
    if (proxyStderr.length < PROXY_STDERR_BYTES) proxyStderr += d.toString('utf8');
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  master.on('error', (err: NodeJS.ErrnoException) => (spawnError = err));

  // ssh's ConnectTimeout covers the TCP connect; this also bounds a ProxyCommand, the handshake and authentication.
  const limitSec = Math.max(opts.connectTimeoutSec * 2, opts.connectTimeoutSec + 10);
  const deadline = Date.now() + limitSec * 1000;
  try {
    for (;;) {
      if (spawnError) {
        throw spawnError.code === 'ENOENT'
          ? missingSsh(target.name, choice.why)
          : new NodeError(
              target.name,
              `cannot start ssh for node ${target.name}: ${spawnError.message}`,
              'unreachable',
            );
      }
      if (master.exitCode !== null || master.signalCode !== null) {
        const log = await readLog(paths.log);
        const known = await readKnownHosts(target.knownHostsFile).catch(() => '');
        throw masterFailure(log, known, {
          subject,
          user,
          proxyStderr,
          ...(env['SSH_AUTH_SOCK'] ? { agentSocket: env['SSH_AUTH_SOCK'] } : {}),
          ...(proxyCommand !== undefined && proxyCommand !== 'none' ? { proxyCommand } : {}),
        });
      }
      if (await isSocket(paths.socket)) {
        const log = await readLog(paths.log);
        const key = verifiedKey(log);
        if (!authenticated(log) || !key)
          throw new NodeError(
            target.name,
            `node ${target.name}: ssh connected but did not say which host key it verified`,
            'host-key-unknown',
            'check that nothing in ~/.ssh/config sets LogLevel for this host in a Match block, then report this',
          );
        return new OpenSshNodeSession(target, policy, master, paths.socket, key, cleanup, env);
      }
      if (Date.now() > deadline)
        throw new NodeError(
          target.name,
          `SSH connection to node ${target.name} (${host}:${port}, with the system ssh client) did not complete within ${limitSec}s`,
          'timeout',
          `check that \`ssh ${target.sshCommand?.destination ?? host} true\` works from here; or raise --connect-timeout`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    if (master.exitCode === null && master.signalCode === null) master.kill('SIGTERM');
    await exited(master);
    await cleanup();
    throw err;
  }
}

class OpenSshNodeSession implements NodeSession {
  readonly node: string;
  readonly hostKeyFingerprint: string;
  private closing: Promise<void> | undefined;
  private lost: string | undefined;
  private readonly masterGone: Promise<void>;

  constructor(
    private readonly target: NodeTarget,
    private readonly policy: OpenSshPolicy,
    private readonly master: ChildProcess,
    private readonly socket: string,
    /** What OpenSSH verified: the key, or for a host certificate the key it certifies. */
    readonly verified: VerifiedKey,
    private readonly cleanup: () => Promise<void>,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.node = target.name;
    this.hostKeyFingerprint = verified.fingerprint;
    this.masterGone = exited(master);
    void this.masterGone.then(() => {
      this.lost ??= 'the ssh ControlMaster ended (connection closed or keepalive timeout)';
    });
  }

  private client(command: string, withStdin: boolean): ChildProcess {
    const child = spawn('ssh', clientArgs(this.target, this.policy, this.socket, command, withStdin), {
      env: this.env,
      detached: true,
      stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    track(child);
    return child;
  }

  /** After a client exited 255: was it the connection? Waits briefly for the master to be seen ending. */
  private async connectionLost(): Promise<boolean> {
    if (this.lost) return true;
    await Promise.race([this.masterGone, new Promise((r) => setTimeout(r, 500))]);
    return this.lost !== undefined;
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const sudo = usesSudo(this.target, opts.asRoot ?? true);
    const line = sudo ? sudoWrap(command) : command;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (this.closing || this.lost)
      return Promise.reject(closedError(this.node, command, Boolean(this.closing), this.lost));
    return new Promise<ExecResult>((resolve, reject) => {
      const child = this.client(line, opts.stdin !== undefined);
      // Past the bound, stop the producer: the master then closes the channel.
      const output = new BoundedOutput(maxBytes, () => child.kill('SIGTERM'));
      let timedOut = false;
      let spawnError: Error | undefined;
      child.stdout?.on('data', (chunk: Buffer) => output.take('out', chunk));
      child.stderr?.on('data', (chunk: Buffer) => output.take('err', chunk));
      child.on('error', (e) => (spawnError = e));
      if (child.stdin) {
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.stdin);
      }

      const timer =
        opts.timeoutSec !== undefined
          ? setTimeout(
              () => {
                timedOut = true;
                child.kill('SIGTERM');
              },
              Math.max(1, opts.timeoutSec * 1000),
            )
          : undefined;

      child.on('exit', () => {
        // Stopped by us: the master may keep our pipes until the node's side of the channel ends.
        if (timedOut || output.truncated) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
      });
      child.on('close', (exitCode: number | null) => {
        clearTimeout(timer);
        void (async () => {
          const stdout = output.text('out');
          const stderr = output.text('err');
          const truncated = output.truncated;
          if (spawnError) {
            reject(
              new NodeError(
                this.node,
                `cannot run '${shorten(command)}' on node ${this.node}: ${spawnError.message}`,
                'unreachable',
              ),
            );
            return;
          }
          if (timedOut) {
            // The channel is closed now; the command may still run on the node: kill it there.
            await this.killOrphans(sudo);
            reject(timeoutError(this.node, command, opts.timeoutSec));
            return;
          }
          // Like ssh2's channel close: a command past the bound dies of SIGPIPE at its next write.
          if (truncated) {
            resolve({ code: null, stdout, stderr, ...output.bound() });
            return;
          }
          // 255 is ssh's own failure, or the command's; the master tells which.
          if (exitCode === 255 && (await this.connectionLost())) {
            reject(lostError(this.node, command, this.lost));
            return;
          }
          const done = sudoChecked(this.node, this.target, sudo, {
            code: exitCode,
            stdout,
            stderr,
            ...output.bound(),
          });
          if (done.ok) resolve(done.result);
          else reject(done.error);
        })();
      });
    });
  }

  /** Best effort, bounded: what sshd's killpg() does for ssh2's KILL signal (openssh-kill.ts). */
  private async killOrphans(sudo: boolean): Promise<void> {
    if (this.lost || this.closing) return;
    const script = `sh -c ${shQuote(KILL_ORPHANS_SCRIPT)}`;
    const child = this.client(sudo ? sudoWrap(script) : script, false);
    child.stdout?.resume();
    child.stderr?.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(timer);
  }

  hold(command: string, opts: HoldOptions = {}): Promise<HeldCommand> {
    const line = usesSudo(this.target, true) ? sudoWrap(command) : command;
    if (this.closing || this.lost) {
      return Promise.reject(
        new NodeError(
          this.node,
          `cannot run '${shorten(command)}' on node ${this.node}: connection lost`,
          'unreachable',
        ),
      );
    }
    const child = this.client(line, true);
    child.stdin?.on('error', () => undefined);
    child.on('error', () => undefined);
    return holdStreams({
      node: this.node,
      stdout: child.stdout!,
      stderr: child.stderr!,
      closing: child,
      write: (text) => child.stdin?.write(text),
      end: () => child.stdin?.end(),
      overflow: (why) => {
        this.lost ??= why;
        child.kill('SIGTERM');
        // The master may keep our pipes until the node's side of the channel ends.
        child.stdout?.destroy();
        child.stderr?.destroy();
      },
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.master.exitCode === null && this.master.signalCode === null) {
        // ssh ends its master cleanly on SIGTERM (removing the socket); SIGKILL if it does not.
        this.master.kill('SIGTERM');
        const timer = setTimeout(() => this.master.kill('SIGKILL'), 2000);
        await this.masterGone;
        clearTimeout(timer);
      }
      await this.cleanup();
    })();
    return this.closing;
  }
}
