import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodeError } from '../../../src/errors.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { StepError, runScript } from '../../../src/node/remote.js';
import { fingerprintSha256 } from '../../../src/node/ssh/known-hosts.js';
import { openSession, withSession } from '../../../src/node/ssh/session.js';
import type { NodeSession, SessionOptions } from '../../../src/node/ssh/types.js';
import {
  freePort,
  hashKnownHosts,
  keygen,
  knownHostsLineFor,
  startServer,
  startSilentServer,
  target,
  tempDir,
  writeFakeSudo,
} from './helpers.js';
import type { KeyPair, TestServer } from './helpers.js';

let dir: string;
let emptyHome: string;
let hostA: KeyPair;
let hostB: KeyPair;
let hostOther: KeyPair;
let hostEcdsa: KeyPair;
let plain: KeyPair;
let enc: KeyPair;
let stranger: KeyPair;
let jumpServer: TestServer; // also the direct server for most tests
let innerServer: TestServer;
let fileCounter = 0;

beforeAll(async () => {
  dir = await tempDir();
  emptyHome = join(dir, 'home-empty');
  await mkdir(emptyHome);
  const binDir = join(dir, 'bin');
  await mkdir(binDir);
  await writeFakeSudo(binDir);
  [hostA, hostB, hostOther, hostEcdsa, plain, enc, stranger] = await Promise.all([
    keygen(dir, 'host_a'),
    keygen(dir, 'host_b'),
    keygen(dir, 'host_other'),
    keygen(dir, 'host_ecdsa', 'ecdsa'),
    keygen(dir, 'client_plain'),
    keygen(dir, 'client_enc', 'ed25519', 'secret phrase'),
    keygen(dir, 'client_stranger'),
  ]);
  jumpServer = await startServer({
    hostKey: hostA,
    authorized: { admin: [plain, enc], ops: [plain], root: [plain] },
    binDir,
    allowForward: true,
  });
  innerServer = await startServer({ hostKey: hostB, authorized: { admin: [plain] }, binDir });
}, 60_000);

afterAll(async () => {
  await jumpServer?.close();
  await innerServer?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh known_hosts path holding these lines ('' → the file does not exist). */
async function knownHosts(...lines: string[]): Promise<string> {
  const file = join(dir, `known_hosts_${++fileCounter}`);
  if (lines.length > 0) await writeFile(file, lines.join(''));
  return file;
}

function opts(extra: Partial<SessionOptions> = {}): SessionOptions {
  return { connectTimeoutSec: 5, acceptNewHostKeys: false, env: {}, homeDir: emptyHome, ...extra };
}

async function nodeErrorOf(p: Promise<unknown>): Promise<NodeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NodeError);
    return err as NodeError;
  }
  throw new Error('expected a NodeError, got success');
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A session to jumpServer as admin with the plain key, its host key on file. */
async function directSession(extra: Partial<NodeTarget> = {}): Promise<NodeSession> {
  const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
  return openSession(
    target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file, ...extra }),
    opts(),
  );
}

