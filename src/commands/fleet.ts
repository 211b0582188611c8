/** The fleet step's I/O edge for audit and plan: the --apiserver-kubelet-cert file, each inspection's member. */
import { readFileSync } from 'node:fs';
import { parsePemBundle } from '../controls/certs.js';
import { UsageError } from '../errors.js';
import { memberNow } from '../fleet/current.js';
import type { GivenCertificate } from '../fleet/trust.js';
import type { Inspection } from '../node/inspect.js';

/** --apiserver-kubelet-cert FILE: public certificates only; a file with a private key is refused. */
export function loadGivenCertificates(path: string | undefined): GivenCertificate[] {
  if (!path) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read --apiserver-kubelet-cert ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new UsageError(`--apiserver-kubelet-cert ${path} holds a private key`, [
      'give only the public certificate (e.g. a copy of /etc/kubernetes/pki/apiserver-kubelet-client.crt); keys never leave a node',
    ]);
  const certs = parsePemBundle(text);
  if (certs.length === 0)
    throw new UsageError(`--apiserver-kubelet-cert ${path} holds no PEM certificate`, [
      'give the kube-apiserver\'s kubelet client certificate in PEM ("-----BEGIN CERTIFICATE-----")',
    ]);
  return certs.map((cert) => ({ source: path, cert }));
}

/**
 * What the fleet step needs of one node (fleet/current.ts), from its inspection: small, kept when
 * the node's facts are dropped.
 */
export const currentMember = (i: Inspection): ReturnType<typeof memberNow> =>
  memberNow(i.target.name, i.target.cluster, i.ok ? i.model : undefined);

// The decide code lives in fleet/ (pure); audit and plan call it from here.
export { judgeCurrent, warnResults } from '../fleet/current.js';
