/**
 * Which cluster a node belongs to, from what the gather already read (pure): the cluster CA its
 * kubelet's kubeconfig trusts (certificate-authority or certificate-authority-data), else the
 * kube-apiserver's --client-ca-file, by fingerprint. An inventory `cluster:` name wins.
 */
import type { X509Certificate } from 'node:crypto';
import { parsePemBundle } from '../controls/certs.js';
import { lastFlag } from '../facts/flags.js';
import type { NodeModel } from '../facts/model.js';
import { ownCopy } from '../facts/node-read.js';

export interface ClusterCa {
  /** Where it was read: the kubeconfig, or the CA file the kube-apiserver names. */
  source: string;
  certs: X509Certificate[];
}

/** The cluster CA the kubelet's own kubeconfig trusts; undefined when there is nothing to read. */
export function kubeconfigCa(model: NodeModel): ClusterCa | undefined {
  const path = model.kubelet.kubeconfig?.value;
  const entry = path ? model.facts.kubeconfigCAs?.get(path) : undefined;
  if (!path || !entry) return undefined;
  const texts = [...entry.pem, ...entry.files.map((f) => model.facts.files.get(f)?.content ?? '')];
  const certs = texts.flatMap((t) => parsePemBundle(t));
  return certs.length > 0 ? { source: path, certs } : undefined;
}

/** The CA the kube-apiserver verifies clients with (--client-ca-file): the cluster CA on kubeadm. */
function apiserverCa(model: NodeModel): ClusterCa | undefined {
  const { apiserver, facts } = model;
  const flag =
    lastFlag(apiserver.processFlags, 'client-ca-file') ??
    (apiserver.manifest ? lastFlag(apiserver.manifest.flags, 'client-ca-file') : undefined);
  const path = flag?.value;
  const file = path ? facts.files.get(path) : undefined;
  if (!path || file?.status !== 'ok') return undefined;
  const certs = parsePemBundle(file.content ?? '');
  return certs.length > 0 ? { source: path, certs } : undefined;
}

export const clusterCaOf = (model: NodeModel): ClusterCa | undefined =>
  kubeconfigCa(model) ?? apiserverCa(model);

/** A short, stable name for a CA: `ca:` and the first 8 hex digits of its SHA-256 fingerprint. */
export const shortFingerprint = (cert: X509Certificate): string =>
  `ca:${cert.fingerprint256.replaceAll(':', '').slice(0, 8).toLowerCase()}`;

export interface ClusterId {
  /** The inventory's name, or the short fingerprint of the cluster CA. */
  name: string;
  from: 'inventory' | 'ca';
  /** Where the CA was read (from: ca). */
  source?: string;
}

/** The node's cluster: the inventory's name, else its cluster CA's fingerprint; undefined if neither. */
export function clusterOf(given: string | undefined, model: NodeModel | undefined): ClusterId | undefined {
  if (given) return { name: given, from: 'inventory' };
  const ca = model ? clusterCaOf(model) : undefined;
  const first = ca?.certs[0];
  // Kept when the node's facts are dropped: its own copy of the path, not a slice of them.
  return ca && first ? { name: shortFingerprint(first), from: 'ca', source: ownCopy(ca.source) } : undefined;
}
