import type { ApiserverView } from './apiserver.js';
import type { KubeletView } from './kubelet.js';
import type { NodeFacts } from './types.js';

export type Layout =
  'kubeadm' | 'eks-al2' | 'eks-al2023' | 'kubespray' | 'k3s' | 'microk8s' | 'rke2' | 'generic';
export type Role = 'control-plane' | 'worker';

/**
 * Single-binary distributions run the kubelet and the apiserver inside their own process, with
 * flags kept in their own files: there is no kubelet process or manifest to read, and kubemend says
 * so instead of guessing (pitfalls #12). RKE2 is not one of them: it starts a real kubelet (flags on
 * its command line, config in --config-dir drop-ins) and a static-pod apiserver, so it is audited;
 * only its fixes go through RKE2's own config (see RKE2_FIX).
 */
export const UNSUPPORTED_LAYOUTS: ReadonlyMap<Layout, string> = new Map<Layout, string>([
  [
    'k3s',
    'k3s runs the kubelet and the kube-apiserver inside the k3s process, with flags from /etc/rancher/k3s/config.yaml (kubelet-arg, kube-apiserver-arg)',
  ],
  [
    'microk8s',
    'microk8s runs the kubelet and the kube-apiserver inside kubelite, with flags from /var/snap/microk8s/current/args/',
  ],
]);

/** Why kubemend does not edit an RKE2 node's files, and what to do instead. */
export const RKE2_FIX = {
  reason:
    'RKE2 writes its kubelet drop-ins and static pod manifests again from /etc/rancher/rke2/config.yaml every time it starts, so kubemend does not edit them',
  fix: 'set kubelet-arg (client-ca-file) or kube-apiserver-arg (kubelet-client-certificate, kubelet-client-key) in /etc/rancher/rke2/config.yaml, then restart rke2-server or rke2-agent',
};

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
  if (comms.includes('kubelite') || exists(facts, '/var/snap/microk8s/current/args/kubelet'))
    return 'microk8s';
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
