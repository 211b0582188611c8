import { writeFileSync } from 'node:fs';
import { inject } from 'vitest';
import { attachLab } from '../lab/lab.js';
import type { Lab } from '../lab/lab.js';

/** The lab from globalSetup, or undefined when the e2e tier is skipped (guard with describe.skipIf). */
export function injectLab(): Lab | undefined {
  const info = inject('lab');
  return info ? attachLab(info) : undefined;
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  stepMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Single-quotes a string for a POSIX shell. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Commands on a lab node: `ssh` returns stdout (a non-zero exit throws, naming node and command); `sha` hashes a file. */
export function labShell(lab: Lab) {
  const ssh = async (node: string, command: string): Promise<string> => {
    const r = await lab.ssh(node, command);
    if (r.code !== 0) throw new Error(`${node}: ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const sha = async (node: string, path: string) =>
    (await ssh(node, `sha256sum < ${shq(path)}`)).split(' ')[0];
  return { ssh, sha };
}

/**
 * Writes an inventory of the lab's nodes (as root, the lab's key and known_hosts) to `file`, with
 * playbook `params` for some nodes; returns the path.
 */
export function writeLabInventory(lab: Lab, file: string, params: Record<string, unknown> = {}): string {
  const nodes = lab.nodes
    .map(
      (n) =>
        `  ${n.name}: ${JSON.stringify({ host: n.host, ...(params[n.name] ? { params: params[n.name] } : {}) })}`,
    )
    .join('\n');
  writeFileSync(
    file,
    `defaults: ${JSON.stringify({ user: 'root', port: 22, identityFile: lab.keyPath, knownHostsFile: lab.knownHostsPath })}\nnodes:\n${nodes}\n`,
  );
  return file;
}
