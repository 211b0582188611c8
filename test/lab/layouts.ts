import { eksAl2, eksAl2023, eksAl2023DropIn } from './layouts/eks.js';
import { flagsOnly, kubeadmControlPlane, kubeadmWorker } from './layouts/kubeadm.js';
import { kubesprayControlPlane } from './layouts/kubespray.js';
import { aks, commandLinePackaged, etcdOnly, gke } from './layouts/managed.js';
import type { Layout, Variant } from './layouts/types.js';

export type { ExpectedResults, Layout, LayoutContext, NodeFile, Role, Variant } from './layouts/types.js';

/** A plain Debian node: no kubelet, no Kubernetes files (both controls skip). */
const plain: Layout = {
  id: 'nokubelet',
  family: 'plain',
  role: 'none',
  variants: null,
  kubeletPaths: [],
  runs: { kubelet: false, apiserver: false },
  expected: () => ({ 'apiserver-kubelet-client-cert': 'skip', 'kubelet-client-ca': 'skip' }),
  files: async () => [],
};

export const LAYOUTS: readonly Layout[] = [
  kubeadmControlPlane,
  kubeadmWorker,
  eksAl2,
  eksAl2023,
  eksAl2023DropIn,
  kubesprayControlPlane,
  flagsOnly,
  plain,
  // Issue 11 layouts, after the first ones so that their addresses stay as they were.
  etcdOnly,
  commandLinePackaged,
  aks,
  gke,
];

export interface NodeSpec {
  name: string;
  layout: Layout;
  variant: Variant | null;
  /** 0-based position in ALL_NODES: fixes the node's address whatever subset is started. */
  number: number;
}

export const ALL_NODES: readonly NodeSpec[] = LAYOUTS.flatMap((layout) =>
  (layout.variants ?? [null]).map((variant) => ({
    name: variant ? `${layout.id}-${variant}` : layout.id,
    layout,
    variant,
  })),
).map((spec, number) => ({ ...spec, number }));

/**
 * A node by name. `<name>-x<k>` (k = 2…12 with the current layouts) is the k-th copy of a node, for benchmarks that need more
 * nodes than there are layouts: same layout and variant, its own address.
 */
export function nodeSpec(name: string): NodeSpec {
  const copy = /^(.*)-x(\d+)$/.exec(name);
  const baseName = copy ? (copy[1] ?? '') : name;
  const k = copy ? Number(copy[2]) : 1;
  const spec = ALL_NODES.find((n) => n.name === baseName);
  // Node numbers become host addresses .2 to .254 of the lab's /24.
  const maxCopies = Math.floor(253 / ALL_NODES.length);
  if (!spec || k < 1 || k > maxCopies)
    throw new Error(
      `unknown lab node "${name}"; known: ${ALL_NODES.map((n) => n.name).join(', ')} (and copies NAME-x2 … NAME-x${maxCopies})`,
    );
  return k === 1 ? spec : { ...spec, name, number: spec.number + ALL_NODES.length * (k - 1) };
}

/** `count` node names: every layout first, then copies (NAME-x2, …) in the same order. */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const base = ALL_NODES[i % ALL_NODES.length]!.name;
    const k = Math.floor(i / ALL_NODES.length) + 1;
    return k === 1 ? base : `${base}-x${k}`;
  });
}
