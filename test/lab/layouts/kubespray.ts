import { KUBECONFIG, controlPlanePki, enableUnit, mustReplace, relabel } from './common.js';
import { withoutKubeletClientFlags } from './kubeadm.js';
import type { Layout, NodeFile } from './types.js';

// The kubespray fixtures were rendered for inventory host `node1` at 10.0.0.11.
const FIXTURE_ADDRESS = '10.0.0.11';
const FIXTURE_HOST = 'node1';
const UNIT = '/etc/systemd/system/kubelet.service';
// Kubespray's kube_cert_dir. Real control planes also get a /etc/kubernetes/pki -> ssl symlink
// (kube_cert_compat_dir); the lab leaves it out so a tool that assumes `pki` is caught.
const SSL = '/etc/kubernetes/ssl';

/**
 * Kubespray control plane (kubeadm-based): kubelet.env + /etc/kubernetes/kubelet-config.yaml, a
 * kubeadm-style apiserver manifest with certificatesDir /etc/kubernetes/ssl, and the kubeadm-written
 * /var/lib/kubelet/config.yaml that the kubelet does not use. That unused file always says the
 * opposite of the used one: ok = without clientCAFile (a tool reading it reports a false failure),
 * bad = with it (a false pass).
 */
export const kubesprayControlPlane: Layout = {
  id: 'kubespray-cp',
  family: 'kubespray',
  role: 'control-plane',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/local/bin/kubelet'],
  runs: { kubelet: true, apiserver: true },
  expected: (v) => ({
    'apiserver-kubelet-client-cert': v === 'bad' ? 'fail' : 'pass',
    'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass',
  }),
  async files(ctx) {
    const bad = ctx.variant === 'bad';
    let config = relabel(await ctx.fixture('kubespray/kubelet-config.yaml'), FIXTURE_ADDRESS, ctx.address);
    if (bad) config = mustReplace(config, /^ {2}x509:\n {4}clientCAFile: .*\n/m, '', 'drop x509 block');
    const env = relabel(await ctx.fixture('kubespray/kubelet.env'), FIXTURE_ADDRESS, ctx.address).replace(
      `--hostname-override=${FIXTURE_HOST}`,
      `--hostname-override=${ctx.node}`,
    );
    // The kubeadm fixture (advertise address 172.30.1.2) with kubespray's cert dir.
    const toSsl = async (fixture: string) =>
      relabel(await ctx.fixture(fixture), '172.30.1.2', ctx.address).replaceAll('/etc/kubernetes/pki', SSL);
    const manifest = await toSsl('kubeadm/kube-apiserver.yaml');
    const node = ctx.pki.nodes[ctx.node];
    if (!node) throw new Error(`no kubespray node cert was made for ${ctx.node}`);
    const kubeconfig = (await ctx.fixture(KUBECONFIG)).replaceAll('/etc/kubernetes/pki', SSL);
    const files: NodeFile[] = [
      { path: UNIT, content: await ctx.fixture('lab-extra/units/kubespray-kubelet.service') },
      enableUnit(UNIT),
      { path: '/etc/kubernetes/kubelet.env', content: env },
      { path: '/etc/kubernetes/kubelet-config.yaml', content: config },
      {
        path: '/var/lib/kubelet/config.yaml',
        content: await ctx.fixture(bad ? 'kubeadm/config.yaml' : 'kubeadm/config.commented.yaml'),
      },
      {
        path: '/etc/kubernetes/manifests/kube-apiserver.yaml',
        content: bad ? withoutKubeletClientFlags(manifest) : manifest,
        mode: 0o600,
      },
      // Kubespray runs etcd as a host service by default, so only these two are static pods.
      {
        path: '/etc/kubernetes/manifests/kube-controller-manager.yaml',
        content: await toSsl('lab-extra/kubeadm/kube-controller-manager.yaml'),
        mode: 0o600,
      },
      {
        path: '/etc/kubernetes/manifests/kube-scheduler.yaml',
        content: await toSsl('lab-extra/kubeadm/kube-scheduler.yaml'),
        mode: 0o600,
      },
      ...controlPlanePki(SSL, ctx.pki),
      { path: `${SSL}/node-${ctx.node}.pem`, content: node.crt, mode: 0o644 },
      { path: `${SSL}/node-${ctx.node}-key.pem`, content: node.key, mode: 0o600 },
      ...['kubelet.conf', 'admin.conf', 'controller-manager.conf', 'scheduler.conf'].map((f) => ({
        path: `/etc/kubernetes/${f}`,
        content: kubeconfig,
        mode: 0o600,
      })),
    ];
    return files;
  },
};
