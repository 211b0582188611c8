/**
 * Which client talks to a node: the built-in one (ssh2) unless the node's ssh settings need what
 * only the system `ssh` does, or the inventory / --ssh says. Decided once per node per run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { settingsArgs } from './openssh-args.js';
import { opensshReasons, parseSettings } from './openssh-settings.js';
import type { SshSettings } from './openssh-settings.js';
import type { SessionOptions } from './types.js';

export type Transport = 'builtin' | 'openssh';

export interface TransportChoice {
  transport: Transport;
  /** Why, for -v: "ProxyCommand nc %h %p", "ssh: openssh in the inventory", … */
  why: string;
  /** `ssh -G` for the node, when ssh ran. */
  settings?: SshSettings;
  /** -F for ssh, when kubemend reads another ssh config than ssh would by itself. */
  configFile?: string;
}

/** ssh reads ~/.ssh/config from the login home (passwd), not $HOME; kubemend reads $HOME's. */
export function configFileFor(homeDir: string): string | undefined {
  let loginHome: string;
  try {
    loginHome = userInfo().homedir;
  } catch {
    loginHome = '';
  }
  if (resolve(loginHome) === resolve(homeDir)) return undefined;
  const file = join(homeDir, '.ssh', 'config');
  return existsSync(file) ? file : '/dev/null';
}

function sshHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

type Run = { ok: true; stdout: string; stderr: string; code: number | null } | { ok: false; missing: true };

/** Runs `ssh ARGS` (never a shell), for -G: bounded in time. */
export function runSsh(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<Run> {
  return new Promise((done) => {
    const child = spawn('ssh', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') done({ ok: false, missing: true });
      else done({ ok: true, stdout, stderr: stderr || err.message, code: null });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ ok: true, stdout, stderr, code });
    });
  });
}

export function missingSsh(node: string, why: string): NodeError {
  return new NodeError(
    node,
    `node ${node} needs the system ssh client (${why}), but there is no \`ssh\` command on PATH`,
    'unreachable',
    'install the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client; RHEL/Fedora: dnf install openssh-clients) ' +
      'or put it on PATH',
  );
}

const memo = new WeakMap<NodeTarget, Promise<TransportChoice>>();

/** The settings an OpenSSH session reads (openssh-session.ts), as their own strings. */
const SESSION_KEYS = ['hostname', 'port', 'user', 'proxycommand'];
const sessionSettings = (settings: SshSettings): SshSettings =>
  new Map(
    SESSION_KEYS.flatMap((k) => {
      const v = settings.get(k);
      // A copy: a slice of ssh -G's output would keep the whole output alive.
      return v ? [[k, v.map((x) => Buffer.from(x, 'utf8').toString('utf8'))] as const] : [];
    }),
  );

/** The transport for this node; the same answer (and one `ssh -G`) for every session in this run. */
export function chooseTransport(target: NodeTarget, opts: SessionOptions): Promise<TransportChoice> {
  let choice = memo.get(target);
  if (!choice) {
    choice = decide(target, opts);
    memo.set(target, choice);
  }
  return choice;
}

async function decide(target: NodeTarget, opts: SessionOptions): Promise<TransportChoice> {
  const node = target.name;
  const asked = target.ssh;
  const configFile = configFileFor(opts.homeDir ?? homedir());
  const extra = configFile === undefined ? {} : { configFile };
  const run = await runSsh(settingsArgs(target, extra), opts.env ?? process.env);
  if (!run.ok) {
    if (asked === 'openssh') throw missingSsh(node, 'ssh: openssh was asked for');
    if (target.opensshOnly) throw missingSsh(node, target.opensshOnly);
    return { transport: 'builtin', why: 'no ssh command on PATH', ...extra };
  }
  if (run.code !== 0) {
    throw new NodeError(
      node,
      `ssh cannot read its configuration for node ${node}: ${run.stderr.trim().split('\n').slice(-2).join('; ')}`,
      'unreachable',
      `fix ~/.ssh/config (\`ssh -G ${target.sshCommand?.destination ?? target.host}\` shows the same error)`,
    );
  }
  const settings = parseSettings(run.stdout);
  const { reasons, where } = opensshReasons(settings, target, {
    read: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
    exists: (p) => existsSync(p),
    sshHome: sshHome(),
  });
  if (target.opensshOnly && !where.some((w) => w.startsWith('ProxyCommand'))) where.push(target.opensshOnly);
  // Kept for the run (one choice per node): only what a session reads, not ssh -G's whole output.
  const found = { settings: sessionSettings(settings), ...extra };
  if (asked === 'openssh')
    return { transport: 'openssh', why: 'asked for (--ssh or the inventory)', ...found };
  if (asked === 'builtin') {
    if (where.length > 0)
      throw new NodeError(
        node,
        `node ${node}: ssh reaches it with ${where.join(', ')}, which the built-in client cannot follow; ` +
          `with the built-in client (ssh: builtin) it would connect elsewhere or as someone else`,
        'unreachable',
        'use --ssh openssh, or remove ssh: builtin for this node',
      );
    return { transport: 'builtin', why: 'asked for (--ssh or the inventory)', ...found };
  }
  if (reasons.length > 0) return { transport: 'openssh', why: reasons.join('; '), ...found };
  return { transport: 'builtin', why: 'plain keys and known_hosts', ...found };
}
