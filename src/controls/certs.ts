import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/**
 * Parsed once per distinct text (a fleet's nodes hold the same CA bundles and every control reads
 * them again): X509Certificate objects are immutable, so nodes and controls share them. Bounded:
 * past the bound it starts again (only sharing is lost). Keys are copies, so that no slice of a
 * node's gathered output keeps that output alive.
 */
const parsed = new Map<string, X509Certificate[]>();
const PARSED_BOUND = 512;
/** A bundle larger than this is parsed each time, never kept: a node cannot fill memory with them. */
const KEPT_TEXT = 32 * 1024;

/** Every certificate in a PEM bundle that parses; the rest are ignored as the kubelet does. */
export function parsePemBundle(text: string): X509Certificate[] {
  if (text.length > KEPT_TEXT) return parseBundle(text);
  let certs = parsed.get(text);
  if (!certs) {
    if (parsed.size >= PARSED_BOUND) parsed.clear();
    certs = parseBundle(text);
    parsed.set(Buffer.from(text, 'utf8').toString('utf8'), certs);
  }
  return [...certs];
}

function parseBundle(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      // not a certificate the kubelet could use either
    }
  }
  return certs;
}

/** Why a certificate cannot authenticate a client now, or undefined when it can. */
export function clientCertProblem(cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return `is not valid before ${from.toISOString()}`;
  if (now > to) return `expired on ${to.toISOString()}`;
  const eku = cert.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU))
    return `is not usable for client authentication (extended key usage: ${eku.join(', ')})`;
  return undefined;
}

/** cert → ca → whether ca issued and signed it: the same shared objects are checked on every node. */
const signedBy = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();

/** True when one of the CAs in the bundle issued and signed the certificate. */
export function issuedBy(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  let known = signedBy.get(cert);
  if (!known) signedBy.set(cert, (known = new WeakMap()));
  return cas.some((ca) => {
    let yes = known.get(ca);
    if (yes === undefined) {
      try {
        yes = cert.checkIssued(ca) && cert.verify(ca.publicKey);
      } catch {
        yes = false;
      }
      known.set(ca, yes);
    }
    return yes;
  });
}

export function describeCert(cert: X509Certificate): string {
  // A date JavaScript cannot hold is shown as the certificate says it, not thrown.
  const until = new Date(cert.validTo);
  const day = Number.isNaN(until.getTime()) ? cert.validTo : until.toISOString().slice(0, 10);
  return `subject "${cert.subject.replaceAll('\n', ', ')}", valid until ${day}`;
}
