/**
 * Which client talks to a node: the built-in one (ssh2) unless the node's ssh settings need what
 * only the system `ssh` does, or the inventory / --ssh says. Decided once per node per run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { settingsArgs } from './openssh-args.js';
import { configFilesRead, deriveSettingsText, hostDependence, withoutDebug } from './openssh-config-scope.js';
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

/** The first node's `ssh -G` for a command line, shared when the config files cannot tell nodes apart. */
interface Canary {
  dest: string;
  stdout: string;
}

/** Per run (the options object of one audit, plan or apply): command line without destination → canary. */
const canaries = new WeakMap<SessionOptions, Map<string, Promise<Canary | undefined>>>();

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `ssh -G ARGS` for one node. The first node of a command line runs it with -v, which lists the
 * config files ssh read; when those cannot tell destinations apart (openssh-config-scope.ts) the
 * other nodes' answers are derived from it instead of spawning ssh once per node.
 */
async function sshSettings(args: string[], opts: SessionOptions): Promise<Run> {
  const env = opts.env ?? process.env;
  const dest = args.at(-1)!;
  let perRun = canaries.get(opts);
  if (!perRun) canaries.set(opts, (perRun = new Map()));
  const key = args.slice(0, -1).join('\0');
  const shared = perRun.get(key);
  if (shared === undefined) {
    const mine = runSsh(['-v', ...args], env);
    perRun.set(
      key,
      mine.then((run) => {
        if (!run.ok || run.code !== 0) return undefined;
        const paths = configFilesRead(run.stderr);
        const files = paths.map((path) => ({ path, text: readText(path) }));
        if (paths.length === 0 || files.some((f) => f.text === undefined)) return undefined;
        if (hostDependence(files as { path: string; text: string }[]) !== undefined) return undefined;
        return { dest, stdout: run.stdout };
      }),
    );
    return mine;
  }
  const canary = await shared;
  const derived = canary && deriveSettingsText(canary.stdout, canary.dest, dest);
  if (derived !== undefined && derived !== '') return { ok: true, stdout: derived, stderr: '', code: 0 };
  return runSsh(args, env);
}

/**
 * Whether GSSAPI (Kerberos) could authenticate this user: a credential cache named in the
 * environment, the default file cache, or a krb5.conf that names another cache or a client keytab.
 * Without any, ssh's GSSAPIAuthentication has nothing to offer and falls through to keys, which the
 * built-in client does the same. Once per environment (per run).
 */
const kerberosMemo = new WeakMap<NodeJS.ProcessEnv, boolean>();
export function kerberosCredentials(env: NodeJS.ProcessEnv): boolean {
  const known = kerberosMemo.get(env);
  if (known !== undefined) return known;
  const uid = process.getuid?.() ?? -1;
  const confs = ['/etc/krb5.conf', env['KRB5_CONFIG'] ?? ''].filter((p) => p !== '');
  try {
    for (const f of readdirSync('/etc/krb5.conf.d')) confs.push(join('/etc/krb5.conf.d', f));
  } catch {
    // none
  }
  const could =
    Boolean(env['KRB5CCNAME']) ||
    Boolean(env['KRB5_CLIENT_KTNAME']) ||
    existsSync(`/tmp/krb5cc_${uid}`) ||
    confs.some((p) => /^\s*default_(ccache_name|client_keytab_name)\s*=/m.test(readText(p) ?? ''));
  kerberosMemo.set(env, could);
  return could;
}

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
  const run = await sshSettings(settingsArgs(target, extra), opts);
  if (!run.ok) {
    if (asked === 'openssh') throw missingSsh(node, 'ssh: openssh was asked for');
    if (target.opensshOnly) throw missingSsh(node, target.opensshOnly);
    return { transport: 'builtin', why: 'no ssh command on PATH', ...extra };
  }
  if (run.code !== 0) {
    throw new NodeError(
      node,
      `ssh cannot read its configuration for node ${node}: ${withoutDebug(run.stderr).trim().split('\n').slice(-2).join('; ')}`,
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
    kerberos: kerberosCredentials(opts.env ?? process.env),
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
