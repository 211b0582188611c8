/**
 * The cluster's Node objects as kubemend inventory entries. Everything here came from an API
 * server, and a Node's status is written by the node itself (its kubelet): it is hostile input,
 * checked with the same rules as an inventory (inventory/address.ts) before anything uses it.
 */
import { isIP } from 'node:net';
import { hostProblem } from '../inventory/address.js';

export const NODE_ADDRESS_RULES = ['internal-ip', 'external-ip', 'hostname', 'provider-id'] as const;
export type NodeAddressRule = (typeof NODE_ADDRESS_RULES)[number];

/** The parts of a v1 Node that kubemend reads (the client's V1Node fits). */
export interface ApiNodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { providerID?: string };
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** A node of the cluster, as kubemend uses it: every value checked. */
export interface ClusterNode {
  name: string;
  /** What ssh dials, by the chosen rule. */
  host: string;
  /** From the node-role.kubernetes.io/* labels: a selector and a display value, never a fact. */
  role: 'control-plane' | 'worker';
  /** The labels that are valid Kubernetes labels (others are dropped, with a warning). */
  labels: Record<string, string>;
}

/** A node the API lists that kubemend will not use, and why. */
export interface RefusedNode {
  name: string;
  reason: string;
}

const ADDRESS_TYPE: Record<Exclude<NodeAddressRule, 'provider-id'>, string> = {
  'internal-ip': 'InternalIP',
  'external-ip': 'ExternalIP',
  hostname: 'Hostname',
};

/** RFC 1123 subdomain, as Kubernetes requires of node names (lower case, at most 253). */
const NODE_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A label name part, and a label value (empty allowed). */
const LABEL_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const AWS_INSTANCE = /^i-[0-9a-f]{8,17}$/;
/** GCE instance names, Azure VM names: what `gcloud compute ssh` / `az ssh vm` take. */
const INSTANCE_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_]{0,62}[A-Za-z0-9])?$/;

export function labelKeyValid(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && NODE_NAME.test(prefix)));
}

/**
 * The name ssh is given for a provider id: the EC2 instance id (SSM: `ssh i-0abc…` with a
 * `Host i-*` ProxyCommand), the GCE instance name (`gcloud compute ssh`, IAP), the Azure VM name.
 * Undefined with the reason when the id names nothing ssh can dial.
 */
export function providerHost(providerId: string): { host: string } | { problem: string } {
  const match = /^([a-z]+):\/\/(.*)$/.exec(providerId);
  const parts = match?.[2]?.split('/') ?? [];
  const last = parts.at(-1) ?? '';
  switch (match?.[1]) {
    case 'aws':
      // aws:///eu-west-1a/i-0abc… (the zone may be empty: aws:////i-…)
      return AWS_INSTANCE.test(last)
        ? { host: last }
        : { problem: 'its aws provider id names no instance id' };
    case 'gce':
      // gce://project/zone/instance-name
      return parts.length === 3 && INSTANCE_NAME.test(last)
        ? { host: last }
        : { problem: 'its gce provider id is not gce://PROJECT/ZONE/NAME' };
    case 'azure': {
      // azure:///subscriptions/…/virtualMachines/NAME; a scale set's instance is only a number
      const kind = parts.at(-2)?.toLowerCase();
      if (kind === 'virtualmachines' && parts.at(-4)?.toLowerCase() !== 'virtualmachinescalesets')
        return INSTANCE_NAME.test(last) ? { host: last } : { problem: 'its azure provider id names no VM' };
      return { problem: 'its azure provider id is a scale-set instance, which ssh cannot name' };
    }
    default:
      return { problem: 'its provider id is not aws://, gce:// or azure://' };
  }
}

/**
 * Each Node the API returned, as a ClusterNode or refused with the reason. Names are unique
 * (a repeated name is refused: the API never lists one twice, so something is wrong).
 */
export function clusterNodes(
  items: readonly ApiNodeObject[],
  rule: NodeAddressRule,
): { nodes: ClusterNode[]; refused: RefusedNode[]; warnings: string[] } {
  const nodes: ClusterNode[] = [];
  const refused: RefusedNode[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const name = item.metadata?.name ?? '';
    if (!NODE_NAME.test(name) || seen.has(name)) {
      refused.push({
        name: JSON.stringify(name).slice(0, 80),
        reason: seen.has(name) ? 'listed twice' : 'its name is not a Kubernetes node name',
      });
      continue;
    }
    seen.add(name);
    const host = nodeHost(item, rule);
    if ('problem' in host) {
      refused.push({ name, reason: host.problem });
      continue;
    }
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(item.metadata?.labels ?? {})) {
      if (typeof value === 'string' && labelKeyValid(key) && LABEL_VALUE.test(value)) labels[key] = value;
      else
        warnings.push(`node ${name}: label ${JSON.stringify(key).slice(0, 80)} ignored (not a valid label)`);
    }
    nodes.push({ name, host: host.host, role: roleOf(labels), labels });
  }
  return { nodes, refused, warnings };
}

function nodeHost(item: ApiNodeObject, rule: NodeAddressRule): { host: string } | { problem: string } {
  if (rule === 'provider-id') {
    const id = item.spec?.providerID;
    return id ? providerHost(id) : { problem: 'it has no spec.providerID' };
  }
  const type = ADDRESS_TYPE[rule];
  const address = item.status?.addresses?.find((a) => a.type === type)?.address;
  if (address === undefined) return { problem: `it reports no ${type} address` };
  const problem = hostProblem(address);
  if (problem !== undefined) return { problem: `its ${type} ${problem}` };
  // An InternalIP/ExternalIP that is a name would be looked up in ~/.ssh/config (a Host alias of
  // another machine, with its user and key) and DNS: the kubelet writes these addresses itself.
  // A Hostname is such a name by nature: README "Nodes from the cluster" says what that trusts.
  if (rule !== 'hostname' && isIP(address) === 0)
    return { problem: `its ${type} ${JSON.stringify(address).slice(0, 80)} is not an IP address` };
  return { host: address };
}

/** node-role.kubernetes.io/control-plane (or the older /master) → control-plane; else worker. */
export function roleOf(labels: Record<string, string>): ClusterNode['role'] {
  return 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels
    ? 'control-plane'
    : 'worker';
}

/**
 * The groups `-l` matches for a cluster node: `role=ROLE`, `label:KEY=VALUE` for each label, and
 * `cluster=NAME`. `--limit` globs work on them (`-l 'label:topology.kubernetes.io/zone=eu-*'`).
 */
export function clusterGroups(node: ClusterNode, cluster: string): string[] {
  return [
    `cluster=${cluster}`,
    `role=${node.role}`,
    ...Object.entries(node.labels).map(([key, value]) => `label:${key}=${value}`),
  ];
}
