import type { ApiserverView } from './apiserver.js';
import type { KubeletView } from './kubelet.js';
import type { NodeFacts } from './types.js';

export type Layout = 'kubeadm' | 'eks-al2' | 'eks-al2023' | 'kubespray' | 'k3s' | 'rke2' | 'generic';
export type Role = 'control-plane' | 'worker';

/** Single-binary distributions keep their flags elsewhere; kubemend says so instead of guessing. */
export const UNSUPPORTED_LAYOUTS: ReadonlySet<Layout> = new Set(['k3s', 'rke2']);

export const isEks = (layout: Layout | null) => layout === 'eks-al2' || layout === 'eks-al2023';

const exists = (facts: NodeFacts, path: string) =>
  facts.files.get(path)?.status === 'ok' || facts.stats.get(path)?.status === 'ok';

/** Names the layout from what is on the node; null when there is no Kubernetes component at all. */
export function detectLayout(
  facts: NodeFacts,
  kubelet: KubeletView,
  apiserver: ApiserverView,
): Layout | null {
  const comms = facts.processes.map((p) => p.comm);
  if (
    comms.some((c) => c.startsWith('k3s')) ||
    exists(facts, '/etc/rancher/k3s/config.yaml') ||
    exists(facts, '/usr/local/bin/k3s')
  )
    return 'k3s';
  if (
    comms.includes('rke2') ||
    exists(facts, '/etc/rancher/rke2/config.yaml') ||
    exists(facts, '/usr/local/bin/rke2')
  )
    return 'rke2';
  const argvText = kubelet.argv.map((w) => `${w.text} ${w.variable ?? ''} ${w.source}`).join(' ');
  const unitText = kubelet.service?.files.map((f) => `${f.path}\n${f.text}`).join('\n') ?? '';
  if (
    exists(facts, '/etc/eks/kubelet/environment') ||
    exists(facts, '/usr/bin/nodeadm') ||
    unitText.includes('NODEADM_KUBELET_ARGS')
  )
    return 'eks-al2023';
  if (
    exists(facts, '/etc/eks/bootstrap.sh') ||
    kubelet.config?.path === '/etc/kubernetes/kubelet/kubelet-config.json' ||
    unitText.includes('/etc/eks/')
  )
    return 'eks-al2';
  if (
    exists(facts, '/etc/kubernetes/kubelet.env') ||
    kubelet.config?.path === '/etc/kubernetes/kubelet-config.yaml'
  )
    return 'kubespray';
  if (
    unitText.includes('10-kubeadm.conf') ||
    argvText.includes('kubeadm-flags.env') ||
    exists(facts, '/var/lib/kubelet/kubeadm-flags.env') ||
    exists(facts, '/etc/kubernetes/admin.conf')
  )
    return 'kubeadm';
  if (kubelet.present || apiserver.process || apiserver.manifest) return 'generic';
  return null;
}

export function detectRole(kubelet: KubeletView, apiserver: ApiserverView): Role | null {
  if (apiserver.process || apiserver.manifest) return 'control-plane';
  return kubelet.present ? 'worker' : null;
}
