/**
 * Reading what the ControlMaster logged (LogLevel=DEBUG1, -E FILE): the host key OpenSSH verified,
 * and, when it gave up, why, in the built-in client's words. Pure: text in, facts or a NodeError out.
 */
import { NodeError } from '../../errors.js';
import { authFailureFix } from './auth.js';
import { presentedKeyError } from './host-key.js';
import type { HostKeySubject } from './host-key.js';
import { checkKeyFingerprint, hostLookupName, parseKnownHosts } from './known-hosts.js';

export interface VerifiedKey {
  /** Plain key type, e.g. ssh-ed25519 (for a certificate: the type of the key it certifies). */
  keyType: string;
  /** SHA256 of the host's own key; for a host certificate OpenSSH fingerprints the certified key. */
  fingerprint: string;
  /** "file:line" of the known_hosts line that matched: the key, or the CA of a certificate. */
  matchedAt?: string;
  certificate?: { ca: string };
}

const certSuffix = /-cert-v01@openssh\.com$/;

/** The last host key the master logged (jump hosts log to their own stderr, not to this file). */
export function verifiedKey(log: string): VerifiedKey | undefined {
  let found: VerifiedKey | undefined;
  for (const line of log.split('\n')) {
    const plain = /^debug1: Server host key: (\S+) (SHA256:[A-Za-z0-9+/]+)/.exec(line);
    const cert =
      /^debug1: Server host certificate: (\S+) (SHA256:[A-Za-z0-9+/]+), .* CA (\S+) (SHA256:[A-Za-z0-9+/]+)/.exec(
        line,
      );
    if (plain) found = { keyType: plain[1]!.replace(certSuffix, ''), fingerprint: plain[2]! };
    else if (cert)
      found = {
        keyType: cert[1]!.replace(certSuffix, ''),
        fingerprint: cert[2]!,
        certificate: { ca: `${cert[3]} ${cert[4]}` },
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
}

/** Why the master ended before it was ready, as the NodeError the built-in client would raise. */
export function masterFailure(log: string, known: string, ctx: FailureContext): NodeError {
  const { subject } = ctx;
  const node = subject.node;
  const { host, port } = subject;
  const key = verifiedKey(log);
  const entries = parseKnownHosts(known).entries;

  if (/^Host key verification failed\./m.test(log) && key) {
    const check = checkKeyFingerprint(entries, host, port, key.keyType, key.fingerprint);
    if (check.status === 'known' && key.certificate) {
      return certificateError(log, key, subject);
    }
    if (check.status !== 'known') {
      const note =
        check.status === 'unknown' && check.certAuthorityOnly && key.certificate
          ? certificateProblem(log, key, subject)
          : check.status === 'unknown' && check.certAuthorityOnly
            ? `it matches only @cert-authority lines, and the host presented a plain key, not a certificate`
            : undefined;
      return presentedKeyError(
        subject,
        { keyType: key.keyType, fingerprint: key.fingerprint, ...(note ? { note } : {}) },
        check,
        entries.length === 0,
      );
    }
  }
  if (/^Host key verification failed\./m.test(log) && !key) {
    return new NodeError(
      node,
      `host key of node ${node} (${host}:${port}) could not be verified: ${humanLines(log).join('; ')}`,
      'host-key-unknown',
    );
  }

  const denied = /^(\S+): Permission denied \(([^)]*)\)\./m.exec(log);
  if (denied || /^Too many authentication failures/m.test(log)) {
    const tried = [
      ...log.matchAll(/^debug1: Offering public key: (\S+) (\S+) (SHA256:\S+)(?: (\w+))?/gm),
    ].map((m) =>
      m[4] === 'agent'
        ? `ssh-agent key ${m[2]} ${m[3]}`
        : `key ${m[1]}${/-CERT$/.test(m[2] ?? '') ? ' (certificate)' : ''}`,
    );
    const who = `${ctx.user}@${host}:${port}`;
    const said = denied
      ? `server said: Permission denied (${denied[2]})`
      : 'server said: Too many authentication failures';
    return new NodeError(
      node,
      `authentication failed for ${who}; ${tried.length > 0 ? `tried ${[...new Set(tried)].join(', ')}` : 'no key to try'} (${said})`,
      'auth',
      authFailureFix(ctx.user, host),
    );
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

/** The host sent a certificate OpenSSH did not accept, though its key is on file as a plain key. */
function certificateError(log: string, key: VerifiedKey, subject: HostKeySubject): NodeError {
  return new NodeError(
    subject.node,
    `host certificate of node ${subject.node} (${subject.host}:${subject.port}) is not valid: ${certificateProblem(log, key, subject)}`,
    'host-key-unknown',
    `renew the node's host certificate, or ask its administrator which CA signs it`,
  );
}

function certificateProblem(log: string, key: VerifiedKey, subject: HostKeySubject): string {
  const invalid = /^(?:debug1: )?Certificate invalid: (.+)$/m.exec(log)?.[1];
  if (invalid) return `its certificate is invalid: ${invalid}`;
  return (
    `its certificate is signed by CA ${key.certificate?.ca ?? '(unknown)'}, which is not a @cert-authority ` +
    `for ${hostLookupName(subject.host, subject.port)} in ${subject.knownHostsFile}`
  );
}
