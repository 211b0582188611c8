/**
 * CIS Kubernetes 1.2.5: the kube-apiserver authenticates to kubelets with a client certificate
 * (--kubelet-client-certificate, --kubelet-client-key). Judged in check.ts, planned in plan.ts.
 */
import { manifestFlags } from '../../facts/apiserver.js';
import { lastFlag } from '../../facts/flags.js';
import type { Control } from '../types.js';
import { apiserverKubeletClientCertCheck, CERT_FLAG, KEY_FLAG } from './check.js';
import { planApiserverClientCert } from './plan.js';

export const apiserverKubeletClientCert: Control = {
  ...apiserverKubeletClientCertCheck,
  gather(playbook) {
    const a = playbook.apiserver;
    if (!a) return { files: [], keys: [], pairs: [] };
    return {
      files: [a.kubeletClientCertificate, ...(a.issue ? [a.issue.caCertificate] : [])],
      keys: [a.kubeletClientKey, ...(a.issue ? [a.issue.caKey] : [])],
      pairs: [[a.kubeletClientCertificate, a.kubeletClientKey]],
    };
  },
  plan: planApiserverClientCert,
  /** The new kube-apiserver must run with the planned manifest's kubelet client flags. */
  gate(changes) {
    const manifest = changes.find((c) => c.restart === 'static-pod:kube-apiserver');
    if (!manifest) return { apiserverFlags: [] };
    const flags = manifestFlags(manifest.path, manifest.after.content)?.flags ?? [];
    return {
      apiserverFlags: [CERT_FLAG, KEY_FLAG]
        .map((n) => lastFlag(flags, n))
        .filter((f) => f !== undefined)
        .map((f) => `--${f.name}=${f.value}`),
    };
  },
};
