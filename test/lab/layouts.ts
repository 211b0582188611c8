import { eksAl2, eksAl2023, eksAl2023DropIn } from './layouts/eks.js';
import { flagsOnly, kubeadmControlPlane, kubeadmWorker } from './layouts/kubeadm.js';
import { kubesprayControlPlane } from './layouts/kubespray.js';
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

export function nodeSpec(name: string): NodeSpec {
  const spec = ALL_NODES.find((n) => n.name === name);
  if (!spec) throw new Error(`unknown lab node "${name}"; known: ${ALL_NODES.map((n) => n.name).join(', ')}`);
  return spec;
}