describe('host keys', () => {
  it('refuses an unknown host key and says how to accept it', async () => {
    const file = await knownHosts();
    const logins = jumpServer.logins.length;
    const err = await nodeErrorOf(
      openSession(target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file }), opts()),
    );
    expect(err.kind).toBe('host-key-unknown');
    expect(err.node).toBe('n1');
    const fp = fingerprintSha256(hostA.blob);
    expect(err.message).toContain('node n1');
    expect(err.message).toContain(`127.0.0.1:${jumpServer.port}`);
    expect(err.message).toContain(`ssh-ed25519 ${fp}`);
    expect(err.message).toContain(file);
    expect(err.fix).toContain('--accept-new-host-keys');
    expect(err.fix).toContain(`ssh-keyscan -p ${jumpServer.port} 127.0.0.1 >> ${file}`);
    expect(err.fix).toContain(fp);
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
    expect(jumpServer.logins.length).toBe(logins);
  });

  it('with accept-new, appends the key and connects; the next connection needs no flag', async () => {
    const file = join(dir, 'accept-new', '.ssh', 'known_hosts');
    const t = target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file });
    const s1 = await openSession(t, opts({ acceptNewHostKeys: true }));
    expect(s1.hostKeyFingerprint).toBe(fingerprintSha256(hostA.blob));
    await s1.close();
    expect(await readFile(file, 'utf8')).toBe(
      `[127.0.0.1]:${jumpServer.port} ssh-ed25519 ${hostA.blob.toString('base64')}\n`,
    );
    const s2 = await openSession(t, opts());
    expect((await s2.exec('echo ok')).stdout).toBe('ok\n');
    await s2.close();
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(2);
  });

  it('with accept-new, parallel sessions to one host append it once', async () => {
    const file = await knownHosts();
    const t = target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file });
    const sessions = await Promise.all(
      Array.from({ length: 5 }, () => openSession(t, opts({ acceptNewHostKeys: true }))),
    );
    await Promise.all(sessions.map((s) => s.close()));
    expect((await readFile(file, 'utf8')).trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a changed key, even with accept-new, naming file:line and the fix', async () => {
    const file = await knownHosts('# mine\n', knownHostsLineFor(jumpServer.port, hostOther));
    const before = await readFile(file, 'utf8');
    for (const acceptNewHostKeys of [false, true]) {
      const err = await nodeErrorOf(
        openSession(
          target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file }),
          opts({ acceptNewHostKeys }),
        ),
      );
      expect(err.kind).toBe('host-key-changed');
      expect(err.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(err.message).toContain(`${file}:2`);
      expect(err.message).toContain(fingerprintSha256(hostA.blob));
      expect(err.fix).toContain(`ssh-keygen -R '[127.0.0.1]:${jumpServer.port}' -f ${file}`);
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('treats a host known only with another key type as changed', async () => {
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostEcdsa));
    const err = await nodeErrorOf(
      openSession(
        target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file }),
        opts({ acceptNewHostKeys: true }),
      ),
    );
    expect(err.kind).toBe('host-key-changed');
    expect(err.message).toContain('ecdsa-sha2-nistp256');
  });

  it('accepts a matching hashed entry', async () => {
    const file = await knownHosts(await hashKnownHosts(dir, knownHostsLineFor(jumpServer.port, hostA)));
    expect(await readFile(file, 'utf8')).toMatch(/^\|1\|/);
    const s = await openSession(
      target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file }),
      opts(),
    );
    await s.close();
  });

  it('leaves no connection open after a host key failure', async () => {
    const file = await knownHosts();
    await nodeErrorOf(
      openSession(target({ port: innerServer.port, knownHostsFile: file, identityFile: plain.file }), opts()),
    );
    await waitFor(() => innerServer.openConnections() === 0);
  });
});

