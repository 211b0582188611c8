import { KUBECONFIG, enableUnit, mustReplace, relabel, workerPki } from './common.js';
import type { Layout, LayoutContext, NodeFile } from './types.js';

// Address the EKS fixtures were rendered with (the nodeadm e2e IMDS mock).
const FIXTURE_ADDRESS = '172.16.34.43';
const UNIT = '/etc/systemd/system/kubelet.service';

/**
 * Lab adaptations shared by both AMIs' units (each is the minimal change that lets the unit start):
 * - `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5` is dropped: the rootfs has no iptables
 *   and a failing ExecStartPre would keep the kubelet from ever starting. Nothing in a node's
 *   namespace forwards packets, so the policy it sets is irrelevant here.
 * - AL2's `Requires=containerd.service sandbox-image.service` is dropped: the lab has no container
 *   runtime and a missing required unit blocks the start. `After=`/`Wants=` on missing units are
 *   harmless and stay as they are.
 */
function adaptUnit(unit: string): string {
  let out = mustReplace(unit, /^ExecStartPre=\/sbin\/iptables .*\n/m, '', 'drop iptables ExecStartPre');
  if (/^Requires=/m.test(out))
    out = mustReplace(out, /^Requires=containerd\.service sandbox-image\.service\n/m, '', 'drop Requires');
  return out;
}

/** Drops the `authentication.x509` block from a JSON kubelet config, in whatever style it is written. */
function withoutClientCa(json: string, style: 'text' | 'nodeadm'): string {
  if (style === 'nodeadm') {
    // nodeadm writes Go-marshalled JSON with a 4-space indent and a final newline; re-serialising
    // the same way gives the file nodeadm would write without the key.
    const config = JSON.parse(json) as { authentication: { x509?: unknown } };
    delete config.authentication.x509;
    return `${JSON.stringify(config, null, 4)}\n`;
  }
  const out = mustReplace(json, /,\n\s*"x509": \{\n\s*"clientCAFile": "[^"]*"\n\s*\}/, '', 'drop x509 block');
  JSON.parse(out); // the hand-written AL2 file must stay valid JSON
  return out;
}

async function common(ctx: LayoutContext, unitFixture: string): Promise<NodeFile[]> {
  return [
    { path: UNIT, content: adaptUnit(await ctx.fixture(unitFixture)) },
    enableUnit(UNIT),
    {
      path: '/etc/systemd/system/runtime.slice',
      content: await ctx.fixture('lab-extra/units/runtime.slice'),
    },
    { path: '/var/lib/kubelet/kubeconfig', content: await ctx.fixture(KUBECONFIG), mode: 0o600 },
    ...workerPki('/etc/kubernetes/pki', ctx.pki),
  ];
}

const workerExpected = (v: string | null) =>
  ({ 'apiserver-kubelet-client-cert': 'skip', 'kubelet-client-ca': v === 'bad' ? 'fail' : 'pass' }) as const;

/** AL2: unit + 10-kubelet-args.conf + kubelet-config.json; bad = the JSON without its x509 block. */
export const eksAl2: Layout = {
  id: 'eks-al2',
  family: 'eks-al2',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  async files(ctx) {
    const config = await ctx.fixture('eks-al2/kubelet-config.json');
    return [
      ...(await common(ctx, 'eks-al2/kubelet.service')),
      {
        path: '/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf',
        content: relabel(
          await ctx.fixture('eks-al2/kubelet.service.d/10-kubelet-args.conf'),
          FIXTURE_ADDRESS,
          ctx.address,
        ),
      },
      {
        path: '/etc/kubernetes/kubelet/kubelet-config.json',
        content: ctx.variant === 'bad' ? withoutClientCa(config, 'text') : config,
      },
    ];
  },
};

/**
 * AL2023 helpers. nodeadm-config.service is installed and enabled as on a real AMI, with a
 * /usr/bin/nodeadm stub that does nothing: the lab does not model nodeadm rewriting the files at
 * boot (nodes are never rebooted), but a tool that looks for nodeadm finds it.
 */
async function al2023(ctx: LayoutContext, dropins: boolean): Promise<NodeFile[]> {
  let env = relabel(await ctx.fixture('eks-al2023/environment'), FIXTURE_ADDRESS, ctx.address);
  // Without --config-dir is what nodeadm writes when the NodeConfig has no spec.kubelet.config.
  if (!dropins)
    env = mustReplace(env, ' --config-dir=/etc/kubernetes/kubelet/config.json.d', '', 'drop --config-dir');
  const config = await ctx.fixture('eks-al2023/config.json');
  const nodeadmUnit = '/etc/systemd/system/nodeadm-config.service';
  return [
    ...(await common(ctx, 'eks-al2023/kubelet.service')),
    { path: '/etc/eks/kubelet/environment', content: env },
    {
      path: '/etc/kubernetes/kubelet/config.json',
      content: ctx.variant === 'bad' && !dropins ? withoutClientCa(config, 'nodeadm') : config,
    },
    { path: nodeadmUnit, content: await ctx.fixture('lab-extra/units/nodeadm-config.service') },
    enableUnit(nodeadmUnit),
    {
      path: '/usr/bin/nodeadm',
      content:
        '#!/bin/sh\n# kubemend lab stand-in for nodeadm: the lab does not regenerate kubelet files at boot.\nexit 0\n',
      mode: 0o755,
    },
  ];
}

export const eksAl2023: Layout = {
  id: 'eks-al2023',
  family: 'eks-al2023',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  files: (ctx) => al2023(ctx, false),
};

/**
 * AL2023 with --config-dir and nodeadm's 40-nodeadm.conf drop-in.
 * bad: the NodeConfig's spec.kubelet.config carried `authentication.x509.clientCAFile: ""`, e.g. a
 * user-data template whose CA variable rendered empty. nodeadm copies it into 40-nodeadm.conf, the
 * merge blanks the CA from config.json, and config.json alone (what kube-bench reads) still passes.
 */
export const eksAl2023DropIn: Layout = {
  id: 'eks-al2023-dropin',
  family: 'eks-al2023',
  role: 'worker',
  variants: ['ok', 'bad'],
  kubeletPaths: ['/usr/bin/kubelet'],
  runs: { kubelet: true, apiserver: false },
  expected: workerExpected,
  async files(ctx) {
    const fixture = await ctx.fixture('eks-al2023/config.json.d/40-nodeadm.conf');
    // clusterDNS 1.1.1.1 is a public resolver; lab files must not name hosts outside the lab, so
    // it becomes the lab host's address (nothing in the lab sends DNS there either way).
    const dropin = JSON.parse(
      mustReplace(fixture, '"1.1.1.1"', JSON.stringify(ctx.hostAddress), 'replace public DNS'),
    ) as Record<string, unknown>;
    const content =
      ctx.variant === 'bad'
        ? {
            kind: dropin.kind,
            apiVersion: dropin.apiVersion,
            authentication: { x509: { clientCAFile: '' } },
            ...dropin,
          }
        : dropin;
    return [
      ...(await al2023(ctx, true)),
      {
        path: '/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf',
        content: `${JSON.stringify(content, null, 4)}\n`,
      },
    ];
  },
};
