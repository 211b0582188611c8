/**
 * Test fixtures for the SSH session: keys made by ssh-keygen in a temp dir, and in-process ssh2
 * servers on 127.0.0.1 that run exec requests through a local `sh -c` (with a fake `sudo` first in
 * PATH), so quoting and stdin are exercised for real.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';
import type { NodeTarget } from '../../../src/inventory/types.js';

const { Server, utils } = ssh2;
const run = promisify(execFile);

export async function tempDir(prefix = 'kubemend-ssh-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface KeyPair {
  file: string;
  /** The .pub line: "type base64 comment". */
  pubLine: string;
  type: string;
  blob: Buffer;
}

export async function keygen(dir: string, name: string, type = 'ed25519', passphrase = ''): Promise<KeyPair> {
  const file = join(dir, name);
  const args = ['-q', '-t', type, '-N', passphrase, '-C', `${name}@test`, '-f', file];
  if (type === 'rsa') args.push('-b', '2048');
  await run('ssh-keygen', args);
  const pubLine = (await readFile(`${file}.pub`, 'utf8')).trim();
  const [keyType, b64] = pubLine.split(' ');
  return { file, pubLine, type: keyType!, blob: Buffer.from(b64!, 'base64') };
}

/** `ssh-keygen -H` on a file with these plain lines; returns the hashed file's text. */
export async function hashKnownHosts(dir: string, text: string): Promise<string> {
  const file = join(dir, `kh-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, text);
  await run('ssh-keygen', ['-H', '-f', file]);
  return readFile(file, 'utf8');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  port: number;
  hostKey: KeyPair;
  /** Users the fake sudo asks a password of. */
  sudoPasswordUsers: Set<string>;
  /** Every exec request's command line, as received. */
  commands: string[];
  /** Successful logins: user and the key blob that was accepted. */
  logins: { user: string; key: Buffer }[];
  /** Forward requests (direct-tcpip) received. */
  forwards: { host: string; port: number }[];
  openConnections(): number;
  close(): Promise<void>;
}

export interface ServerSetup {
  hostKey: KeyPair;
  /** user → public keys allowed to log in. */
  authorized: Record<string, KeyPair[]>;
  binDir: string;
  /** Answer direct-tcpip (ProxyJump) to 127.0.0.1 only. */
  allowForward?: boolean;
}

/** A fake `sudo`: -n only; refuses like the real one for users in FAKE_SUDO_PASSWORD. */
export async function writeFakeSudo(binDir: string): Promise<void> {
  const script = `#!/bin/sh
[ "$1" = "-n" ] || { echo "sudo: test double only supports -n" >&2; exit 2; }
shift
if [ -n "$FAKE_SUDO_PASSWORD" ]; then echo "sudo: a password is required" >&2; exit 1; fi
FAKE_SUDO=root exec "$@"
`;
  await writeFile(join(binDir, 'sudo'), script);
  await chmod(join(binDir, 'sudo'), 0o755);
}

export async function startServer(setup: ServerSetup): Promise<TestServer> {
  const hostPriv = await readFile(setup.hostKey.file);
  const authorized = new Map<string, ParsedKey[]>();
  for (const [user, keys] of Object.entries(setup.authorized)) {
    authorized.set(
      user,
      keys.map((k) => {
        const parsed = utils.parseKey(k.pubLine);
        if (parsed instanceof Error) throw parsed;
        return Array.isArray(parsed) ? parsed[0]! : parsed;
      }),
    );
  }
  const state: TestServer = {
    port: 0,
    hostKey: setup.hostKey,
    sudoPasswordUsers: new Set(),
    commands: [],
    logins: [],
    forwards: [],
    openConnections: () => connections.size,
    close: async () => {
      for (const c of connections) c.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();

  const server = new Server({ hostKeys: [hostPriv] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    let user = '';
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const match = (authorized.get(ctx.username) ?? []).find(
        (k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data),
      );
      if (!match) return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept();
      if (!ctx.blob || !match.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.reject(['publickey']);
      user = ctx.username;
      state.logins.push({ user, key: Buffer.from(ctx.key.data) });
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          state.commands.push(info.command);
          const child = spawn('sh', ['-c', info.command], {
            detached: true,
            env: {
              PATH: `${setup.binDir}:/usr/bin:/bin`,
              TEST_USER: user,
              ...(state.sudoPasswordUsers.has(user) ? { FAKE_SUDO_PASSWORD: '1' } : {}),
            },
          });
          const kill = (): void => {
            if (child.exitCode === null && child.signalCode === null && child.pid) {
              try {
                process.kill(-child.pid, 'SIGKILL');
              } catch {
                // Already gone.
              }
            }
          };
          stream.pipe(child.stdin).on('error', () => undefined);
          // The client may close the channel while the command still prints (a flood kubemend
          // stops at its bound): what comes after that is dropped, as sshd drops it.
          const open = (w: NodeJS.WritableStream & { writableEnded: boolean; destroyed: boolean }) =>
            !w.writableEnded && !w.destroyed;
          child.stdout.on('data', (d: Buffer) => open(stream) && stream.write(d));
          child.stderr.on('data', (d: Buffer) => open(stream.stderr) && stream.stderr.write(d));
          stream.stderr.on('error', () => undefined);
          stream.on('close', kill);
          stream.on('error', () => undefined);
          child.on('close', (code, signal) => {
            if (signal) stream.exit(signal.replace(/^SIG/, ''), false, '');
            else stream.exit(code ?? 0);
            stream.end();
          });
        });
      });
      if (setup.allowForward) {
        client.on('tcpip', (accept, reject, info) => {
          state.forwards.push({ host: info.destIP, port: info.destPort });
          if (info.destIP !== '127.0.0.1') return reject();
          const upstream = netConnect(info.destPort, '127.0.0.1');
          sockets.add(upstream);
          upstream.on('close', () => sockets.delete(upstream));
          upstream.once('error', () => reject());
          upstream.once('connect', () => {
            const channel = accept();
            upstream.removeAllListeners('error');
            upstream.on('error', () => channel.destroy());
            channel.on('error', () => upstream.destroy());
            channel.pipe(upstream).pipe(channel);
          });
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** A TCP listener that accepts and then says nothing: for handshake timeouts. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: NetServer = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

export function target(
  overrides: Partial<NodeTarget> & Pick<NodeTarget, 'port' | 'knownHostsFile'>,
): NodeTarget {
  return {
    name: 'n1',
    host: '127.0.0.1',
    user: 'admin',
    become: 'none',
    proxyJump: [],
    groups: [],
    params: {},
    source: { file: 'inventory.yaml', line: 1 },
    ...overrides,
  };
}

export function knownHostsLineFor(port: number, key: KeyPair, host = '127.0.0.1'): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${key.type} ${key.blob.toString('base64')}\n`;
}
