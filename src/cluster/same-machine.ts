/**
 * Two nodes that ssh would reach at the same place. A Node's addresses are written by its own
 * kubelet, so a Node `aaa-rogue` reporting cp1's InternalIP would send kubemend to cp1 under the
 * name aaa-rogue (and with whatever else that name selects). kubemend refuses the run instead and
 * names both nodes; the admin deletes the Node object or fixes the address.
 */
import { UsageError } from '../errors.js';
import type { NodeTarget } from '../inventory/types.js';
import { visible } from '../report/visible.js';

/** Where ssh ends up: the dialled host and port, behind the same jump hosts. */
function placeOf(node: NodeTarget): string {
  const jumps = node.proxyJump.map((j) => `${j.user}@${j.host.toLowerCase()}:${j.port}`);
  return [...jumps, `${node.host.toLowerCase()}:${node.port}`].join(' -> ');
}

/** UsageError naming every pair of nodes that dial the same host and port; undefined when none. */
export function sameMachineError(nodes: readonly NodeTarget[], cluster: string): UsageError | undefined {
  const first = new Map<string, NodeTarget>();
  const clashes: string[] = [];
  for (const node of nodes) {
    const place = placeOf(node);
    const other = first.get(place);
    if (other)
      clashes.push(
        `nodes ${visible(other.name)} and ${visible(node.name)} both dial ${visible(`${node.host}:${node.port}`)}`,
      );
    else first.set(place, node);
  }
  if (clashes.length === 0) return undefined;
  return new UsageError(
    `${clashes.length === 1 ? 'two nodes' : 'some nodes'} of cluster ${cluster} would be reached on the same machine: ${clashes.join('; ')}`,
    [
      "a Node's addresses are written by its own kubelet: one of them may name another machine. Check `kubectl get nodes -o wide`, delete a Node object that should not be there, or give each node its own host: in the inventory file",
    ],
  );
}
