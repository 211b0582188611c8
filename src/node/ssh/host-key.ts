/**
 * Host key policy for one hop: the presented key against the known_hosts file, as OpenSSH's
 * StrictHostKeyChecking=yes (default) or accept-new (--accept-new-host-keys). A changed or revoked
 * key is always refused.
 */
import { NodeError } from '../../errors.js';
import type { NodeErrorKind } from '../../errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostLookupName,
  keyTypeOfBlob,
  parseKnownHosts,
  readKnownHosts,
} from './known-hosts.js';
import type { HostKeyCheck, KnownHostEntry } from './known-hosts.js';
import { shellWord } from './shell.js';

export interface HostKeySubject {
  /** Inventory node the connection is for (every NodeError names it). */
  node: string;
  /** "node cp-1" or "jump host bastion:22 (for node cp-1)": how messages name this hop. */
  label: string;
  host: string;
  port: number;
  knownHostsFile: string;
  acceptNew: boolean;
}

export type HostKeyDecision =
  | {
      ok: true;
      fingerprint: string;
      /** Set with accept-new: append once the handshake is proven. */ pendingAppend: boolean;
    }
  | { ok: false; error: NodeError };

/** Decides on the presented key without writing anything. */
export async function judgeHostKey(subject: HostKeySubject, blob: Buffer): Promise<HostKeyDecision> {
  const fingerprint = fingerprintSha256(blob);
  let text: string;
  try {
    text = await readKnownHosts(subject.knownHostsFile);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      error: new NodeError(
        subject.node,
        `cannot read known_hosts file ${subject.knownHostsFile} to verify ${subject.label}: ${reason}`,
        'permission',
        `make ${subject.knownHostsFile} readable, or point --known-hosts at another file`,
      ),
    };
  }
  const entries = parseKnownHosts(text).entries;
  const check = checkHostKey(entries, subject.host, subject.port, blob);
  if (check.status === 'known') return { ok: true, fingerprint, pendingAppend: false };
  if (check.status === 'unknown' && subject.acceptNew) return { ok: true, fingerprint, pendingAppend: true };
  return { ok: false, error: hostKeyError(subject, blob, check, entries.length === 0) };
}

/** accept-new, after the server proved it holds the key: append it, unless a racing session already did. */
export async function recordAcceptedHostKey(
  subject: HostKeySubject,
  blob: Buffer,
): Promise<NodeError | undefined> {
  try {
    const outcome = await appendKnownHost(subject.knownHostsFile, subject.host, subject.port, blob);
    if (outcome.status === 'added' || outcome.status === 'known') return undefined;
    return hostKeyError(subject, blob, outcome, false);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return new NodeError(
      subject.node,
      `cannot add the host key of ${subject.label} to ${subject.knownHostsFile}: ${reason}`,
      'permission',
      `make ${subject.knownHostsFile} (and its directory) writable, or point --known-hosts at another file`,
    );
  }
}

export function hostKeyError(
  subject: HostKeySubject,
  blob: Buffer,
  check: Exclude<HostKeyCheck, { status: 'known' }>,
  /** The file is missing or holds no keys at all. */
  fileEmpty: boolean,
): NodeError {
  return hostKeyFailure(
    subject,
    { keyType: keyTypeOfBlob(blob) ?? 'unknown-type', fingerprint: fingerprintSha256(blob) },
    problemOf(check, fileEmpty, 'builtin'),
  );
}

/** The key the host presented: for a host certificate, the key it certifies. */
export interface PresentedKey {
  keyType: string;
  fingerprint: string;
}

/**
 * Why a host key was refused, in terms both transports can state: the built-in client judges the
 * key itself, the OpenSSH one reads what ssh logged (openssh-log.ts). The certificate cases only
 * OpenSSH meets; the built-in client, which has no certificates, meets `certificates-unsupported`.
 */
export type HostKeyProblem =
  | { case: 'unknown'; fileEmpty: boolean }
  | { case: 'changed'; sameType: boolean; entries: readonly KnownHostEntry[] }
  | { case: 'revoked'; line: number }
  /** The host is trusted only through @cert-authority lines, and this client cannot check certificates. */
  | { case: 'certificates-unsupported' }
  /** Only @cert-authority lines for the host, and it presented a plain key. */
  | { case: 'no-certificate' }
  /** A host certificate whose CA is not a @cert-authority for the host (a wrong CA). */
  | { case: 'certificate-untrusted'; ca: string }
  /** Signed by a trusted CA but refused: expired, not yet valid, not for this name. */
  | { case: 'certificate-invalid'; ca: string; reason: string; trustedAt?: string; valid?: string }
  /** The certificate's CA key is marked @revoked. */
  | { case: 'certificate-revoked'; ca: string; line: number };