describe('authentication', () => {
  it('logs in with the identity file', async () => {
    const s = await directSession();
    expect((await s.exec('echo $TEST_USER')).stdout).toBe('admin\n');
    await s.close();
    expect(jumpServer.logins.at(-1)?.key.equals(plain.blob)).toBe(true);
  });

  it('fails with kind auth naming the user, host and what was tried', async () => {
    const err = await nodeErrorOf(directSession({ identityFile: stranger.file }));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain(`admin@127.0.0.1:${jumpServer.port}`);
    expect(err.message).toContain(`key ${stranger.file}`);
  });

  it('says when there was no key at all', async () => {
    const err = await nodeErrorOf(directSession({ identityFile: undefined }));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('no key to try');
    expect(err.message).toContain('SSH_AUTH_SOCK is not set');
  });

  it('an encrypted key without a prompter is a passphrase error with the fix', async () => {
    const err = await nodeErrorOf(directSession({ identityFile: enc.file }));
    expect(err.kind).toBe('passphrase');
    expect(err.message).toContain(
      `key ${enc.file} is encrypted; load it into ssh-agent (ssh-add ${enc.file}) or run on a terminal`,
    );
  });

  it('asks once for the passphrase of an encrypted key, even for parallel sessions', async () => {
    const asked: string[] = [];
    const askPassphrase = async (keyFile: string): Promise<string> => {
      asked.push(keyFile);
      await new Promise((r) => setTimeout(r, 50));
      return 'secret phrase';
    };
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
    const t = target({ port: jumpServer.port, knownHostsFile: file, identityFile: enc.file });
    const sessions = await Promise.all([1, 2, 3].map(() => openSession(t, opts({ askPassphrase }))));
    expect(asked).toEqual([enc.file]);
    expect(jumpServer.logins.at(-1)?.key.equals(enc.blob)).toBe(true);
    await Promise.all(sessions.map((s) => s.close()));
  });

  it('the passphrase prompt does not count against the connect timeout', async () => {
    const askPassphrase = async (): Promise<string> => {
      await new Promise((r) => setTimeout(r, 1500));
      return 'secret phrase';
    };
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
    const t = target({ port: jumpServer.port, knownHostsFile: file, identityFile: enc.file });
    const s = await openSession(t, opts({ askPassphrase, connectTimeoutSec: 1 }));
    await s.close();
  });

  it('a wrong passphrase is a passphrase error', async () => {
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
    const e = await nodeErrorOf(
      openSession(
        target({ port: jumpServer.port, knownHostsFile: file, identityFile: enc.file }),
        opts({ askPassphrase: async () => 'wrong' }),
      ),
    );
    expect(e.kind).toBe('passphrase');
    expect(e.message).toContain('wrong passphrase');
  });

  it('falls back to the default keys in ~/.ssh, unlocking encrypted ones only when nothing else works', async () => {
    const home = join(dir, 'home-defaults');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await copyFile(enc.file, join(home, '.ssh', 'id_ed25519'));
    await copyFile(stranger.file, join(home, '.ssh', 'id_ecdsa'));
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
    const t = target({ port: jumpServer.port, knownHostsFile: file });

    const err = await nodeErrorOf(openSession(t, opts({ homeDir: home })));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain(`key ${join(home, '.ssh', 'id_ecdsa')}`);
    expect(err.message).toContain(`key ${join(home, '.ssh', 'id_ed25519')} is encrypted`);

    const asked: string[] = [];
    const s = await openSession(
      t,
      opts({
        homeDir: home,
        askPassphrase: async (f) => {
          asked.push(f);
          return 'secret phrase';
        },
      }),
    );
    expect(asked).toEqual([join(home, '.ssh', 'id_ed25519')]);
    await s.close();

    await copyFile(plain.file, join(home, '.ssh', 'id_rsa'));
    const asked2: string[] = [];
    const s2 = await openSession(
      t,
      opts({ homeDir: home, askPassphrase: async (f) => (asked2.push(f), 'secret phrase') }),
    );
    expect(asked2).toEqual([]);
    await s2.close();
  });

  describe('ssh-agent', () => {
    let agent: ChildProcess | undefined;
    let sock: string;

    beforeAll(async () => {
      sock = join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      await waitFor(() => existsSync(sock));
      await new Promise<void>((resolve, reject) => {
        const add = spawn('ssh-add', [plain.file], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        add.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))));
      });
    });

    afterAll(() => {
      if (agent?.pid) agent.kill('SIGTERM');
    });

    it('logs in with a key held by the agent', async () => {
      const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
      const s = await openSession(
        target({ port: jumpServer.port, knownHostsFile: file }),
        opts({ env: { SSH_AUTH_SOCK: sock } }),
      );
      expect(jumpServer.logins.at(-1)?.key.equals(plain.blob)).toBe(true);
      await s.close();
    });

    it('uses the agent when the identity file is encrypted and nobody can be asked', async () => {
      const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
      const s = await openSession(
        target({ port: jumpServer.port, knownHostsFile: file, identityFile: enc.file }),
        opts({ env: { SSH_AUTH_SOCK: sock } }),
      );
      await s.close();
    });

    it('a dead agent socket is noted, not fatal', async () => {
      const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
      const s = await openSession(
        target({ port: jumpServer.port, knownHostsFile: file, identityFile: plain.file }),
        opts({ env: { SSH_AUTH_SOCK: join(dir, 'no-such-agent.sock') } }),
      );
      await s.close();
      const err = await nodeErrorOf(
        openSession(
          target({ port: jumpServer.port, knownHostsFile: file, identityFile: stranger.file }),
          opts({ env: { SSH_AUTH_SOCK: join(dir, 'no-such-agent.sock') } }),
        ),
      );
      expect(err.kind).toBe('auth');
      expect(err.message).toContain('ssh-agent');
    });
  });
});

