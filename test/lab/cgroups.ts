import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * With --keep-unit and no systemd on the host, systemd-nspawn runs the container in the cgroup
 * it was started in (creating `supervisor/` and `payload/` below it). Started from the root
 * cgroup, every node would share /payload/system.slice/…: one node's units then race another's
 * (units fail with 219/CGROUP) and each container could write the whole tree. So each node's
 * nspawn starts in its own cgroup, kubemend-lab/<lab>/<node>, in every hierarchy that tracks
 * processes: name=systemd and the cgroup2 tree (hybrid host), or the cgroup2 root (unified host).
 */
export function trackingHierarchies(): string[] {
  const legacy = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((h) =>
    existsSync(join(h, 'cgroup.procs')),
  );
  if (legacy.length > 0) return legacy;
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : [];
}

export const labCgroup = (lab: string): string => `kubemend-lab/${lab}`;
export const nodeCgroup = (lab: string, node: string): string => `${labCgroup(lab)}/${node}`;

/** Creates the cgroup in each hierarchy; returns the cgroup.procs files a process joins it by. */
export function createCgroup(rel: string): string[] {
  return trackingHierarchies().map((h) => {
    mkdirSync(join(h, rel), { recursive: true });
    return join(h, rel, 'cgroup.procs');
  });
}

function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => subtree(join(dir, e.name)));
  return [...children, dir]; // depth first: children before their parent
}

/** Every process in the cgroup or below it, in any hierarchy. */
export function cgroupPids(rel: string): number[] {
  const pids = new Set<number>();
  for (const h of trackingHierarchies()) {
    for (const dir of subtree(join(h, rel))) {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    }
  }
  return [...pids].filter((p) => p > 0);
}

/** Removes the (process-free) cgroup and everything the container created below it. Idempotent. */
export function removeCgroup(rel: string): void {
  for (const h of trackingHierarchies()) for (const dir of subtree(join(h, rel))) rmdirSync(dir);
}

/** Removes an empty parent (the lab's, then kubemend-lab itself); leaves it when other labs use it. */
export function removeEmptyCgroup(rel: string): void {
  for (const h of trackingHierarchies()) {
    try {
      rmdirSync(join(h, rel));
    } catch {
      // not empty (another lab or node) or already gone
    }
  }
}
