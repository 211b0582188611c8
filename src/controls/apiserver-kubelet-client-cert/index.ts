/**
 * CIS Kubernetes 1.2.5: the kube-apiserver authenticates to kubelets with a client certificate
 * (--kubelet-client-certificate, --kubelet-client-key). Judged in check.ts, planned in plan.ts.
 */
import { manifestFlags } from '../../facts/apiserver.js';
import { lastFlag } from '../../facts/flags.js';
import type { PlannedChange } from '../../plan/types.js';
import type { Control } from '../types.js';
import { apiserverKubeletClientCertCheck, CERT_FLAG, KEY_FLAG } from './check.js';
import { planApiserverClientCert } from './plan.js';

/** The kubelet client flags a plan's new kube-apiserver manifest sets (each when it sets it). */
function plannedClientFlags(changes: readonly PlannedChange[]): { certificate?: string; key?: string } {
  const manifest = changes.find((c) => c.restart === 'static-pod:kube-apiserver');
  const flags = manifest ? (manifestFlags(manifest.path, manifest.after.content)?.flags ?? []) : [];
  const certificate = lastFlag(flags, CERT_FLAG)?.value;
  const key = lastFlag(flags, KEY_FLAG)?.value;
  return { ...(certificate !== undefined ? { certificate } : {}), ...(key !== undefined ? { key } : {}) };
}

/** The kubelet client pair a plan's new kube-apiserver manifest names, if it names both. */
export function plannedClientPair(
  changes: readonly PlannedChange[],
): { certificate: string; key: string } | undefined {
  const { certificate, key } = plannedClientFlags(changes);
  return certificate && key ? { certificate, key } : undefined;
}

export const apiserverKubeletClientCert: Control = {
  ...apiserverKubeletClientCertCheck,
  channel: 'apiserver-identity',
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
    const { certificate, key } = plannedClientFlags(changes);
    return {
      apiserverFlags: [
        ...(certificate !== undefined ? [`--${CERT_FLAG}=${certificate}`] : []),
        ...(key !== undefined ? [`--${KEY_FLAG}=${key}`] : []),
      ],
    };
  },
};
