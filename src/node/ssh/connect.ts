/**
 * One SSH hop: TCP (or a forwarded stream from the previous hop), handshake with host key
 * verification, authentication. Resolves with a ready ssh2 Client or rejects with a NodeError;
 * on rejection nothing is left open.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { homedir } from 'node:os';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Client as ClientType, ServerHostKeyAlgorithm } from 'ssh2';
import { NodeError } from '../../errors.js';
import { createAuth } from './auth.js';
import { judgeHostKey, recordAcceptedHostKey } from './host-key.js';
import type { HostKeySubject } from './host-key.js';
import { knownKeyTypes, parseKnownHosts, readKnownHosts } from './known-hosts.js';
import type { SessionOptions } from './types.js';

const { Client } = ssh2;

export const KEEPALIVE_INTERVAL_MS = 5000;
export const KEEPALIVE_COUNT_MAX = 3;

export interface HopSpec {
  node: string;
  /** How messages name this hop: "node cp-1" or "jump host bastion:22 (for node cp-1)". */
  label: string;
  /** A ProxyJump hop rather than the node: its messages say which hop failed. */
  jump: boolean;
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  knownHostsFile: string;
}

export interface Hop {
  client: ClientType;
  fingerprint: string;
}

/** ssh2's errors carry a `level`; socket errors a `code`. */
type Ssh2Error = Error & { level?: string; code?: string; description?: string };

const DEFAULT_HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Like OpenSSH, ask first for the key types already on file for this host: a server with several
 * host keys then presents one we can check, rather than one that looks new or changed.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const preferred: ServerHostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    const algos: ServerHostKeyAlgorithm[] =
      type === 'ssh-rsa'
        ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
        : type === 'ssh-dss'
          ? ['ssh-dss']
          : DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => a === type);
    for (const a of algos) if (!preferred.includes(a)) preferred.push(a);
  }
  return [...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

const closed = new WeakSet<ClientType>();

/** Whether the client's connection has closed (it emits 'close' only once). */
export function isClosed(client: ClientType): boolean {
  return closed.has(client);
}

/** A timer that can stand still while the user types a passphrase. */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private remaining: number;
  private startedAt = 0;
  private paused = 0;
  private done = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.remaining = ms;
    this.arm();
  }
  private arm(): void {
    this.startedAt = Date.now();
    this.timer = setTimeout(() => {
      this.done = true;
      this.onExpire();
    }, this.remaining);
  }
  pause(): void {
    if (this.done || this.paused++ > 0) return;
    clearTimeout(this.timer);
    this.remaining = Math.max(0, this.remaining - (Date.now() - this.startedAt));
  }
  resume(): void {
    if (this.done || --this.paused > 0) return;
    this.arm();
  }
  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }
}

export function socketErrorKind(code: string | undefined): 'unreachable' | 'timeout' {
  return code === 'ETIMEDOUT' ? 'timeout' : 'unreachable';
}

/** "connect ECONNREFUSED 10.0.0.29:22", in the host's own spelling rather than the resolved address. */
export function socketErrorMessage(err: Ssh2Error, host: string, port: number): string {
  const code = err.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `getaddrinfo ${code} ${host}`;
  if (code && /^E[A-Z]+$/.test(code) && /^connect /.test(err.message))
    return `connect ${code} ${host}:${port}`;
  if (code === 'ECONNRESET') return `connection reset by ${host}:${port}`;
  return `${err.message} (${host}:${port})`;
}

/** Opens a TCP connection within the deadline; the ssh2 Client then runs over it. */
function dial(spec: HopSpec, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: spec.host, port: spec.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new NodeError(
          spec.node,
          `${prefix(spec)}connect ETIMEDOUT ${spec.host}:${spec.port}`,
          'timeout',
          `check that ${spec.host} is up and that port ${spec.port} is reachable from here (firewall, VPN, bastion); ` +
            `or raise --connect-timeout`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: Ssh2Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new NodeError(
          spec.node,
          `${prefix(spec)}${socketErrorMessage(err, spec.host, spec.port)}`,
          socketErrorKind(err.code),
          `check that ${spec.host} is up and that sshd listens on port ${spec.port}`,
        ),
      );
    });
  });
}

/** Messages about the node itself start with the error (DESIGN: "connect ETIMEDOUT 10.0.0.29:22"); hops say which hop. */
function prefix(spec: HopSpec): string {
  return spec.jump ? `${spec.label}: ` : '';
}

/**
 * Connects one hop. `sock` is the stream forwarded by the previous hop (ProxyJump); without it a
 * TCP connection is dialled. The socket is owned by the returned client from then on.
 */
