/**
 * Reading what the ControlMaster logged (LogLevel=DEBUG1, -E FILE): the host key OpenSSH verified,
 * and, when it gave up, why, in the built-in client's words. Pure: text in, facts or a NodeError out.
 */
import { NodeError } from '../../errors.js';
import { agentTried, authRefused } from './auth.js';
import { hostKeyFailure, problemOf } from './host-key.js';
import type { HostKeyProblem, HostKeySubject } from './host-key.js';
import {
  checkKeyFingerprint,
  fingerprintSha256,
  hostFieldMatches,
  hostLookupName,
  parseKnownHosts,
} from './known-hosts.js';
import type { KnownHostEntry } from './known-hosts.js';

export interface VerifiedKey {
  /** Plain key type, e.g. ssh-ed25519 (for a certificate: the type of the key it certifies). */
  keyType: string;
  /** SHA256 of the host's own key; for a host certificate OpenSSH fingerprints the certified key. */
  fingerprint: string;
  /** "file:line" of the known_hosts line that matched: the key, or the CA of a certificate. */
  matchedAt?: string;
  /** ca: "TYPE SHA256:…"; valid: as ssh logs it, e.g. "from 2026-12-01T08:47:24 to 2026-12-04T08:47:24". */
  certificate?: { ca: string; valid?: string };
}

const certSuffix = /-cert-v01@openssh\.com$/;

/** The last host key the master logged (jump hosts log to their own stderr, not to this file). */
export function verifiedKey(log: string): VerifiedKey | undefined {
  let found: VerifiedKey | undefined;
  for (const line of log.split('\n')) {
    const plain = /^debug1: Server host key: (\S+) (SHA256:[A-Za-z0-9+/]+)/.exec(line);
    const cert =
      /^debug1: Server host certificate: (\S+) (SHA256:[A-Za-z0-9+/]+), .* CA (\S+) (SHA256:[A-Za-z0-9+/]+)(?: valid (.+))?$/.exec(
        line.replace(/\r$/, ''),
      );
    if (plain) found = { keyType: plain[1]!.replace(certSuffix, ''), fingerprint: plain[2]! };
    else if (cert)
      found = {
        keyType: cert[1]!.replace(certSuffix, ''),
        fingerprint: cert[2]!,
        certificate: { ca: `${cert[3]} ${cert[4]}`, ...(cert[5] ? { valid: cert[5] } : {}) },
      };
    const at = /^debug1: Found (?:CA )?key in (.+):(\d+)$/.exec(line);
    if (at && found) found.matchedAt = `${at[1]}:${at[2]}`;
  }
  return found;
}

/** Whether the master got as far as authenticating (it opens its socket only after that). */
export function authenticated(log: string): boolean {
  return /^Authenticated to /m.test(log);
}

/** Lines OpenSSH meant for a person (not debug), for messages. */
function humanLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l !== '' && !/^debug\d:/.test(l) && !/^@+$/.test(l));
}

export interface FailureContext {
  subject: HostKeySubject;
  user: string;
  /** A ProxyCommand's (or jump host's) stderr. */
  proxyStderr: string;
  proxyCommand?: string;
  /** SSH_AUTH_SOCK, to name the agent as the built-in client does. */
  agentSocket?: string;
}

