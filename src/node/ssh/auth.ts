/**
 * Client authentication, in OpenSSH's spirit: the configured identity file, then ssh-agent, then
 * the default keys ~/.ssh/id_ed25519, id_ecdsa, id_rsa. Encrypted default keys are only unlocked
 * (prompting) when nothing else worked. Keys are loaded lazily, so nobody is asked for a passphrase
 * for a host that is down or that accepted an earlier method.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import { NodeError } from '../../errors.js';

const { utils } = ssh2;

export const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

export interface AuthSettings {
  node: string;
  /** Put before messages: '' for the node itself, "jump host bastion:22 (for node cp-1): " for a hop. */
  messagePrefix: string;
  user: string;
  host: string;
  port: number;
  identityFile?: string;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  askPassphrase?: (keyFile: string) => Promise<string>;
}

/** Called around a passphrase prompt, so the connect timeout does not count the user's typing. */
export interface PromptHooks {
  pause(): void;
  resume(): void;
}

type Loaded =
  | { kind: 'key'; key: ParsedKey }
  | { kind: 'encrypted' }
  | { kind: 'missing' }
  | { kind: 'unusable'; reason: string };

/** Reads and parses a private key file without a passphrase. */
export async function loadKey(file: string): Promise<Loaded> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unusable', reason: `cannot read it: ${code ?? String(err)}` };
  }
  return interpretParse(utils.parseKey(data), data);
}

function interpretParse(parsed: ParsedKey | ParsedKey[] | Error, data: Buffer): Loaded {
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message) || isEncryptedPem(data)) return { kind: 'encrypted' };
    return { kind: 'unusable', reason: parsed.message };
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return { kind: 'unusable', reason: 'it is not a private key' };
  return { kind: 'key', key };
}

/** Header-level detection, for formats ssh2 reports with another message. */
export function isEncryptedPem(data: Buffer): boolean {
  const head = data.subarray(0, 200).toString('latin1');
  return head.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(head);
}

type Unlocked = { ok: true; key: ParsedKey } | { ok: false; reason: string };

// One prompt per key file per prompter, even when twenty sessions reach the same key at once.
const unlockCache = new WeakMap<(keyFile: string) => Promise<string>, Map<string, Promise<Unlocked>>>();