export async function connectHop(spec: HopSpec, opts: SessionOptions, sock?: Duplex): Promise<Hop> {
  const timeoutMs = Math.max(1, opts.connectTimeoutSec * 1000);
  const subject: HostKeySubject = {
    node: spec.node,
    label: spec.label,
    host: spec.host,
    port: spec.port,
    knownHostsFile: spec.knownHostsFile,
    acceptNew: opts.acceptNewHostKeys,
  };

  let knownTypes: string[] = [];
  try {
    knownTypes = knownKeyTypes(
      parseKnownHosts(await readKnownHosts(spec.knownHostsFile)).entries,
      spec.host,
      spec.port,
    );
  } catch {
    // Unreadable file: judgeHostKey reports it with a proper message once the key arrives.
  }

  const started = Date.now();
  const stream: Duplex = sock ?? (await dial(spec, timeoutMs));
  const remainingMs = Math.max(1, timeoutMs - (Date.now() - started));

  return new Promise<Hop>((resolve, reject) => {
    const client = new Client();
    client.once('close', () => closed.add(client));
    let settled = false;
    let hostKeyError: NodeError | undefined;
    let presentedKey: Buffer | undefined;
    let fingerprint = '';
    let appending: Promise<NodeError | undefined> | undefined;
    let authStarted = false;
    /** accept-new and the key was unknown: append it once the handshake proves the server holds it. */
    let pendingAppend = false;

    const fail = (error: NodeError): void => {
      if (settled) return;
      settled = true;
      deadline.stop();
      client.end();
      // end() is polite; destroy makes sure the socket (or forwarded channel) goes away.
      stream.destroy();
      reject(error);
    };

    const deadline = new Deadline(remainingMs, () => {
      fail(
        new NodeError(
          spec.node,
          `${prefix(spec)}SSH ${authStarted ? 'authentication' : 'handshake'} with ${spec.host}:${spec.port} ` +
            `did not complete within ${opts.connectTimeoutSec}s`,
          'timeout',
          `check that ${spec.host}:${spec.port} is an SSH server and responsive; or raise --connect-timeout`,
        ),
      );
    });

    const auth = createAuth(
      {
        node: spec.node,
        messagePrefix: prefix(spec),
        user: spec.user,
        host: spec.host,
        port: spec.port,
        ...(spec.identityFile ? { identityFile: spec.identityFile } : {}),
        env: opts.env ?? process.env,
        homeDir: opts.homeDir ?? homedir(),
        ...(opts.askPassphrase ? { askPassphrase: opts.askPassphrase } : {}),
      },
      { pause: () => deadline.pause(), resume: () => deadline.resume() },
    );

    client.on('handshake', () => {
      // The server has now proven it holds the key (signature checked): safe to record it.
      if (presentedKey && !appending && pendingAppend) {
        appending = recordAcceptedHostKey(subject, presentedKey);
      }
    });

    client.on('ready', () => {
      void (async () => {
        const appendError = appending ? await appending : undefined;
        if (appendError) return fail(appendError);
        if (settled) return;
        settled = true;
        deadline.stop();
        resolve({ client, fingerprint });
      })();
    });

    client.on('error', (err: Ssh2Error) => {
      if (settled) return;
      if (err.level === 'agent') {
        auth.note(`ssh-agent: ${err.message}`);
        return;
      }
      if (hostKeyError) return fail(hostKeyError);
      if (err.level === 'client-authentication' && !auth.exhausted) {
        // A key that could not sign; ssh2 goes on with the next method.
        auth.note(err.message);
        return;
      }
      fail(mapConnectError(spec, err, authStarted, auth));
    });

    client.on('close', () => {
      if (settled) return;
      if (hostKeyError) return fail(hostKeyError);
      fail(
        authStarted
          ? auth.failure('connection closed during authentication')
          : new NodeError(
              spec.node,
              `${prefix(spec)}${spec.host}:${spec.port} closed the connection before the SSH handshake completed`,
              'unreachable',
              `check that ${spec.host}:${spec.port} is an SSH server that accepts connections from here`,
            ),
      );
    });

    const handler = auth.handler;
    try {
      client.connect({
        sock: stream,
        username: spec.user,
        // Our own Deadline covers connect, handshake and auth, pausing while a passphrase is typed.
        readyTimeout: 0,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        algorithms: { serverHostKey: hostKeyAlgorithms(knownTypes) },
        // Without hostHash, ssh2 hands the verifier the raw key blob; returning nothing means "async".
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
          presentedKey = Buffer.from(key);
          void judgeHostKey(subject, presentedKey).then(
            (decision) => {
              if (decision.ok) {
                fingerprint = decision.fingerprint;
                pendingAppend = decision.pendingAppend;
                verify(true);
              } else {
                hostKeyError = decision.error;
                verify(false);
              }
            },
            (err: unknown) => {
              hostKeyError = new NodeError(
                spec.node,
                `${prefix(spec)}host key check failed: ${err instanceof Error ? err.message : String(err)}`,
                'host-key-unknown',
              );
              verify(false);
            },
          );
        },
        authHandler: (authsLeft, partial, next) => {
          authStarted = true;
          handler(authsLeft, partial, next);
        },
      });
    } catch (err) {
      fail(
        new NodeError(
          spec.node,
          `${prefix(spec)}cannot start SSH to ${spec.host}:${spec.port}: ${err instanceof Error ? err.message : String(err)}`,
          'unreachable',
        ),
      );
    }
  });
}

function mapConnectError(
  spec: HopSpec,
  err: Ssh2Error,
  authStarted: boolean,
  auth: ReturnType<typeof createAuth>,
): NodeError {
  if (err.level === 'client-authentication') return auth.failure();
  if (authStarted && /authentication/i.test(err.message)) return auth.failure(err.message);
  if (err.level === 'client-socket') {
    return new NodeError(
      spec.node,
      `${prefix(spec)}${socketErrorMessage(err, spec.host, spec.port)}`,
      socketErrorKind(err.code),
      `check that ${spec.host} is up and that sshd listens on port ${spec.port}`,
    );
  }
  if (err.level === 'client-timeout') {
    return new NodeError(spec.node, `${prefix(spec)}${spec.host}:${spec.port}: ${err.message}`, 'timeout');
  }
  return new NodeError(
    spec.node,
    `${prefix(spec)}SSH ${authStarted ? 'session' : 'handshake'} with ${spec.host}:${spec.port} failed: ${err.message}`,
    'unreachable',
    `check that ${spec.host}:${spec.port} is an SSH server that kubemend can talk to`,
  );
}
