import { parse } from 'yaml';
import type { TestPki } from './certs.js';
import { fixture, type FakeNode } from './fake-node.js';
import { RLO, TITLE } from './hostile-text.js';

export const PKI = '/etc/kubernetes/pki';
export const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
/** A kubelet config path with escape sequences in it. */
export const CONFIG = `/var/lib/kubelet/${TITLE}${RLO}/config.yaml`;
const unfixedManifest = () =>
  fixture('kubeadm/kube-apiserver.yaml').replace(/^.*--kubelet-client-.*\n/gm, '');
const argsOf = (manifest: string) =>
  (parse(manifest) as { spec: { containers: { command: string[] }[] } }).spec.containers[0]!.command;

/**
 * A kubeadm control plane whose kube-apiserver has no kubelet client pair and whose kubelet config
 * (at CONFIG) lacks its client CA, with `comments` (node text) written into that config.
 */
export const hostileControlPlane = (pki: TestPki, comments: string): FakeNode => ({
  processes: [
    { pid: 10, comm: 'kube-apiserver', argv: argsOf(unfixedManifest()) },
    { pid: 20, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${CONFIG}`] },
  ],
  files: {
    [MANIFEST]: unfixedManifest(),
    [CONFIG]: fixture('kubeadm/config.commented.yaml').replace(
      '\nauthorization:',
      `\n${comments}\nauthorization:`,
    ),
    [`${PKI}/ca.crt`]: pki.caCrt,
    [`${PKI}/apiserver-kubelet-client.crt`]: pki.clientCrt,
  },
  keys: [`${PKI}/apiserver-kubelet-client.key`],
});
