import { apiserverView, DEFAULT_STATIC_POD_DIR, type ApiserverView } from './apiserver.js';
import { kubeletView, type KubeletView } from './kubelet.js';
import { detectLayout, detectRole, type Layout, type Role } from './layout.js';
import type { NodeFacts } from './types.js';

/** A node's facts with the kubelet and kube-apiserver read the way they read themselves. */
export interface NodeModel {
  facts: NodeFacts;
  kubelet: KubeletView;
  apiserver: ApiserverView;
  layout: Layout | null;
  role: Role | null;
}

export function nodeModel(facts: NodeFacts, given: { layout?: string; role?: Role } = {}): NodeModel {
  const kubelet = kubeletView(facts);
  const apiserver = apiserverView(facts, kubelet.staticPodPath?.value ?? DEFAULT_STATIC_POD_DIR);
  return {
    facts,
    kubelet,
    apiserver,
    layout: (given.layout as Layout | undefined) ?? detectLayout(facts, kubelet, apiserver),
    role: given.role ?? detectRole(kubelet, apiserver),
  };
}