/** A failed known_hosts check as a problem; `client` says who cannot follow @cert-authority lines. */
export function problemOf(
  check: Exclude<HostKeyCheck, { status: 'known' }>,
  fileEmpty: boolean,
  client: 'builtin' | 'openssh',
): HostKeyProblem {
  switch (check.status) {
    case 'revoked':
      return { case: 'revoked', line: check.entry.line };
    case 'changed':
      return { case: 'changed', sameType: check.sameType, entries: check.entries };
    case 'unknown':
      if (!check.certAuthorityOnly) return { case: 'unknown', fileEmpty };
      return { case: client === 'builtin' ? 'certificates-unsupported' : 'no-certificate' };
  }
}

const NOT_OFF = 'never turn host key checking off for it';

/** The one wording of every host key failure, for both transports (DESIGN: Transports). */
export function hostKeyFailure(
  subject: HostKeySubject,
  presented: PresentedKey,
  problem: HostKeyProblem,
): NodeError {
  const { keyType, fingerprint } = presented;
  const file = subject.knownHostsFile;
  const name = hostLookupName(subject.host, subject.port);
  const where = `${subject.label} (${subject.host}:${subject.port})`;
  const notKnown = `host key of ${where} is not known: ${keyType} ${fingerprint} is not in ${file}`;
  const caOnly = `${file} trusts ${name} only through @cert-authority lines`;
  const error = (message: string, kind: NodeErrorKind, fix: string): NodeError =>
    new NodeError(subject.node, message, kind, fix);
  switch (problem.case) {
    case 'unknown':
      return error(
        `${notKnown}${problem.fileEmpty ? ' (the file is missing or holds no keys)' : ''}`,
        'host-key-unknown',
        `verify the fingerprint ${fingerprint} out of band, then rerun with --accept-new-host-keys, ` +
          `or add it with: ssh-keyscan -p ${subject.port} ${shellWord(subject.host)} >> ${shellWord(file)}`,
      );
    case 'changed': {
      const lines = problem.entries.map((e) => `${file}:${e.line}`).join(', ');
      const held = problem.sameType
        ? `a different ${keyType} key for this host is on file at ${lines}`
        : `only ${[...new Set(problem.entries.map((e) => e.keyType))].join(', ')} key(s) for this host are on file, at ${lines}`;
      return error(
        `REMOTE HOST IDENTIFICATION HAS CHANGED for ${where}: it presented ${keyType} ${fingerprint}, but ${held}. ` +
          `Someone could be intercepting the connection (man-in-the-middle attack), or the host key has just been changed`,
        'host-key-changed',
        `verify the new fingerprint ${fingerprint} out of band, then remove the old key with: ` +
          `ssh-keygen -R ${shellWord(name)} -f ${shellWord(file)} (and rerun with --accept-new-host-keys)`,
      );
    }
    case 'revoked':
      return error(
        `host key of ${where} is REVOKED: ${keyType} ${fingerprint} is marked @revoked at ${file}:${problem.line}`,
        'host-key-changed',
        `do not connect until the host's administrator has replaced its key; then verify the new fingerprint ` +
          `out of band and add it to ${file}; ${NOT_OFF}`,
      );
    case 'certificate-revoked':
      return error(
        `host certificate of ${where} is REVOKED: it is signed by CA ${problem.ca}, which is marked @revoked at ${file}:${problem.line}`,
        'host-key-changed',
        `do not connect until the host has a certificate from a CA you trust; ${NOT_OFF}`,
      );
    case 'certificates-unsupported':
      return error(
        `${notKnown}: ${caOnly}, and the built-in SSH client cannot check host certificates`,
        'host-certificate',
        `use --ssh openssh for this node (without --ssh builtin or ssh: builtin, kubemend chooses it by itself)`,
      );
    case 'no-certificate':
      return error(
        `${notKnown}: ${caOnly}, and the host presented a plain key, not a certificate`,
        'host-certificate',
        `give the node a host certificate from that CA (HostCertificate in its sshd_config), or verify ` +
          `its key ${fingerprint} out of band and add it to ${file}`,
      );
    case 'certificate-untrusted':
      return error(
        `host certificate of ${where} is signed by CA ${problem.ca}, which is not a @cert-authority for ${name} in ${file} ` +
          `(and its key ${keyType} ${fingerprint} is not on file either)`,
        'host-certificate',
        `find out which CA signs the host certificates of ${name}; verify that CA's public key out of band and ` +
          `add it to ${file} as: @cert-authority ${name} <CA public key>`,
      );
    case 'certificate-invalid':
      return error(
        `host certificate of ${where} is not valid: ${problem.reason}` +
          `${problem.valid ? ` (valid ${problem.valid})` : ''}; it is signed by CA ${problem.ca}` +
          `${problem.trustedAt ? `, trusted at ${problem.trustedAt}` : ''}`,
        'host-certificate',
        `renew the node's host certificate (signed for ${subject.host}, valid now) and reload its sshd; ` +
          `if it looks valid, check this machine's clock`,
      );
  }
}
