import { connect } from 'node:net';
import { run } from './exec.js';
import type { RunResult } from './exec.js';

export interface SshTarget {
  host: string;
  keyPath: string;
  knownHostsPath: string;
}

export interface SshOptions {
  /** Login user; default root. */
  user?: string;
  /** Sent to the remote command's stdin. */
  input?: string;
  timeoutMs?: number;
}

/**
 * Runs a command on a node with the OpenSSH client, the lab key and the lab known_hosts, strictly:
 * an unknown or changed host key fails, nothing prompts, no user ssh config is read.
 */
export function sshRun(target: SshTarget, command: string, opts: SshOptions = {}): Promise<RunResult> {
  // prettier-ignore
  const args = [
    '-F', '/dev/null',
    '-i', target.keyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${target.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    '-p', '22',
    `${opts.user ?? 'root'}@${target.host}`,
    '--',
    command,
  ];
  return run('ssh', args, {
    ...(opts.input !== undefined && { input: opts.input }),
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
}

/** Resolves true when something on host:22 sends an SSH banner within timeoutMs. */
export function sshBanner(host: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: 22 });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
    socket.on('end', () => done(false));
  });
}
