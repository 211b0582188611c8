/**
 * The argv kubemend gives the system `ssh` (always an array, never a shell command line). The
 * inventory's values and kubemend's host key policy go on the command line, where they win over
 * ssh_config; everything else is the user's ssh_config, as `ssh NODE` reads it.
 */
import { InternalError } from '../../errors.js';
import { userProblem } from '../../inventory/address.js';
import { parseProxyJump } from '../../inventory/jump.js';
import type { NodeTarget, SshCommandLine } from '../../inventory/types.js';

export interface OpenSshPolicy {
  knownHostsFile: string;
  acceptNewHostKeys: boolean;
  connectTimeoutSec: number;
  /** `-F FILE` when kubemend reads another ssh config than ssh would by itself (HOME is not the login home). */
  configFile?: string;
}

/** ssh expands %-tokens in ControlPath, UserKnownHostsFile and IdentityFile: a literal % is %%. */
export function escapeTokens(path: string): string {
  return path.replace(/%/g, '%%');
}

/** ssh_config values are split on whitespace and quotes: a path is given in double quotes. */
function quotedPath(path: string): string {
  if (/["\\\n\r]/.test(path)) throw new Error(`path ${JSON.stringify(path)} cannot be passed to ssh`);
  return `"${escapeTokens(path)}"`;
}

/** A target not read from an inventory carries no command line: then every value goes on it. */
export function commandLineOf(target: NodeTarget): SshCommandLine {
  return (
    target.sshCommand ?? {
      destination: target.host,
      user: target.user,
      port: target.port,
      ...(target.identityFile !== undefined ? { identityFile: target.identityFile } : {}),
      ...(target.proxyJump.length > 0
        ? { proxyJump: target.proxyJump.map((j) => `${j.user}@${j.host}:${j.port}`).join(',') }
        : {}),
    }
  );
}

/**
 * The last check before values reach ssh's argv: the system ssh hands `ProxyJump=` to /bin/sh as a
 * ProxyCommand, so a user or host there could run a command on this machine (the destination comes
 * after `--` and goes through ssh's own checks). The inventory readers
 * check every value already; one that still gets here unchecked is a bug in kubemend, never run.
 */
function checkLine(line: SshCommandLine): void {
  const problems = [
    line.user === undefined ? undefined : userProblem(line.user),
    line.proxyJump === undefined || line.proxyJump === ''
      ? undefined
      : ((r) => ('error' in r ? r.error : undefined))(parseProxyJump(line.proxyJump)),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0)
    throw new InternalError(`an unchecked value reached the ssh command line: ${problems.join('; ')}`);
}

/** -F and the inventory's own values, in ssh's spelling. */
function targetArgs(line: SshCommandLine, policy: Pick<OpenSshPolicy, 'configFile'>): string[] {
  checkLine(line);
  const args: string[] = [];
  if (policy.configFile !== undefined) args.push('-F', policy.configFile);
  if (line.user !== undefined) args.push('-l', line.user);
  if (line.port !== undefined) args.push('-p', String(line.port));
  if (line.identityFile !== undefined) args.push('-o', `IdentityFile=${quotedPath(line.identityFile)}`);
  if (line.proxyJump !== undefined)
    args.push('-o', `ProxyJump=${line.proxyJump === '' ? 'none' : line.proxyJump}`);
  return args;
}

/** `ssh -G`: what ssh would do for this node, without connecting. */
export function settingsArgs(target: NodeTarget, policy: Pick<OpenSshPolicy, 'configFile'>): string[] {
  const line = commandLineOf(target);
  return ['-G', ...targetArgs(line, policy), '--', line.destination];
}

/** Options that make ssh behave as kubemend promises, whatever ssh_config says. */
function policyArgs(policy: OpenSshPolicy): string[] {
  // prettier-ignore
  return [
    '-o', 'BatchMode=yes',
    // Never `no`: unknown keys fail unless --accept-new-host-keys; changed keys always fail.
    '-o', `StrictHostKeyChecking=${policy.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
    '-o', `UserKnownHostsFile=${quotedPath(policy.knownHostsFile)}`,
    '-o', `ConnectTimeout=${Math.max(1, Math.round(policy.connectTimeoutSec))}`,
    '-o', 'ForwardAgent=no',
    '-o', 'ForwardX11=no',
    '-o', 'ClearAllForwardings=yes',
    '-o', 'PermitLocalCommand=no',
    '-o', 'RequestTTY=no',
    '-o', 'UpdateHostKeys=no',
  ];
}

/**
 * The ControlMaster: no session of its own (-N), in the foreground so kubemend owns its PID, its
 * log (-E, debug1: "Server host key: …", "Found key in …") kept apart from a ProxyCommand's stderr.
 * Keepalives notice a lost node as the built-in client does (5 s × 3).
 */
export function masterArgs(
  target: NodeTarget,
  policy: OpenSshPolicy,
  paths: { socket: string; log: string },
): string[] {
  const line = commandLineOf(target);
  // prettier-ignore
  return [
    '-M', '-N',
    '-S', escapeTokens(paths.socket),
    '-E', paths.log,
    '-o', 'ControlPersist=no',
    '-o', 'LogLevel=DEBUG1',
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    ...policyArgs(policy),
    ...targetArgs(line, policy),
    '--', line.destination,
  ];
}

/**
 * One command over the master. `ProxyCommand=false`: should the master be gone, the client must
 * fail rather than quietly open a new connection of its own. The command is one argv element,
 * which ssh sends unchanged as the exec request (the login shell runs it, as with ssh2).
 */
export function clientArgs(
  target: NodeTarget,
  policy: OpenSshPolicy,
  socket: string,
  command: string,
  withStdin: boolean,
): string[] {
  const line = commandLineOf(target);
  // prettier-ignore
  return [
    '-S', escapeTokens(socket),
    '-o', 'ControlMaster=no',
    '-o', 'ProxyCommand=false',
    '-o', 'LogLevel=QUIET',
    '-T',
    ...(withStdin ? [] : ['-n']),
    ...policyArgs(policy),
    ...targetArgs(line, policy),
    '--', line.destination, command,
  ];
}

/** `ssh -O exit`: asks the master to end. */
export function exitArgs(target: NodeTarget, policy: OpenSshPolicy, socket: string): string[] {
  const line = commandLineOf(target);
  return ['-S', escapeTokens(socket), '-O', 'exit', ...targetArgs(line, policy), '--', line.destination];
}
