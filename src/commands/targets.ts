import type { Clock } from '../apply/clock.js';
import type { ApiGate } from '../cluster/api-gate.js';
import { openCluster, type Cluster } from '../cluster/kube-api.js';
import { loadTargets, usesCluster, type Targets } from '../cluster/targets.js';
import type { NodeTarget } from '../inventory/types.js';
import type { Io } from './io.js';
import type { CommonOptions } from './options.js';

/**
 * The kubeconfig loaded once per command run (per Io): the node list, the audit's reach check,
 * apply's trust gate and the session's audit-then-apply share one client, so an exec credential
 * plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`) runs once, and its token is
 * reused until it expires (the client caches it per loaded kubeconfig).
 */
const loaded = new WeakMap<Io, Map<string, Promise<Cluster>>>();

export function commandCluster(
  opts: Pick<CommonOptions, 'kubeconfig' | 'context'>,
  io: Io,
): Promise<Cluster> {
  const key = JSON.stringify([opts.kubeconfig, opts.context, io.env['KUBECONFIG']]);
  const ofIo = loaded.get(io) ?? new Map<string, Promise<Cluster>>();
  loaded.set(io, ofIo);
  let cluster = ofIo.get(key);
  if (!cluster) {
    cluster = openCluster({
      env: io.env,
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context ? { context: opts.context } : {}),
    });
    ofIo.set(key, cluster);
  }
  return cluster;
}

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
      ...(usesCluster(opts) ? { cluster: await commandCluster(opts, io) } : {}),
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
  return { cluster: await commandCluster(opts, io), clock };
}
