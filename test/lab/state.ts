import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RUN_DIR, labStatePath } from './paths.js';

/** A process we started, identified by PID *and* kernel start time so a reused PID is never killed. */
export interface ProcRef {
  pid: number;
  startTime: string;
}

export interface NodeState {
  name: string;
  address: string;
  /** Each resource is recorded before it is created, so a crash in between still gets cleaned. */
  netns?: string;
  veth?: string;
  nodeDir?: string;
  mergedDir?: string;
  machine?: string;
  /** Relative cgroup path (kubemend-lab/<lab>/<node>) in each process-tracking hierarchy. */
  cgroup?: string;
  nspawn?: ProcRef;
  logPath?: string;
}

export interface LabState {
  version: 1;
  name: string;
  index: number;
  dir: string;
  rootfs: string;
  createdAt: string;
  /** The process running `up`, until it finishes (then `down` by anyone else is safe). */
  upInProgress?: ProcRef;
  /** The process that brought the lab up: while it lives (a test run), `replace` leaves the lab alone. */
  owner?: ProcRef;
  bridge?: string;
  nodes: Record<string, NodeState>;
}

export function readState(lab: string): LabState | undefined {
  const path = labStatePath(lab);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LabState;
}

/**
 * Written synchronously (temp file + rename) after every change: a crash at any point leaves the
 * last complete record, and parallel node boots in one process cannot interleave partial writes.
 */
export function writeState(state: LabState): void {
  const path = labStatePath(state.name);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function listLabs(): string[] {
  if (!existsSync(RUN_DIR)) return [];
  return readdirSync(RUN_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}
