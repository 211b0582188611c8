/**
 * The OpenSSH transport's private state on this machine: one 0700 directory per run holding the
 * ControlMaster sockets and master logs, and the ssh processes kubemend started. Both go away on
 * every exit path: session close, normal exit, an uncaught error, Ctrl-C (bin.ts exits 130 on
 * read-only commands; 'exit' listeners still run).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;
let counter = 0;
let users = 0;
const children = new Set<ChildProcess>();

function cleanupNow(): void {
  for (const child of children) {
    // Masters run in their own process group (so the terminal's Ctrl-C does not cut a node off
    // mid-apply); here the run is over, so they are ended, by the PID kubemend recorded.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  children.clear();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/**
 * A fresh path prefix in the private directory (created 0700 on first use), for one session; give
 * it back with releasePath. Short: a socket path has a 108-byte limit.
 */
export function privatePath(): string {
  users++;
  if (!dir) {
    // mkdtemp creates the directory with mode 0700.
    dir = mkdtempSync(join(tmpdir(), 'kubemend-ssh-'));
    process.once('exit', cleanupNow);
  }
  return join(dir, String(counter++));
}

/** Tracks an ssh process so that it is ended if kubemend exits while it runs. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** The directory, for tests: undefined once cleaned up or before first use. */
export function privateDir(): string | undefined {
  return dir;
}

/** The session is done with its paths: the directory goes once the last session is done. */
export function releasePath(): void {
  users = Math.max(0, users - 1);
  if (users > 0 || children.size > 0) return;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  process.removeListener('exit', cleanupNow);
}
