/**
 * Two nodes that ssh would reach at the same place. A Node's addresses are written by its own
 * kubelet, so a Node `aaa-rogue` reporting cp1's InternalIP would send kubemend to cp1 under the
 * name aaa-rogue (and with whatever else that name selects). kubemend leaves such nodes out and
 * names them; the admin deletes the Node object or fixes the address.
 */
import { isIP } from 'node:net';
import type { NodeTarget } from '../inventory/types.js';
import { visible } from '../report/visible.js';

/**
 * One spelling per address: IPv6 compressed and lower-case, an IPv4-mapped IPv6 address as the
 * IPv4 one it reaches (`::ffff:10.0.0.10` dials 10.0.0.10), names lower-case without a final dot.
 */
export function canonicalHost(host: string): string {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(h) === 6) {
    const compact = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compact);
    if (!mapped) return compact;
    const [hi, lo] = [parseInt(mapped[1] ?? '0', 16), parseInt(mapped[2] ?? '0', 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return h.toLowerCase().replace(/\.$/, '');
}

/** Where ssh ends up: the dialled host and port, behind the same jump hosts. */
function placeOf(node: NodeTarget): string {
  const jumps = node.proxyJump.map((j) => `${j.user}@${canonicalHost(j.host)}:${j.port}`);
  return [...jumps, `${canonicalHost(node.host)}:${node.port}`].join(' -> ');
}

/**
 * The nodes that do not share their place with another, and a warning for each place shared. Every
 * node at a shared place is left out, not only the later one: kubemend cannot tell which name is
 * the machine's. The rest of the cluster is audited as usual (a stale Node object whose address
 * was handed to a new machine must not stop the audit of a whole cluster).
 */
export function apartFromSameMachine(
  nodes: readonly NodeTarget[],
  cluster: string,
): { nodes: NodeTarget[]; warnings: string[] } {
  const byPlace = new Map<string, NodeTarget[]>();
  for (const node of nodes) {
    const place = placeOf(node);
    byPlace.set(place, [...(byPlace.get(place) ?? []), node]);
  }
  const warnings: string[] = [];
  for (const same of byPlace.values()) {
    if (same.length < 2) continue;
    const first = same[0] as NodeTarget;
    warnings.push(
      `nodes ${same.map((n) => visible(n.name)).join(', ')} of cluster ${cluster} would all be reached at ${visible(`${first.host}:${first.port}`)}, so kubemend leaves them out: a Node's addresses are written by its own kubelet and one of them may name another machine. Check \`kubectl get nodes -o wide\`, delete the Node object that should not be there, or give each node its own host: in the inventory file`,
    );
  }
  return { nodes: nodes.filter((n) => byPlace.get(placeOf(n))?.length === 1), warnings };
}
