import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What a lab command needs; `down`/`status` only need to tear down and look. */
export type LabAction = 'up' | 'down' | 'status';

interface Tool {
  bin: string;
  pkg: string;
  for: readonly LabAction[];
}

// Debian package names so the message can say exactly what to install.
const TOOLS: readonly Tool[] = [
  { bin: 'systemd-nspawn', pkg: 'systemd-container', for: ['up'] },
  { bin: 'debootstrap', pkg: 'debootstrap', for: ['up'] },
  { bin: 'ip', pkg: 'iproute2', for: ['up', 'down', 'status'] },
  { bin: 'mount', pkg: 'mount', for: ['up', 'down'] },
  { bin: 'ssh', pkg: 'openssh-client', for: ['up', 'status'] },
  { bin: 'ssh-keygen', pkg: 'openssh-client', for: ['up'] },
  { bin: 'openssl', pkg: 'openssl', for: ['up'] },
  { bin: 'chroot', pkg: 'coreutils', for: ['up'] },
];

export function findOnPath(bin: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.map((d) => join(d, bin)).find((p) => existsSync(p));
}

/** Every reason the lab cannot run here, each with its fix; empty when it can. */
export function labProblems(action: LabAction = 'up'): string[] {
  if (process.platform !== 'linux')
    return [`not Linux (platform is ${process.platform}): the lab needs Linux namespaces and systemd-nspawn`];
  const problems: string[] = [];
  if (process.getuid?.() !== 0)
    problems.push('not root: the lab creates mounts, network namespaces and containers (run it with sudo)');
  const missing = new Map<string, string[]>();
  for (const tool of TOOLS) {
    if (!tool.for.includes(action) || findOnPath(tool.bin)) continue;
    missing.set(tool.pkg, [...(missing.get(tool.pkg) ?? []), tool.bin]);
  }
  for (const [pkg, bins] of missing) problems.push(`${bins.join(', ')} not found: apt-get install ${pkg}`);
  if (action === 'up' && !readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) {
    problems.push('the kernel has no overlay filesystem: modprobe overlay');
  }
  return problems;
}

export class LabUnavailableError extends Error {
  constructor(readonly problems: string[]) {
    super(`the lab cannot run here:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function assertLabCanRun(action: LabAction): void {
  const problems = labProblems(action);
  if (problems.length > 0) throw new LabUnavailableError(problems);
}
