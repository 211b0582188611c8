/**
 * A node's side of the apiserver → kubelet channel, as it is and as its plan would leave it (pure):
 * the client CA its kubelet verifies callers with, the client certificate its kube-apiserver
 * presents. Only public certificates are read; keys are named by path, never read.
 */
import { changesChannel } from '../controls/index.js';
import { parsePemBundle } from '../controls/certs.js';
import { plannedClientPair } from '../controls/apiserver-kubelet-client-cert/index.js';
import { lastFlag } from '../facts/flags.js';
import type { NodeModel } from '../facts/model.js';
import { ownCopy } from '../facts/node-read.js';
import type { Playbook } from '../playbook/types.js';
import type { NodePlan } from '../plan/types.js';
import type { ApiserverTrust, FleetMember, KubeletTrust } from './trust.js';
import type { ClusterId } from './clusters.js';

const certsIn = (model: NodeModel, path: string) => {
  const f = model.facts.files.get(path);
  return f?.status === 'ok' ? parsePemBundle(f.content ?? '') : [];
};

/** Files on the node that hold only CA certificates: the candidates for a way out. */
function caBundles(model: NodeModel): { path: string; certs: ReturnType<typeof parsePemBundle> }[] {
  return [...model.facts.files.values()]
    .filter((f) => f.status === 'ok' && f.content?.includes('-----BEGIN CERTIFICATE-----'))
    .map((f) => ({ path: f.path, certs: parsePemBundle(f.content ?? '') }))
    .filter((b) => b.certs.length > 0 && b.certs.every((c) => c.ca));
}

function kubeletTrust(model: NodeModel, caFile: string): KubeletTrust {
  return { caFile, certs: certsIn(model, caFile), bundles: caBundles(model) };
}

function apiserverTrust(model: NodeModel, certificate: string, key: string): ApiserverTrust {
  const [cert] = certsIn(model, certificate);
  return { certificate, key, ...(cert ? { cert } : {}) };
}

/** The kubelet's client CA and the kube-apiserver's kubelet client certificate as the node runs now. */
export function currentTrust(model: NodeModel): Pick<FleetMember, 'kubelet' | 'apiserver'> {
  const { kubelet, apiserver } = model;
  const out: Pick<FleetMember, 'kubelet' | 'apiserver'> = {};
  const ca = kubelet.present ? kubelet.clientCAFile?.value : undefined;
  if (ca) out.kubelet = { now: kubeletTrust(model, ca) };
  // The running process is what calls kubelets; its manifest when it is not running.
  const flags = apiserver.process ? apiserver.processFlags : (apiserver.manifest?.flags ?? []);
  const cert = lastFlag(flags, 'kubelet-client-certificate')?.value;
  const key = lastFlag(flags, 'kubelet-client-key')?.value;
  if (apiserver.process || apiserver.manifest)
    out.apiserver = cert && key ? { now: apiserverTrust(model, cert, key) } : {};
  return out;
}

/** The same, after the node's plan: what its changes set, or as now where they set nothing. */
export function plannedTrust(
  model: NodeModel,
  plan: NodePlan,
  playbook: Playbook,
): Pick<FleetMember, 'kubelet' | 'apiserver'> {
  const out = currentTrust(model);
  if (plan.status !== 'change') return out;
  if (changesChannel(plan.changes, ['kubelet-trust']))
    out.kubelet = { ...out.kubelet, planned: kubeletTrust(model, playbook.kubelet.clientCAFile) };
  const pair = plannedClientPair(plan.changes);
  if (pair) {
    const planned = apiserverTrust(model, pair.certificate, pair.key);
    const issue = plan.issue?.find((i) => i.certificate === pair.certificate);
    if (issue) {
      delete planned.cert;
      planned.issuer = { path: issue.caCertificate, certs: certsIn(model, issue.caCertificate) };
    }
    out.apiserver = { ...out.apiserver, planned };
  }
  return out;
}

/** A node's member, kept when its facts are dropped: it holds no slice of the node's gathered text. */
export const fleetMember = (
  node: string,
  cluster: ClusterId | undefined,
  sides: Pick<FleetMember, 'kubelet' | 'apiserver'>,
): FleetMember => ownCopy({ node, ...(cluster ? { cluster } : {}), ...sides });
