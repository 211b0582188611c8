// Kubelet authentication and authorization (node-facts §4): x509 client certificates against
// the client CA bundle, then bearer tokens (webhook), then anonymous; authorization
// AlwaysAllow or Webhook.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { goFileError } from './go-values.mjs';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const ANONYMOUS = { user: 'system:anonymous', groups: ['system:unauthenticated'] };

/**
 * Reads a CA bundle the way client-go's cert util does: every CERTIFICATE block must parse,
 * and there must be at least one. Returns the PEM text.
 */
export function loadClientCA(file) {
  const fail = (reason) => new Error(`unable to load client CA file ${file}: ${reason}`);
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(goFileError(file, err));
  }
  if (text.length === 0) throw fail(`missing content for CA bundle "client-ca-bundle::${file}"`);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw fail(`x509: ${err.message}`);
    }
  }
  if (blocks.length === 0) throw fail('data does not contain any valid RSA or ECDSA certificates');
  return text;
}

/**
 * Checks the authentication setup the way BuildAuth does and returns what the server needs.
 * @returns {{ caFile: string, caPem: string | null, anonymous: boolean, webhook: boolean, mode: string }}
 */
export function buildAuth(config) {
  const { authentication, authorization } = config;
  const caFile = authentication.x509?.clientCAFile ?? '';
  const caPem = caFile ? loadClientCA(caFile) : null;
  const anonymous = authentication.anonymous.enabled;
  const webhook = authentication.webhook.enabled;
  if (!caPem && !webhook && !anonymous) throw new Error('No authentication method configured');
  if (!['AlwaysAllow', 'Webhook'].includes(authorization.mode)) {
    throw new Error(`unknown authorization mode ${authorization.mode}`);
  }
  return { caFile, caPem, anonymous, webhook, mode: authorization.mode };
}

/** Subject lines from X509Certificate.subject ("CN=x\nO=a\nO=b"): values of one attribute. */
const subjectValues = (subject, attr) =>
  subject
    .split('\n')
    .filter((line) => line.startsWith(`${attr}=`))
    .map((line) => line.slice(attr.length + 1));

// Go's x509 accepts a leaf with no extended key usage, or with "any", for client auth.
function allowsClientAuth(cert) {
  const usages = cert.keyUsage;
  return (
    !usages || usages.length === 0 || usages.includes(CLIENT_AUTH) || usages.includes(ANY_EXTENDED_KEY_USAGE)
  );
}

/**
 * Authenticates one request. An error from the certificate stage is final: an untrusted
 * certificate gets 401 even when anonymous access is on (NewFailOnError in delegating.go).
 * @returns {{ user: string, groups: string[] } | null} null means 401
 */
export function authenticate(req, auth) {
  const socket = req.socket;
  const peer = auth.caPem ? socket.getPeerX509Certificate() : undefined;
  if (peer) {
    if (!socket.authorized || !allowsClientAuth(peer)) return null;
    return { user: subjectValues(peer.subject, 'CN')[0] ?? '', groups: subjectValues(peer.subject, 'O') };
  }
  // There is no API server to send a TokenReview to, so no bearer token is ever valid here.
  if (auth.webhook && /^bearer\s/i.test(req.headers.authorization ?? '')) return null;
  return auth.anonymous ? ANONYMOUS : null;
}

/**
 * Webhook mode would ask the API server (SubjectAccessReview); the lab has none, so every
 * authenticated user is allowed and only the anonymous user is refused, as default RBAC does.
 */
export function authorize(identity, auth) {
  return auth.mode === 'AlwaysAllow' || identity.user !== ANONYMOUS.user;
}
