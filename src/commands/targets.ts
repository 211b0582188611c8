import type { Clock } from '../apply/clock.js';
import type { ApiGate } from '../cluster/api-gate.js';
import { openCluster } from '../cluster/kube-api.js';
import { loadTargets, usesCluster, type Targets } from '../cluster/targets.js';
import type { NodeTarget } from '../inventory/types.js';
import type { Io } from './io.js';
import type { CommonOptions } from './options.js';

/**
 * Every node of the inventory file and/or the cluster's API (--kubeconfig, --context), before -l.
 * Warnings (API nodes left out, file nodes the cluster does not know) go to stderr when `warn`.
 */
export async function commandTargets(opts: CommonOptions, io: Io, warn = true): Promise<NodeTarget[]> {
  return (await commandSource(opts, io, warn)).nodes;
}

export async function commandSource(opts: CommonOptions, io: Io, warn = true): Promise<Targets> {
  const targets = await loadTargets(
    {
      inventory: opts.inventory,
      inventoryIsDefault: opts.inventoryIsDefault,
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.nodeAddress ? { nodeAddress: opts.nodeAddress } : {}),
      ...(opts.knownHosts ? { knownHostsFile: opts.knownHosts } : {}),
      ...(opts.ssh ? { ssh: opts.ssh } : {}),
    },
    io.env,
  );
  if (warn) for (const line of targets.warnings) io.stderr.write(`warning: ${line}\n`);
  return targets;
}

/** The trust gate's path through the API server, when the nodes' cluster is given (--kubeconfig, --context). */
export async function commandApiGate(
  opts: CommonOptions,
  io: Io,
  clock: Clock,
): Promise<ApiGate | undefined> {
  if (!usesCluster(opts)) return undefined;
  const cluster = await openCluster({
    env: io.env,
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  });
  return { cluster, clock };
}
