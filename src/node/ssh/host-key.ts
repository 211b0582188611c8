/**
 * Host key policy for one hop: the presented key against the known_hosts file, as OpenSSH's
 * StrictHostKeyChecking=yes (default) or accept-new (--accept-new-host-keys). A changed or revoked
 * key is always refused.
 */
import { NodeError } from '../../errors.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostLookupName,
  keyTypeOfBlob,
  parseKnownHosts,
  readKnownHosts,
} from './known-hosts.js';
import type { HostKeyCheck } from './known-hosts.js';
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
  const check = checkHostKey(parseKnownHosts(text).entries, subject.host, subject.port, blob);
  if (check.status === 'known') return { ok: true, fingerprint, pendingAppend: false };
  if (check.status === 'unknown' && subject.acceptNew) return { ok: true, fingerprint, pendingAppend: true };
  return { ok: false, error: hostKeyError(subject, blob, check, text.trim() === '') };
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
  check: HostKeyCheck,
  /** The file is missing or holds no entries at all. */
  fileEmpty: boolean,
): NodeError {
  return presentedKeyError(
    subject,
    { keyType: keyTypeOfBlob(blob) ?? 'unknown-type', fingerprint: fingerprintSha256(blob) },
    check,
    fileEmpty,
  );
}

/** The same messages for both transports; `note` replaces the built-in client's remark on @cert-authority lines. */
export function presentedKeyError(
  subject: HostKeySubject,
  presented: { keyType: string; fingerprint: string; note?: string },
  check: HostKeyCheck,
  fileEmpty: boolean,
): NodeError {
  const { keyType, fingerprint } = presented;
  const file = subject.knownHostsFile;
  const name = hostLookupName(subject.host, subject.port);
  const where = `${subject.label} (${subject.host}:${subject.port})`;
  switch (check.status) {
    case 'known':
      throw new Error('hostKeyError called for a known key');
    case 'unknown': {
      const note = presented.note
        ? ` (${presented.note})`
        : check.certAuthorityOnly
          ? ` (it matches only @cert-authority lines, which the built-in SSH client does not support; use --ssh openssh)`
          : fileEmpty
            ? ' (the file is missing or empty)'
            : '';
      return new NodeError(
        subject.node,
        `host key of ${where} is not known: ${keyType} ${fingerprint} is not in ${file}${note}`,
        'host-key-unknown',
        `verify the fingerprint ${fingerprint} out of band, then rerun with --accept-new-host-keys, ` +
          `or add it with: ssh-keyscan -p ${subject.port} ${shellWord(subject.host)} >> ${shellWord(file)}`,
      );
    }
    case 'revoked':
      return new NodeError(
        subject.node,
        `host key of ${where} is REVOKED: ${keyType} ${fingerprint} is marked @revoked at ${file}:${check.entry.line}`,
        'host-key-changed',
        `do not connect until the host's administrator has replaced its key; then verify the new fingerprint ` +
          `out of band and add it to ${file}`,
      );
    case 'changed': {
      const lines = check.entries.map((e) => `${file}:${e.line}`).join(', ');
      const held = check.sameType
        ? `a different ${keyType} key for this host is on file at ${lines}`
        : `only ${[...new Set(check.entries.map((e) => e.keyType))].join(', ')} key(s) for this host are on file, at ${lines}`;
      return new NodeError(
        subject.node,
        `REMOTE HOST IDENTIFICATION HAS CHANGED for ${where}: it presented ${keyType} ${fingerprint}, but ${held}. ` +
          `Someone could be intercepting the connection (man-in-the-middle attack), or the host key has just been changed`,
        'host-key-changed',
        `verify the new fingerprint ${fingerprint} out of band, then remove the old key with: ` +
          `ssh-keygen -R ${shellWord(name)} -f ${shellWord(file)} (and rerun with --accept-new-host-keys)`,
      );
    }
  }
}