function unlock(file: string, ask: (keyFile: string) => Promise<string>): Promise<Unlocked> {
  let perAsker = unlockCache.get(ask);
  if (!perAsker) unlockCache.set(ask, (perAsker = new Map()));
  let pending = perAsker.get(file);
  if (!pending) {
    pending = (async (): Promise<Unlocked> => {
      let passphrase: string;
      try {
        passphrase = await ask(file);
      } catch (err) {
        return {
          ok: false,
          reason: `the passphrase prompt failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      const data = await readFile(file);
      const parsed = utils.parseKey(data, passphrase);
      if (parsed instanceof Error) return { ok: false, reason: 'wrong passphrase' };
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      return key && key.isPrivateKey() ? { ok: true, key } : { ok: false, reason: 'it is not a private key' };
    })();
    perAsker.set(file, pending);
  }
  return pending;
}

type Candidate =
  | { kind: 'file'; file: string; explicit: boolean; encryptedPass: boolean }
  | { kind: 'agent'; socket: string };

export interface AuthState {
  handler: AuthHandlerMiddleware;
  /** Set once the handler has answered `false` (nothing left): the next auth error is final. */
  readonly exhausted: boolean;
  /** Non-fatal trouble ssh2 reports as 'error' events (agent unreachable, a key that cannot sign). */
  note(message: string): void;
  /** The NodeError for "every method failed", naming what was tried. */
  failure(serverMessage?: string): NodeError;
}

/** What to do when no key was accepted (both transports). */
export function authFailureFix(user: string, host: string): string {
  return (
    `check that user ${user} exists on ${host} and that one of these keys is in its ` +
    `~/.ssh/authorized_keys (or that its certificate is trusted there); or set identityFile ` +
    `(or ansible_ssh_private_key_file) in the inventory`
  );
}

/** How a message names ssh-agent among the keys tried, on both transports. */
export function agentTried(socket: string | undefined): string {
  return socket ? `ssh-agent (SSH_AUTH_SOCK=${socket})` : 'ssh-agent';
}

export interface AuthRefusal {
  node: string;
  messagePrefix: string;
  user: string;
  host: string;
  port: number;
  /** What was offered, in order: "key FILE", agentTried(…), "key FILE (certificate)". */
  tried: readonly string[];
  /** The methods the server's last answer offered (ssh2's authsLeft, OpenSSH's "Permission denied (…)"). */
  serverMethods: readonly string[] | null;
  notes: readonly string[];
}

/** The one wording of "no key was accepted", for both transports. */
export function authRefused(r: AuthRefusal): NodeError {
  const who = `${r.user}@${r.host}:${r.port}`;
  const parts: string[] = [];
  if (r.serverMethods && !r.serverMethods.includes('publickey')) {
    parts.push(
      `the server does not accept public keys (it offers: ${r.serverMethods.join(', ') || 'nothing'})`,
    );
  }
  parts.push(r.tried.length > 0 ? `tried ${[...new Set(r.tried)].join(', ')}` : 'no key to try');
  return new NodeError(
    r.node,
    `${r.messagePrefix}authentication failed for ${who}; ${parts.join('; ')}${r.notes.length > 0 ? ` (${r.notes.join('; ')})` : ''}`,
    'auth',
    authFailureFix(r.user, r.host),
  );
}

export function createAuth(settings: AuthSettings, hooks: PromptHooks): AuthState {
  const tried: string[] = [];
  const problems: string[] = [];
  /** Keys that might have worked with a passphrase we could not get. */
  const locked: { file: string; reason: string; explicit: boolean }[] = [];
  const notedErrors: string[] = [];
  let exhausted = false;
  let serverMethods: AuthenticationType[] | null = null;

  const candidates: Candidate[] = [];
  if (settings.identityFile)
    candidates.push({ kind: 'file', file: settings.identityFile, explicit: true, encryptedPass: false });
  const agentSocket = settings.env['SSH_AUTH_SOCK'];
  if (agentSocket) candidates.push({ kind: 'agent', socket: agentSocket });
  const defaults = DEFAULT_KEY_NAMES.map((n) => join(settings.homeDir, '.ssh', n)).filter(
    (f) => f !== settings.identityFile,
  );
  for (const file of defaults) candidates.push({ kind: 'file', file, explicit: false, encryptedPass: false });
  // Encrypted default keys met on the way, unlocked only when everything above failed.
  const encryptedDefaults: string[] = [];

  let index = 0;

  async function nextMethod(): Promise<AnyAuthMethod | false> {
    if (serverMethods && !serverMethods.includes('publickey')) return false;
    for (;;) {
      let candidate = candidates[index];
      if (!candidate) {
        // Everything else failed: now unlock the encrypted default keys, if someone can be asked.
        const file = encryptedDefaults.shift();
        if (file === undefined || !settings.askPassphrase) return false;
        candidate = { kind: 'file', file, explicit: false, encryptedPass: true };
        candidates.push(candidate);
      }
      index++;
      if (candidate.kind === 'agent') {
        tried.push(agentTried(candidate.socket));
        return { type: 'agent', username: settings.user, agent: candidate.socket };
      }
      const method = await fileMethod(candidate);
      if (method) return method;
    }
  }

  async function fileMethod(c: Extract<Candidate, { kind: 'file' }>): Promise<AnyAuthMethod | undefined> {
    const loaded = await loadKey(c.file);
    if (loaded.kind === 'missing') {
      if (c.explicit) problems.push(`identity file ${c.file} does not exist`);
      return undefined;
    }
    if (loaded.kind === 'unusable') {
      problems.push(`key ${c.file} is unusable: ${loaded.reason}`);
      return undefined;
    }
    if (loaded.kind === 'key') {
      tried.push(`key ${c.file}`);
      return { type: 'publickey', username: settings.user, key: loaded.key };
    }
    // Encrypted.
    if (!c.explicit && !c.encryptedPass) {
      encryptedDefaults.push(c.file);
      if (!settings.askPassphrase) locked.push({ file: c.file, reason: 'is encrypted', explicit: false });
      return undefined;
    }
    if (!settings.askPassphrase) {
      locked.push({ file: c.file, reason: 'is encrypted', explicit: true });
      return undefined;
    }
    hooks.pause();
    let unlocked: Unlocked;
    try {
      unlocked = await unlock(c.file, settings.askPassphrase);
    } finally {
      hooks.resume();
    }
    if (!unlocked.ok) {
      locked.push({
        file: c.file,
        reason: `could not be unlocked: ${unlocked.reason}`,
        explicit: c.explicit,
      });
      return undefined;
    }
    tried.push(`key ${c.file}`);
    return { type: 'publickey', username: settings.user, key: unlocked.key };
  }

  const handler: AuthHandlerMiddleware = (authsLeft, _partialSuccess, next) => {
    // ssh2 passes null on the first call, then the server's remaining methods.
    serverMethods = (authsLeft as AuthenticationType[] | null) ?? null;
    nextMethod().then(
      (method) => {
        if (method === false) exhausted = true;
        // ssh2's typings omit `false`, which its runtime documents as "no more methods".
        next(method as AnyAuthMethod);
      },
      (err: unknown) => {
        problems.push(
          `internal error while choosing a key: ${err instanceof Error ? err.message : String(err)}`,
        );
        exhausted = true;
        next(false as unknown as AnyAuthMethod);
      },
    );
  };

  function failure(serverMessage?: string): NodeError {
    const who = `${settings.user}@${settings.host}:${settings.port}`;
    const lockedExplicit = locked.filter((l) => l.explicit);
    const onlyLocked = tried.length === 0 && locked.length > 0;
    if (lockedExplicit.length > 0 || onlyLocked) {
      const first = (lockedExplicit[0] ?? locked[0])!;
      const also = tried.length > 0 ? `; also tried ${tried.join(', ')}` : '';
      const message =
        first.reason === 'is encrypted'
          ? `key ${first.file} is encrypted; load it into ssh-agent (ssh-add ${first.file}) or run on a terminal`
          : `key ${first.file} ${first.reason}`;
      return new NodeError(
        settings.node,
        `${settings.messagePrefix}${message} (authenticating ${who}${also})`,
        'passphrase',
        `ssh-add ${first.file}, then rerun with SSH_AUTH_SOCK set; or run kubemend on a terminal to be asked for the passphrase`,
      );
    }
    const notes = [...problems, ...locked.map((l) => `key ${l.file} ${l.reason}`), ...notedErrors];
    if (tried.length === 0 && !settings.identityFile && !agentSocket) {
      notes.push(`no identityFile, SSH_AUTH_SOCK is not set, and none of ${defaults.join(', ')} is usable`);
    }
    if (serverMessage) notes.push(`server said: ${serverMessage}`);
    return authRefused({
      node: settings.node,
      messagePrefix: settings.messagePrefix,
      user: settings.user,
      host: settings.host,
      port: settings.port,
      tried,
      serverMethods,
      notes,
    });
  }

  return {
    handler,
    get exhausted() {
      return exhausted;
    },
    note(message: string) {
      notedErrors.push(message);
    },
    failure,
  };
}
