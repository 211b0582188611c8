import { readFile } from 'node:fs/promises';
import { KUBECONFIG, enableUnit, mustReplace, relabel, workerPki } from './common.js';
import type { Layout, LayoutContext, NodeFile } from './types.js';

/** Fixtures of this repository (test/unit/fixtures, see PROVENANCE.md there). */
const local = (rel: string) => readFile(new URL(`../../unit/fixtures/${rel}`, import.meta.url), 'utf8');

const UNIT = '/etc/systemd/system/kubelet.service';
const workerExpected = (v: string | null) =>
  ({ 'apiserver-kubelet-client-cert': 'skip', 'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass' }) as const;

/**
 * AKS (AgentBaker). Lab adaptations of the unit, each the minimal change that lets it start:
 * - `ExecStartPre=/bin/bash /opt/azure/containers/kubelet.sh` is dropped: AgentBaker's script
 *   (iptables, sysctls, the kubelet image) does not exist here, and a failing ExecStartPre would
 *   keep the kubelet from starting.
 * - the two ExecStartPre lines that bind-mount /var/lib/kubelet onto itself and make it shared are
 *   dropped: they serve container volume propagation; no container runs in a lab node.
 * The `-`-prefixed ebtables/iptables listings stay (their failure is ignored).
 * The node IP 10.224.0.4 in /etc/default/kubelet becomes the node's lab address.
 * bad: kubeletconfig.json without its `x509` block.
 */
export const aks: Layout = {
  id: 'aks',
  family: 'aks',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/local/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  async files(ctx) {
    let unit = await local('aks/kubelet.service');
    unit = mustReplace(
      unit,
      /^ExecStartPre=\/bin\/bash \/opt\/azure\/containers\/kubelet\.sh\n/m,
      '',
      'drop kubelet.sh',
    );
    unit = mustReplace(unit, /^ExecStartPre=\/bin\/bash -c "if \[ \$\(mount .*\n/m, '', 'drop bind mount');
    unit = mustReplace(unit, /^ExecStartPre=\/bin\/mount --make-shared .*\n/m, '', 'drop make-shared');
    const config = await local('aks/kubeletconfig.json');
    return [
      { path: UNIT, content: unit },
      enableUnit(UNIT),
      {
        path: '/etc/default/kubelet',
        content: relabel(await local('aks/kubelet'), '10.224.0.4', ctx.address),
        mode: 0o600,
      },
      {
        path: '/etc/default/kubeletconfig.json',
        content:
          ctx.variant === 'bad'
            ? mustReplace(
                config,
                /\n {8}"x509": \{\n {12}"clientCAFile": "[^"]*"\n {8}\},/,
                '',
                'drop x509 block',
              )
            : config,
      },
      { path: '/var/lib/kubelet/kubeconfig', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
      { path: '/etc/kubernetes/manifests', dir: true, mode: 0o755 },
      // AgentBaker's ensureKubeCACert writes the cluster CA here, mode 0600.
      { path: '/etc/kubernetes/certs/ca.crt', content: ctx.pki.ca.crt, mode: 0o600 },
    ];
  },
};

/**
 * GKE / GCE (configure-helper.sh): unit and /etc/default/kubelet as start-kubelet writes them,
 * kubelet-config.yaml as util.sh renders it. bad: KUBELET_OPTS without `--config …` (a node whose
 * config file is off): flags only, so the kubelet runs on the legacy defaults and has no client CA.
 */
export const gke: Layout = {
  id: 'gke',
  family: 'gke',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/home/kubernetes/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  async files(ctx) {
    const env = await local('gke/kubelet');
    return [
      { path: UNIT, content: await local('gke/kubelet.service') },
      enableUnit(UNIT),
      {
        path: '/etc/default/kubelet',
        content:
          ctx.variant === 'bad'
            ? mustReplace(env, ' --config /home/kubernetes/kubelet-config.yaml', '', 'drop --config')
            : env,
      },
      { path: '/home/kubernetes/kubelet-config.yaml', content: await local('gke/kubelet-config.yaml') },
      { path: '/var/lib/kubelet/kubeconfig', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
      { path: '/etc/kubernetes/manifests', dir: true, mode: 0o755 },
      { path: '/etc/srv/kubernetes/pki/ca-certificates.crt', content: ctx.pki.ca.crt, mode: 0o644 },
    ];
  },
};

const PKG_UNIT = '/usr/lib/systemd/system/kubelet.service';

async function commandLineNode(ctx: LayoutContext, files: NodeFile[]): Promise<NodeFile[]> {
  return [
    ...files,
    enableUnit(PKG_UNIT),
    { path: '/etc/kubernetes/kubelet.conf', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
    { path: '/etc/kubernetes/manifests', dir: true, mode: 0o755 },
    ...workerPki('/etc/kubernetes/pki', ctx.pki),
  ];
}

/**
 * kubeadm's external-etcd node (setup-ha-etcd-with-kubeadm): the packaged unit and 10-kubeadm.conf
 * under /usr/lib, and the guide's 20-etcd-service-manager.conf in /etc, whose ExecStart= reset
 * leaves a kubelet configured on its command line alone (no --config, legacy defaults, no client CA).
 */
export const etcdOnly: Layout = {
  id: 'etcd',
  family: 'kubeadm',
  role: 'worker',
  variants: ['bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  async files(ctx) {
    return commandLineNode(ctx, [
      { path: PKG_UNIT, content: await ctx.fixture('lab-extra/units/kubeadm-kubelet.service') },
      {
        path: '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf',
        content: await ctx.fixture('kubeadm/10-kubeadm.conf'),
      },
      {
        path: '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf',
        content: await ctx.fixture('kubeadm/etcd-only/20-etcd-service-manager.conf'),
      },
    ]);
  },
};

/**
 * A hand-written kubelet unit installed where packages put theirs (/usr/lib/systemd/system), every
 * flag on backslash-continued ExecStart lines, with a comment line inside the command (systemd
 * skips it). Written for this project: no package ships it; it is the "old installer" case.
 */
export const HAND_UNIT = `[Unit]
Description=kubelet (hand-written, every flag on the command line)
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet \\
  --kubeconfig=/etc/kubernetes/kubelet.conf \\
  --pod-manifest-path=/etc/kubernetes/manifests \\
  # anonymous off and webhook authentication on: only the client CA is missing
  --anonymous-auth=false \\
  --authentication-token-webhook=true \\
  --authorization-mode=Webhook
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;

export const commandLinePackaged: Layout = {
  id: 'cmdline-pkg',
  family: 'flags',
  role: 'worker',
  variants: ['bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  files: (ctx) => commandLineNode(ctx, [{ path: PKG_UNIT, content: HAND_UNIT }]),
};
