/**
 * Where the nodes come from: the inventory file, the cluster's API (--kubeconfig / --context), or
 * both merged (the file's per-node fields win: host, user, become, …). Warnings name the API's
 * nodes kubemend will not use and the file's nodes the cluster does not know.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { Fields, NodeSpec, Sourced } from '../inventory/fields.js';
import { mergeFields } from '../inventory/fields.js';
import { loadInventory, loadInventoryWith, type LoadOptions } from '../inventory/load.js';
import type { NodeTarget } from '../inventory/types.js';
import { visible } from '../report/visible.js';
import { listNodes, openCluster, type Cluster, type KubeOptions } from './kube-api.js';
import { clusterGroups, clusterNodes, NODE_ADDRESS_RULES, type NodeAddressRule } from './nodes.js';
import { apartFromSameMachine } from './same-machine.js';

export interface SourceOptions extends LoadOptions {
  inventory: string;
  /** True when -i was left at its default (./inventory.yaml): then a missing file is no error. */
  inventoryIsDefault: boolean;
  kubeconfig?: string;
  context?: string;
  /** The cluster, already opened with --kubeconfig/--context (commands/targets.ts loads it once per run). */
  cluster?: Cluster;
  /** --node-address; else the inventory file's default (`nodeAddress`, `kubemend_node_address`); else internal-ip. */
  nodeAddress?: NodeAddressRule;
}

export interface Targets {
  nodes: NodeTarget[];
  /** The cluster the API named, when the nodes came from it. */
  cluster?: Cluster;
  /** One line each, already safe to print. */
  warnings: string[];
}

/** --node-address's value, checked. */
export function nodeAddressRule(value: unknown): NodeAddressRule | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (NODE_ADDRESS_RULES as readonly string[]).includes(value))
    return value as NodeAddressRule;
  throw new UsageError(
    `--node-address must be one of ${NODE_ADDRESS_RULES.join(', ')}, not ${String(value)}`,
  );
}

/** The cluster's API is a source when --kubeconfig or --context says so. */
export const usesCluster = (opts: Pick<SourceOptions, 'kubeconfig' | 'context' | 'cluster'>): boolean =>
  opts.kubeconfig !== undefined || opts.context !== undefined || opts.cluster !== undefined;

export async function loadTargets(opts: SourceOptions, env: NodeJS.ProcessEnv): Promise<Targets> {
  if (!usesCluster(opts)) {
    if (opts.nodeAddress)
      throw new UsageError('--node-address needs the nodes from the cluster', [
        'add --kubeconfig FILE or --context NAME',
      ]);
    return { nodes: await loadInventory(opts.inventory, opts), warnings: [] };
  }
  const kube: KubeOptions = {
    env,
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.homeDir ? { homeDir: opts.homeDir } : {}),
  };
  const cluster = opts.cluster ?? (await openCluster(kube));
  const items = await listNodes(cluster);
  const warnings: string[] = cluster.insecure
    ? [
        `context ${cluster.context}: insecure-skip-tls-verify is set, so the API server at ${cluster.server} is not authenticated: whoever answers there chooses the nodes kubemend dials and what the trust gate sees`,
      ]
    : [];
  const at = { file: `cluster ${cluster.name} (${cluster.files.join(', ')})`, line: 0 };
  const sourced = <T>(value: T): Sourced<T> => ({ value, ...at });
  // The default ./inventory.yaml is merged when it is there; a file named with -i must be.
  const file = opts.inventoryIsDefault && !existsSync(opts.inventory) ? undefined : opts.inventory;
  const nodes = await loadInventoryWith(file, opts, (fileSpecs, defaults) => {
    // The address rule: --node-address, else the file's default, else InternalIP.
    const listed = clusterNodes(items, opts.nodeAddress ?? defaults.nodeAddress?.value ?? 'internal-ip');
    warnings.push(
      ...listed.warnings.map((w) => `cluster ${cluster.name}: ${visible(w)}`),
      ...listed.refused.map(
        (r) => `node ${visible(r.name)} of cluster ${cluster.name} is left out: ${visible(r.reason)}`,
      ),
    );
    const fromApi: NodeSpec[] = listed.nodes.map((node) => ({
      name: node.name,
      ...at,
      fields: {
        host: sourced(node.host),
        groups: sourced(clusterGroups(node, cluster.name)),
        cluster: sourced(cluster.name),
      },
    }));
    const byName = new Map(fileSpecs.map((spec) => [spec.name, spec]));
    const merged = fromApi.map((api) => {
      const own = byName.get(api.name);
      return own ? { ...own, fields: mergeFields(api.fields, own.fields) } : withDefaults(api, defaults);
    });
    const known = new Set(fromApi.map((api) => api.name));
    const strangers = fileSpecs.filter((spec) => !known.has(spec.name));
    for (const spec of strangers)
      warnings.push(
        `node ${spec.name} (${spec.file}:${spec.line}) is not a node of cluster ${cluster.name}: its API server does not list it`,
      );
    return [...merged, ...strangers];
  });
  const apart = apartFromSameMachine(nodes, cluster.name);
  warnings.push(...apart.warnings);
  if (apart.nodes.length === 0)
    throw new UsageError(`cluster ${cluster.name} lists no node kubemend can use`, [
      warnings.length > 0 ? warnings.join('; ') : 'the API server returned an empty node list',
    ]);
  return { nodes: apart.nodes, cluster, warnings };
}

/**
 * A node only the API lists gets the file's `defaults:` (user, become, proxyJump, knownHostsFile…)
 * as the file's own nodes do; what the API says (host, groups, cluster) stays.
 */
function withDefaults(api: NodeSpec, defaults: Fields): NodeSpec {
  return { ...api, fields: mergeFields(defaults, api.fields) };
}
