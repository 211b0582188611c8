import type { CertPair, LabPki } from '../pki.js';
import type { NodeFile } from './types.js';

/** Replaces a fixture's address, in dotted (10.0.0.1) and EC2 host-name (ip-10-0-0-1) form. */
export function relabel(text: string, from: string, to: string): string {
  return text
    .replaceAll(from, to)
    .replaceAll(`ip-${from.replaceAll('.', '-')}`, `ip-${to.replaceAll('.', '-')}`);
}

/** Fails loudly when a fixture no longer contains what an adaptation expects to change. */
export function mustReplace(
  text: string,
  pattern: RegExp | string,
  replacement: string,
  what: string,
): string {
  const out = text.replace(pattern, replacement);
  if (out === text) throw new Error(`fixture adaptation "${what}" matched nothing: the fixture changed`);
  return out;
}

/** A unit symlinked into multi-user.target.wants, as `systemctl enable` does. */
export const enableUnit = (unitPath: string, wantedBy = 'multi-user.target'): NodeFile => ({
  path: `/etc/systemd/system/${wantedBy}.wants/${unitPath.slice(unitPath.lastIndexOf('/') + 1)}`,
  symlink: unitPath,
});

const pair = (dir: string, name: string, p: CertPair): NodeFile[] => [
  { path: `${dir}/${name}.crt`, content: p.crt, mode: 0o644 },
  { path: `${dir}/${name}.key`, content: p.key, mode: 0o600 },
];

/** The cert directory a kubeadm control plane has (certificatesDir; kubespray uses /etc/kubernetes/ssl). */
export function controlPlanePki(dir: string, pki: LabPki): NodeFile[] {
  return [
    ...pair(dir, 'ca', pki.ca),
    ...pair(dir, 'apiserver', pki.apiserver),
    ...pair(dir, 'apiserver-kubelet-client', pki.apiserverKubeletClient),
    ...pair(dir, 'apiserver-etcd-client', pki.apiserverEtcdClient),
    ...pair(dir, 'front-proxy-ca', pki.frontProxyCa),
    ...pair(dir, 'front-proxy-client', pki.frontProxyClient),
    ...pair(`${dir}/etcd`, 'ca', pki.etcdCa),
    ...pair(`${dir}/etcd`, 'server', pki.etcdServer),
    { path: `${dir}/sa.key`, content: pki.sa.key, mode: 0o600 },
    { path: `${dir}/sa.pub`, content: pki.sa.pub, mode: 0o644 },
  ];
}

/** Workers (kubeadm join, EKS bootstrap, nodeadm) only receive the cluster CA certificate. */
export const workerPki = (dir: string, pki: LabPki): NodeFile[] => [
  { path: `${dir}/ca.crt`, content: pki.ca.crt, mode: 0o644 },
];

export const KUBECONFIG = 'lab-extra/misc/kubeconfig';
