import type { ApiserverView } from './apiserver.js';
import type { KubeletView } from './kubelet.js';
import type { NodeFacts } from './types.js';

export type Layout =
  | 'kubeadm'
  | 'eks-al2'
  | 'eks-al2023'
  | 'aks'
  | 'gke'
  | 'flatcar'
  | 'kubespray'
  | 'k3s'
  | 'microk8s'
  | 'rke2'
  | 'rke1'
  | 'k0s'
  | 'openshift'
  | 'bottlerocket'
  | 'generic';
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

/**
 * Layouts whose kubelet runs for real (so it is audited) but whose files belong to the
 * distribution's own tooling: an edit over SSH would be undone or fought, so plan never edits them
 * and names the way out instead (node-facts §9).
 */
export const NOT_FIXABLE_OVER_SSH: ReadonlyMap<Layout, { reason: string; fix: string }> = new Map<
  Layout,
  { reason: string; fix: string }
>([
  ['rke2', RKE2_FIX],
  [
    'k0s',
    {
      reason:
        'k0s supervises the kubelet itself and writes /var/lib/k0s/kubelet-config.yaml again at every start, so an edit over SSH never lasts',
      fix: 'change the kubelet through k0s: the worker profile (spec.workerProfiles in k0s.yaml) or --kubelet-extra-args of `k0s install worker`, then restart the k0s service',
    },
  ],
  [
    'openshift',
    {
      reason:
        "OpenShift's machine-config daemon owns the kubelet's files (/etc/kubernetes/kubelet.conf, the unit) and reverts or degrades on edits made by hand",
      fix: 'create or change a KubeletConfig custom resource for the machine config pool (oc apply -f kubeletconfig.yaml); the machine-config operator rolls it out',
    },
  ],
  [
    'rke1',
    {
      reason:
        'RKE1 runs the kubelet and the kube-apiserver in Docker containers created from cluster.yml; there is no file on the node to fix',
      fix: 'set services.kubelet.extra_args (client-ca-file) or services.kube-api.extra_args in cluster.yml, then run `rke up`',
    },
  ],
  [
    'bottlerocket',
    {
      reason:
        'Bottlerocket renders /etc/kubernetes/kubelet/config from its settings API at every boot and its root filesystem is read-only; kubemend edits nothing there',
      fix: 'change the kubelet through the settings API (`apiclient set settings.kubernetes...` in the admin container, or the settings in user data), which re-renders the kubelet config',
    },
  ],
]);

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
  const osId = /^ID="?([^"\n]*)"?$/m.exec(facts.files.get('/etc/os-release')?.content ?? '')?.[1] ?? '';
  if (
    comms.includes('k0s') ||
    exists(facts, '/usr/local/bin/k0s') ||
    kubelet.config?.path.startsWith('/var/lib/k0s/')
  )
    return 'k0s';
  if (
    osId === 'rhcos' ||
    osId === 'scos' ||
    exists(facts, '/etc/machine-config-daemon/currentconfig') ||
    (argvText.includes('hyperkube') && kubelet.config?.path === '/etc/kubernetes/kubelet.conf')
  )
    return 'openshift';
  if (osId === 'bottlerocket') return 'bottlerocket';
  // RKE1: a kubelet in a Docker container (no kubelet.service), configured with RKE's file names.
  if (
    kubelet.process &&
    !kubelet.service?.execStart &&
    /kubecfg-kube-node\.yaml|\/etc\/kubernetes\/ssl\/kube-ca\.pem/.test(argvText)
  )
    return 'rke1';
  if (
    osId === 'flatcar' ||
    (unitText.includes('/etc/kubernetes/kubelet.yaml') && /docker run|podman run/.test(unitText))
  )
    return 'flatcar';
  if (
    unitText.includes('KUBELET_FLAGS') ||
    kubelet.config?.path === '/etc/default/kubeletconfig.json' ||
    exists(facts, '/etc/kubernetes/azure.json')
  )
    return 'aks';
  if (
    unitText.includes('KUBELET_OPTS') ||
    kubelet.config?.path === '/home/kubernetes/kubelet-config.yaml' ||
    exists(facts, '/home/kubernetes/bin/kubelet')
  )
    return 'gke';
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

/** What the audit of a failing control says on such a layout (the plan says it as the block). */
export function notFixableWarning(layout: Layout | null | undefined): string | undefined {
  const n = layout ? NOT_FIXABLE_OVER_SSH.get(layout) : undefined;
  return n ? `not fixable over SSH: ${n.reason}; the way out: ${n.fix}` : undefined;
}
