import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as the acceptance suite does: no TTY, a fresh HOME (so nothing from the
 * developer's ~/.ssh leaks in), CI-like environment.
 */
export function kubemend(
  args: string[],
  opts: {
    home?: string;
    env?: NodeJS.ProcessEnv;
    input?: string;
    /** Called with the child process, e.g. to send it a signal. */
    onSpawn?: (child: ChildProcess) => void;
  } = {},
): Promise<CliResult> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'kubemend-home-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (!opts.home) rmSync(home, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A command's arguments against a lab inventory; apply and rollback, which change nodes, journal into `dir`. */
export const labArgs = (args: string[], inventory: string, dir: string): string[] => [
  ...args,
  '-i',
  inventory,
  ...(['apply', 'rollback'].includes(args[0] ?? '') ? ['--journal', join(dir, 'journal.jsonl')] : []),
];