/** Why the master ended before it was ready, as the NodeError the built-in client would raise. */
export function masterFailure(log: string, known: string, ctx: FailureContext): NodeError {
  const { subject } = ctx;
  const node = subject.node;
  const { host, port } = subject;
  const key = verifiedKey(log);
  const entries = parseKnownHosts(known).entries;

  if (/^Host key verification failed\./m.test(log) && key) {
    return hostKeyFailure(subject, key, hostKeyProblem(log, key, entries, subject));
  }
  if (/^Host key verification failed\./m.test(log) && !key) {
    return new NodeError(
      node,
      `host key of node ${node} (${host}:${port}) could not be verified: ${humanLines(log).join('; ')}`,
      'host-key-unknown',
    );
  }

  const denied = /^(\S+): Permission denied \(([^)]*)\)\./m.exec(log);
  const tooMany = /^(?:Received disconnect from .*: )?Too many authentication failures/m.test(log);
  if (denied || tooMany) {
    const tried = [
      ...log.matchAll(/^debug1: Offering public key: (\S+) (\S+) (SHA256:\S+)(?: (\w+))?/gm),
    ].map((m) =>
      m[4] === 'agent'
        ? agentTried(ctx.agentSocket)
        : `key ${m[1]}${/-CERT$/.test(m[2] ?? '') ? ' (certificate)' : ''}`,
    );
    return authRefused({
      node,
      messagePrefix: '',
      user: ctx.user,
      host,
      port,
      tried,
      serverMethods: denied ? (denied[2] ?? '').split(',').filter((m) => m !== '') : null,
      notes: tooMany ? ['server said: Too many authentication failures'] : [],
    });
  }

  const connect = /^ssh: connect to host (\S+) port (\d+): (.+)$/m.exec(log);
  if (connect) {
    const reason = connect[3] ?? '';
    const code = /timed out/i.test(reason)
      ? 'ETIMEDOUT'
      : /refused/i.test(reason)
        ? 'ECONNREFUSED'
        : /no route/i.test(reason)
          ? 'EHOSTUNREACH'
          : /network is unreachable/i.test(reason)
            ? 'ENETUNREACH'
            : undefined;
    const text = code ? `connect ${code} ${host}:${port}` : `connect to ${host}:${port} failed: ${reason}`;
    return new NodeError(
      node,
      text,
      code === 'ETIMEDOUT' ? 'timeout' : 'unreachable',
      code === 'ETIMEDOUT'
        ? `check that ${host} is up and that port ${port} is reachable from here (firewall, VPN, bastion); or raise --connect-timeout`
        : `check that ${host} is up and that sshd listens on port ${port}`,
    );
  }
  const resolve = /^ssh: Could not resolve hostname (\S+): (.+)$/m.exec(log);
  if (resolve) {
    return new NodeError(
      node,
      `getaddrinfo ENOTFOUND ${resolve[1]?.replace(/:$/, '')}`,
      'unreachable',
      `check the host name (inventory host, or HostName in ~/.ssh/config) and DNS`,
    );
  }

  const proxyText = humanLines(ctx.proxyStderr);
  const said = humanLines(log).filter((l) => !/^Transferred:|^Bytes per second:/.test(l));
  if (ctx.proxyCommand !== undefined || proxyText.length > 0) {
    return new NodeError(
      node,
      `node ${node}: the connection through ${ctx.proxyCommand !== undefined ? `ProxyCommand ${ctx.proxyCommand}` : 'the jump host'} ended before SSH was set up` +
        `${proxyText.length > 0 ? `: ${proxyText.slice(-3).join('; ')}` : ''}${said.length > 0 ? ` (ssh: ${said.slice(-2).join('; ')})` : ''}`,
      'unreachable',
      `run \`ssh ${hostLookupName(host, port) === host ? host : `-p ${port} ${host}`}\` yourself to see the whole story; check the proxy's credentials and that it can reach the node`,
    );
  }
  return new NodeError(
    node,
    `ssh to node ${node} (${host}:${port}) failed: ${said.slice(-3).join('; ') || 'no reason given'}`,
    'unreachable',
    `run ssh yourself to the node to see the whole story`,
  );
}

/**
 * Why OpenSSH refused the key it logged, judged as the built-in client judges a key (the same
 * known_hosts reading), plus what only OpenSSH meets: host certificates. OpenSSH retries a refused
 * certificate as its plain key ("No matching CA found. Retry with plain key"), so a plain key on
 * file decides first, as it does for the built-in client.
 */
function hostKeyProblem(
  log: string,
  key: VerifiedKey,
  entries: readonly KnownHostEntry[],
  subject: HostKeySubject,
): HostKeyProblem {
  const { host, port } = subject;
  const cert = key.certificate;
  const name = hostLookupName(host, port);
  const caFingerprint = cert?.ca.split(' ')[1];
  // The host's line for the certificate's CA, read from the file: OpenSSH 9.2 refuses an expired
  // certificate before it logs "Found CA key in …".
  const caLine = (marker: 'revoked' | 'cert-authority') =>
    entries.find(
      (e) =>
        e.marker === marker && hostFieldMatches(e.hosts, name) && fingerprintSha256(e.key) === caFingerprint,
    );
  const revokedCa = caLine('revoked');
  if (cert && revokedCa) return { case: 'certificate-revoked', ca: cert.ca, line: revokedCa.line };
  const check = checkKeyFingerprint(entries, host, port, key.keyType, key.fingerprint);
  if (check.status !== 'known' && !(check.status === 'unknown' && cert))
    return problemOf(check, entries.length === 0, 'openssh');
  // A certificate, refused, its plain key not on file (or, oddly, on file: then the log says why).
  const invalid = /^(?:debug1: )?(Certificate invalid: .+|Certificate lacks principal list)$/m
    .exec(log)?.[1]
    ?.replace(/^Certificate invalid: /, '');
  const trustedBy = caLine('cert-authority');
  if (cert && invalid !== undefined)
    return {
      case: 'certificate-invalid',
      ca: cert.ca,
      reason: invalid,
      ...(trustedBy ? { trustedAt: `${subject.knownHostsFile}:${trustedBy.line}` } : {}),
      ...(cert.valid ? { valid: cert.valid } : {}),
    };
  if (cert && check.status === 'unknown' && check.certAuthorityOnly)
    return { case: 'certificate-untrusted', ca: cert.ca };
  if (check.status === 'known')
    return {
      case: 'certificate-invalid',
      ca: cert?.ca ?? '(unknown)',
      reason: humanLines(log).slice(-2).join('; ') || 'refused',
    };
  // No @cert-authority for the host and its key not on file: the plain "not known", as on ssh2.
  return { case: 'unknown', fileEmpty: entries.length === 0 };
}