describe('network failures', () => {
  it('a refused connection is unreachable, at once, in DESIGN.md wording', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await nodeErrorOf(
      openSession(target({ port, knownHostsFile: await knownHosts(), identityFile: plain.file }), opts()),
    );
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a server that never speaks SSH is a timeout after --connect-timeout', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const err = await nodeErrorOf(
        openSession(
          target({ port: silent.port, knownHostsFile: await knownHosts(), identityFile: plain.file }),
          opts({ connectTimeoutSec: 0.5 }),
        ),
      );
      expect(err.kind).toBe('timeout');
      expect(err.message).toContain(`127.0.0.1:${silent.port}`);
      expect(err.message).toContain('0.5s');
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await silent.close();
    }
  });

  it('an unknown host name is unreachable', async () => {
    const err = await nodeErrorOf(
      openSession(
        target({
          host: 'no-such-host.invalid',
          port: 22,
          knownHostsFile: await knownHosts(),
          identityFile: plain.file,
        }),
        opts(),
      ),
    );
    expect(err.kind).toBe('unreachable');
    expect(err.message).toMatch(/^getaddrinfo E[A-Z_]+ no-such-host\.invalid$/);
  });
});

describe('exec', () => {
  let s: NodeSession;
  beforeAll(async () => {
    s = await directSession();
  });
  afterAll(async () => {
    await s.close();
  });

  it('writes stdin, then closes it', async () => {
    expect(await s.exec('cat', { stdin: 'hello\nworld' })).toEqual({
      code: 0,
      stdout: 'hello\nworld',
      stderr: '',
      truncated: false,
    });
    // Without stdin, stdin is closed at once: cat does not hang.
    expect((await s.exec('cat')).stdout).toBe('');
  });

  it('returns non-zero exits and stderr as results', async () => {
    const r = await s.exec('echo oops >&2; exit 3');
    expect(r).toMatchObject({ code: 3, stderr: 'oops\n', stdout: '', truncated: false });
  });

  it('keeps multibyte output intact', async () => {
    expect((await s.exec('cat', { stdin: 'žluťoučký kůň ✓' })).stdout).toBe('žluťoučký kůň ✓');
  });

  it('bounds the output and stops the command', async () => {
    const r = await s.exec('yes', { maxBytes: 1000 });
    expect(r.truncated).toBe(true);
    expect(r.stdout).toHaveLength(1000);
    expect(r.stdout.startsWith('y\ny\n')).toBe(true);
    // The session is still usable.
    expect((await s.exec('echo after')).stdout).toBe('after\n');
  });

  it('kills a command that runs past timeoutSec', async () => {
    const started = Date.now();
    const err = await nodeErrorOf(s.exec('sleep 10', { timeoutSec: 0.3 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('sleep 10');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('hold() keeps a lock holder running until release, and reports one that ended at once', async () => {
    const lock = join(dir, `hold-${process.pid}.lock`);
    const held = await s.hold(
      `flock -n ${lock} sh -c 'echo LOCKED; while l=$(timeout 20 head -n 1) && [ -n "$l" ]; do :; done'`,
    );
    expect(held).toMatchObject({ firstLine: 'LOCKED', running: true });
    expect((await s.exec(`flock -n ${lock} true`)).code).not.toBe(0);
    await held.release();
    expect((await s.exec(`flock -n ${lock} true`)).code).toBe(0);
    const refused = await s.hold('echo busy >&2; exit 75');
    expect(refused).toMatchObject({ firstLine: '', running: false });
    expect(refused.stderr()).toBe('busy\n');
  });

  it('a lock holder that floods its channel after LOCKED is stopped at the bound, and the session with it', async () => {
    const flood = await directSession();
    try {
      const held = await flood.hold('echo LOCKED; exec yes', { maxBytes: 64 * 1024 });
      await vi.waitFor(() => expect(held.failure?.()).toBeDefined(), { timeout: 5000 });
      expect(held.failure?.()).toBe(
        "n1: lock: the lock holder sent more than 65536 bytes on stdout, kubemend's bound on what a node may send; it was stopped",
      );
      // Nothing more runs on a node whose lock is gone: the next step fails naming why.
      const err = await nodeErrorOf(flood.exec('true'));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain('lock holder sent more than 65536 bytes on stdout');
      await held.release();
    } finally {
      await flood.close();
    }
  });

  it('the system ssh transport bounds the lock holder the same way', async () => {
    const flood = await directSession({ ssh: 'openssh' });
    try {
      const held = await flood.hold('echo LOCKED; exec yes', { maxBytes: 64 * 1024 });
      expect(held.firstLine).toBe('LOCKED');
      await vi.waitFor(() => expect(held.failure?.()).toBeDefined(), { timeout: 5000 });
      expect(held.failure?.()).toMatch(/^n1: lock: the lock holder sent more than 65536 bytes on stdout/);
      const err = await nodeErrorOf(flood.exec('true'));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain('lock holder sent more than 65536 bytes');
      await held.release();
    } finally {
      await flood.close();
    }
  });

  it('a lock holder that floods stderr, or never ends its first line, is stopped too', async () => {
    for (const command of ['exec yes >&2', "exec tr -d '\\n' </dev/zero"]) {
      const flood = await directSession();
      try {
        const held = await flood.hold(command, { maxBytes: 64 * 1024 });
        expect(held.running).toBe(false);
        expect(held.failure?.()).toMatch(
          /^n1: lock: the lock holder sent more than 65536 bytes on std(out|err)/,
        );
        expect(held.stderr().length).toBeLessThanOrEqual(64 * 1024);
        await held.release();
      } finally {
        await flood.close();
      }
    }
  });

  it('a script that sends more than the bound fails its step, naming node, step and the bound', async () => {
    const big = join(dir, 'big-file');
    await writeFile(big, 'x'.repeat(100_000));
    const err = await runScript(s, 'read-file', [big], { step: `read ${big}`, maxBytes: 4096 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepError);
    expect((err as StepError).reason).toBe('too-large');
    // Whether cat had finished by the time it was stopped is a race: the exit status may or may not be known.
    expect((err as StepError).message).toMatch(
      new RegExp(
        `^n1: read ${big} failed: sent more than 4096 bytes on stdout, kubemend's bound on what a node may send; it was stopped \\(read-file\\.sh, (no exit status|exit \\d+)\\)$`,
      ),
    );
  });

  it('runs many commands at once on one session', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => s.exec(`echo ${i}`)));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `${i}\n`));
  });
});

describe('become: sudo', () => {
  const tricky = `printf '%s\\n' "it's" 'a "b" $HOME' | cat; echo "$FAKE_SUDO"`;
  const trickyOut = `it's\na "b" $HOME\nroot\n`;

  it('wraps the command in sudo -n sh -c with safe quoting, stdin passing through', async () => {
    const s = await directSession({ become: 'sudo' });
    try {
      const r = await s.exec(tricky);
      expect(r.stdout).toBe(trickyOut);
      expect(jumpServer.commands.at(-1)).toMatch(/^sudo -n sh -c '/);
      expect((await s.exec('cat; echo "$FAKE_SUDO"', { stdin: 'fed\n' })).stdout).toBe('fed\nroot\n');
      expect((await s.exec('sh -s', { stdin: 'echo "via sh -s as $FAKE_SUDO"\n' })).stdout).toBe(
        'via sh -s as root\n',
      );
      // asRoot: false runs as the user.
      expect((await s.exec('echo "[$FAKE_SUDO]"', { asRoot: false })).stdout).toBe('[]\n');
      expect(jumpServer.commands.at(-1)).toBe('echo "[$FAKE_SUDO]"');
      // The wrapped command's own exit code comes back.
      expect((await s.exec('exit 7')).code).toBe(7);
    } finally {
      await s.close();
    }
  });

  it('never uses sudo as root', async () => {
    const s = await directSession({ become: 'sudo', user: 'root' });
    try {
      expect((await s.exec('echo "[$FAKE_SUDO]"')).stdout).toBe('[]\n');
      expect(jumpServer.commands.at(-1)).toBe('echo "[$FAKE_SUDO]"');
    } finally {
      await s.close();
    }
  });

  it('a sudo that wants a password is a sudo-password error', async () => {
    jumpServer.sudoPasswordUsers.add('ops');
    try {
      const s = await directSession({ become: 'sudo', user: 'ops' });
      try {
        const err = await nodeErrorOf(s.exec('cat /etc/kubernetes/manifests/kube-apiserver.yaml'));
        expect(err.kind).toBe('sudo-password');
        expect(err.message).toBe(
          'user ops on node n1 needs a password for sudo; kubemend runs `sudo -n` and never prompts',
        );
        expect(err.fix).toContain('NOPASSWD');
        expect(err.fix).toContain('connect as root');
        // Only sudo's own refusal counts: a command failing with exit 1 is a result.
        expect((await s.exec('exit 1', { asRoot: false })).code).toBe(1);
      } finally {
        await s.close();
      }
    } finally {
      jumpServer.sudoPasswordUsers.delete('ops');
    }
  });
});

describe('ProxyJump', () => {
  const jump = () => ({ host: '127.0.0.1', port: jumpServer.port, user: 'admin', identityFile: plain.file });

  it('reaches the node through a jump host, verifying both host keys, and closes both', async () => {
    const file = await knownHosts(
      knownHostsLineFor(jumpServer.port, hostA),
      knownHostsLineFor(innerServer.port, hostB),
    );
    const forwards = jumpServer.forwards.length;
    const s = await openSession(
      target({ port: innerServer.port, knownHostsFile: file, identityFile: plain.file, proxyJump: [jump()] }),
      opts(),
    );
    expect(s.hostKeyFingerprint).toBe(fingerprintSha256(hostB.blob));
    expect((await s.exec('echo through')).stdout).toBe('through\n');
    expect(jumpServer.forwards.slice(forwards)).toEqual([{ host: '127.0.0.1', port: innerServer.port }]);
    expect(innerServer.commands.at(-1)).toBe('echo through');
    await s.close();
    await waitFor(() => innerServer.openConnections() === 0 && jumpServer.openConnections() === 0);
  });

  it('verifies the jump host key and names the hop', async () => {
    const file = await knownHosts(knownHostsLineFor(innerServer.port, hostB));
    const err = await nodeErrorOf(
      openSession(
        target({
          port: innerServer.port,
          knownHostsFile: file,
          identityFile: plain.file,
          proxyJump: [jump()],
        }),
        opts(),
      ),
    );
    expect(err.kind).toBe('host-key-unknown');
    expect(err.message).toContain(`jump host admin@127.0.0.1:${jumpServer.port}`);
  });

  it('verifies the node key behind the jump host', async () => {
    const file = await knownHosts(
      knownHostsLineFor(jumpServer.port, hostA),
      knownHostsLineFor(innerServer.port, hostOther),
    );
    const err = await nodeErrorOf(
      openSession(
        target({
          port: innerServer.port,
          knownHostsFile: file,
          identityFile: plain.file,
          proxyJump: [jump()],
        }),
        opts(),
      ),
    );
    expect(err.kind).toBe('host-key-changed');
    expect(err.message).toContain('node n1');
    await waitFor(() => jumpServer.openConnections() === 0);
  });

  it('accept-new records both hops', async () => {
    const file = await knownHosts();
    const s = await openSession(
      target({ port: innerServer.port, knownHostsFile: file, identityFile: plain.file, proxyJump: [jump()] }),
      opts({ acceptNewHostKeys: true }),
    );
    await s.close();
    expect(await readFile(file, 'utf8')).toBe(
      knownHostsLineFor(jumpServer.port, hostA) + knownHostsLineFor(innerServer.port, hostB),
    );
  });

  it('a node the jump host cannot reach is unreachable, naming the hop', async () => {
    const port = await freePort();
    const file = await knownHosts(knownHostsLineFor(jumpServer.port, hostA));
    const err = await nodeErrorOf(
      openSession(
        target({ port, knownHostsFile: file, identityFile: plain.file, proxyJump: [jump()] }),
        opts(),
      ),
    );
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain(`jump host admin@127.0.0.1:${jumpServer.port}`);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    await waitFor(() => jumpServer.openConnections() === 0);
  });

  it('goes through two jump hosts', async () => {
    const file = await knownHosts(
      knownHostsLineFor(jumpServer.port, hostA),
      knownHostsLineFor(innerServer.port, hostB),
    );
    const s = await openSession(
      target({
        port: innerServer.port,
        knownHostsFile: file,
        identityFile: plain.file,
        proxyJump: [jump(), jump()],
      }),
      opts(),
    );
    expect((await s.exec('echo twice')).stdout).toBe('twice\n');
    await s.close();
    await waitFor(() => innerServer.openConnections() === 0 && jumpServer.openConnections() === 0);
  });
});

describe('lost connections', () => {
  it('a command running when the connection drops fails as unreachable', async () => {
    const binDir = join(dir, 'bin');
    const doomed = await startServer({ hostKey: hostB, authorized: { admin: [plain] }, binDir });
    const file = await knownHosts(knownHostsLineFor(doomed.port, hostB));
    const s = await openSession(
      target({ port: doomed.port, knownHostsFile: file, identityFile: plain.file }),
      opts(),
    );
    try {
      const running = s.exec('sleep 10');
      await waitFor(() => doomed.commands.length === 1);
      await doomed.close();
      const err = await nodeErrorOf(running);
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain('connection to node n1 lost');
      expect((await nodeErrorOf(s.exec('true'))).kind).toBe('unreachable');
    } finally {
      await s.close();
    }
  });
});

describe('withSession', () => {
  it('returns what fn returns and closes the session', async () => {
    const file = await knownHosts(knownHostsLineFor(innerServer.port, hostB));
    const t = target({ port: innerServer.port, knownHostsFile: file, identityFile: plain.file });
    expect(await withSession(t, opts(), async (s) => (await s.exec('echo x')).stdout)).toBe('x\n');
    await waitFor(() => innerServer.openConnections() === 0);
  });

  it('closes the session when fn throws, and rethrows', async () => {
    const file = await knownHosts(knownHostsLineFor(innerServer.port, hostB));
    const t = target({ port: innerServer.port, knownHostsFile: file, identityFile: plain.file });
    let kept: NodeSession | undefined;
    await expect(
      withSession(t, opts(), async (s) => {
        kept = s;
        await s.exec('true');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await waitFor(() => innerServer.openConnections() === 0);
    const err = await nodeErrorOf(kept!.exec('true'));
    expect(err.message).toContain('session is closed');
    await kept!.close(); // idempotent
  });
});
