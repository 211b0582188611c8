import type { NodePlan } from '../plan/types.js';

/**
 * The order nodes are changed in (DESIGN.md "Rollout"): control-plane nodes one at a time and
 * first, then the others in batches of `serial`. Pure: the caller runs each batch.
 */
export function rolloutBatches<T extends Pick<NodePlan, 'role'>>(nodes: readonly T[], serial: number): T[][] {
  const cp = nodes.filter((n) => n.role === 'control-plane');
  const rest = nodes.filter((n) => n.role !== 'control-plane');
  const batches: T[][] = cp.map((n) => [n]);
  for (let i = 0; i < rest.length; i += serial) batches.push(rest.slice(i, i + serial));
  return batches;
}

/**
 * The batch size for the nodes that are not control planes: `--serial` when given, else the
 * smallest `rollout.serial` of the playbooks of the nodes to change (a playbook asking for care
 * wins), else 1.
 */
export function rolloutSerial(cli: number | undefined, playbookSerials: readonly number[]): number {
  if (cli !== undefined) return cli;
  return playbookSerials.length > 0 ? Math.min(...playbookSerials) : 1;
}

/** `--not-after`: a clock time today (HH:MM, 24h, local) or an ISO date-time. */
export function parseNotAfter(value: string, now: Date): Date | undefined {
  const hm = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (hm) {
    const d = new Date(now);
    d.setHours(Number(hm[1]), Number(hm[2]), 0, 0);
    return d;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}
