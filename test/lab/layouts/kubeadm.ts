import { KUBECONFIG, controlPlanePki, enableUnit, mustReplace, relabel, workerPki } from './common.js';
import type { Layout, LayoutContext, NodeFile } from './types.js';

const UNIT = '/usr/lib/systemd/system/kubelet.service';
// Current pkgs.k8s.io packages put the drop-in under %{_unitdir} (node-facts §7).
const DROPIN = '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf';

/** Removes `--kubelet-client-certificate` and `--kubelet-client-key`: the non-compliant manifest (A fails). */
export const withoutKubeletClientFlags = (manifest: string): string =>
  mustReplace(
    manifest,
    /^ *- --kubelet-client-(?:certificate|key)=.*\n/gm,
    '',
    'drop --kubelet-client-* flags',
  );

/** The kubelet side every kubeadm node shares; `ok` uses the kubeadm-written config, `bad` the hand-kept one. */
async function kubeletFiles(ctx: LayoutContext): Promise<NodeFile[]> {
  return [
    { path: UNIT, content: await ctx.fixture('lab-extra/units/kubeadm-kubelet.service') },
    { path: DROPIN, content: await ctx.fixture('kubeadm/10-kubeadm.conf') },
    enableUnit(UNIT),
    // kind-style flags: its --node-ip (172.18.0.3) becomes the node's lab address.
    {
      path: '/var/lib/kubelet/kubeadm-flags.env',
      content: relabel(await ctx.fixture('kubeadm/kubeadm-flags.env'), '172.18.0.3', ctx.address),
    },
    {
      path: '/var/lib/kubelet/config.yaml',
      // bad: the x509 block is commented out, so no clientCAFile (B fails).
      content: await ctx.fixture(
        ctx.variant === 'bad' ? 'kubeadm/config.commented.yaml' : 'kubeadm/config.yaml',
      ),
    },
    { path: '/etc/kubernetes/kubelet.conf', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
    { path: '/etc/kubernetes/manifests', dir: true, mode: 0o755 },
    ...workerPki('/etc/kubernetes/pki', ctx.pki),
  ];
}

// The fixtures come from one kubeadm node whose advertise address was 172.30.1.2.
const CP_FIXTURE_ADDRESS = '172.30.1.2';

export const kubeadmControlPlane: Layout = {
  id: 'kubeadm-cp',
  family: 'kubeadm',
  role: 'control-plane',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: true },
  expected: (v) => ({
    'apiserver-kubelet-client-cert': v === 'bad' ? 'fail' : 'pass',
    'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass',
  }),
  async files(ctx) {
    const manifest = relabel(
      await ctx.fixture('kubeadm/kube-apiserver.yaml'),
      CP_FIXTURE_ADDRESS,
      ctx.address,
    );
    const statics = await Promise.all(
      ['etcd', 'kube-controller-manager', 'kube-scheduler'].map(async (name): Promise<NodeFile> => ({
        path: `/etc/kubernetes/manifests/${name}.yaml`,
        content: relabel(
          await ctx.fixture(`lab-extra/kubeadm/${name}.yaml`),
          CP_FIXTURE_ADDRESS,
          ctx.address,
        ),
        mode: 0o600,
      })),
    );
    const kubeconfig = await ctx.fixture(KUBECONFIG);
    return [
      ...(await kubeletFiles(ctx)),
      // bad: flags removed, cert files still present (so a fix has everything it needs).
      {
        path: '/etc/kubernetes/manifests/kube-apiserver.yaml',
        content: ctx.variant === 'bad' ? withoutKubeletClientFlags(manifest) : manifest,
        mode: 0o600,
      },
      ...statics,
      ...controlPlanePki('/etc/kubernetes/pki', ctx.pki),
      ...['admin.conf', 'controller-manager.conf', 'scheduler.conf'].map((f) => ({
        path: `/etc/kubernetes/${f}`,
        content: kubeconfig,
        mode: 0o600,
      })),
    ];
  },
};

export const kubeadmWorker: Layout = {
  id: 'kubeadm-worker',
  family: 'kubeadm',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: (v) => ({
    'apiserver-kubelet-client-cert': 'skip',
    'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass',
  }),
  files: kubeletFiles,
};

/**
 * Kubelet configured by flags only (kubeadm 1.5–1.10 packages): no --config. ok = the 1.8 drop-in
 * with --client-ca-file; bad = the 1.5 drop-in without it. Old debs put the unit in /lib (= /usr/lib
 * on bookworm) and the drop-in in /etc.
 */
export const flagsOnly: Layout = {
  id: 'flags',
  family: 'flags',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: (v) => ({
    'apiserver-kubelet-client-cert': 'skip',
    'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass',
  }),
  async files(ctx) {
    return [
      { path: UNIT, content: await ctx.fixture('lab-extra/units/kubeadm-kubelet.service') },
      {
        path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
        content: await ctx.fixture(
          ctx.variant === 'bad'
            ? 'kubeadm/legacy-v1.5/10-kubeadm.conf'
            : 'kubeadm/legacy-v1.8/10-kubeadm.conf',
        ),
      },
      enableUnit(UNIT),
      { path: '/etc/kubernetes/kubelet.conf', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
      { path: '/etc/kubernetes/manifests', dir: true, mode: 0o755 },
      ...workerPki('/etc/kubernetes/pki', ctx.pki),
    ];
  },
};
