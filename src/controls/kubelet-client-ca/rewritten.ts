/**
 * Files that a layout's own tooling writes again, so a hand edit there lasts only as long as the
 * source that tooling renders from says the same (pure). Each entry is read from the tooling's
 * source (README "Durability: what each layout rewrites" cites file and function); a change to
 * such a file is planned `durable: false` with a note naming what would last.
 */
import type { NodeFacts } from '../../facts/types.js';
import type { Playbook } from '../../playbook/types.js';

const GKE_TOOLING =
  'configure.sh fetches /home/kubernetes/kubelet-config.yaml from the instance metadata (attribute kubelet-config) and configure-helper.sh writes /etc/default/kubelet (KUBELET_OPTS) and /etc/systemd/system/kubelet.service again at every boot (kube-node-installation.service and kube-node-configuration.service)';
const GKE_LASTS =
  "What lasts is the node pool's kubelet configuration, which the node fetches at every boot: on GKE the one GKE renders for the node pool (upgrading or recreating the node pool brings GKE's own back, which names the client CA /etc/srv/kubernetes/pki/ca-certificates.crt; `gcloud container node-pools update --system-config-from-file` sets the kubelet options GKE exposes); on GCE kube-up the instance template's kubelet-config metadata (cluster/gce/util.sh print-linux-node-kubelet-config sets authentication.x509.clientCAFile).";
const COS_ETC =
  'On Container-Optimized OS /etc is a tmpfs (stateless): every file kubemend writes under /etc is gone at the next boot.';

/** Why the file at `path` will be written again by the node's tooling, and what would last; undefined when nothing rewrites it. */
export function rewrittenBy(
  layout: string | null,
  path: string,
  facts: NodeFacts,
  playbook: Playbook,
): string | undefined {
  // A playbook's note speaks of its own layouts' files (-p kubeadm on an EKS node is not about EKS).
  const own = layout && playbook.layouts.includes(layout) ? playbook.kubelet.durabilityNote : undefined;
  switch (layout) {
    case 'eks-al2023':
      // nodeadm init (nodeadm-config.service, nodeadm-run.service) at every boot: node-facts §5.
      if (path === '/etc/kubernetes/kubelet/config.json')
        return (
          own ??
          'nodeadm rewrites /etc/kubernetes/kubelet/config.json at every boot; set the value in the NodeConfig to make it last'
        );
      if (path === '/etc/eks/kubelet/environment')
        return 'nodeadm rewrites /etc/eks/kubelet/environment (NODEADM_KUBELET_ARGS) at every boot. To make the change last, set the flag in spec.kubelet.flags of the NodeConfig (user data) or of a NodeConfig drop-in under /etc/eks/nodeadm.d/.';
      return undefined;
    case 'gke': {
      const cos = /^ID="?cos"?$/m.test(facts.files.get('/etc/os-release')?.content ?? '');
      const rendered =
        path === '/home/kubernetes/kubelet-config.yaml' ||
        path === '/etc/default/kubelet' ||
        path === '/etc/systemd/system/kubelet.service';
      if (rendered)
        return `${GKE_TOOLING}: this change lasts until the next reboot. ${cos ? `${COS_ETC} ` : ''}${GKE_LASTS}`;
      if (cos && path.startsWith('/etc/')) return `${COS_ETC} ${GKE_LASTS}`;
      return undefined;
    }
    case 'kubeadm':
      // kubeadm join and kubeadm upgrade (PerformPostUpgradeTasks → writeKubeletConfigFiles →
      // WriteConfigToDisk) write config.yaml from the kubelet-config ConfigMap. kubeadm-flags.env is
      // written at init/join only; /etc/default/kubelet is the admin's.
      if (path === '/var/lib/kubelet/config.yaml')
        return (
          own ??
          'kubeadm upgrade and kubeadm join write /var/lib/kubelet/config.yaml again from the kubelet-config ConfigMap; set authentication.x509.clientCAFile there too (kubectl -n kube-system edit cm kubelet-config)'
        );
      return undefined;
    case 'kubespray':
      // roles/kubernetes/node/tasks/kubelet.yml templates all three on every playbook run.
      if (
        path === '/etc/kubernetes/kubelet-config.yaml' ||
        path === '/etc/kubernetes/kubelet.env' ||
        path === '/etc/systemd/system/kubelet.service'
      )
        return (
          own ??
          `Kubespray renders ${path} again on every playbook run (cluster.yml, upgrade-cluster.yml, scale.yml); keep the client CA in the inventory and templates it renders from`
        );
      return undefined;
    default:
      return undefined;
  }
}
