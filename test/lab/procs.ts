import { existsSync, readFileSync } from 'node:fs';
import { run, sleep } from './exec.js';
import type { ProcRef } from './state.js';

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined if gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function procRef(pid: number): ProcRef {
  const startTime = startTimeOf(pid);
  if (startTime === undefined) throw new Error(`process ${pid} exited right after it started`);
  return { pid, startTime };
}

/** Still the very process we recorded (not a newer one that got the same PID). */
export const isAlive = (ref: ProcRef): boolean => startTimeOf(ref.pid) === ref.startTime;

/** PIDs of every process inside a network namespace (the container's init and all it runs). */
export async function netnsPids(netns: string): Promise<number[]> {
  if (!existsSync(`/run/netns/${netns}`)) return [];
  const { stdout } = await run('ip', ['netns', 'pids', netns]);
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}
