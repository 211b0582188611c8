// Item 3 of issue 13: a host key or login failure reads the same on both transports. Each case is
// fed to the built-in client's judge (the presented key against a real known_hosts file) and to
// the OpenSSH reader (the ControlMaster's log, in OpenSSH's own words from sshconnect.c and
// sshconnect2.c), and the two NodeErrors must be equal: kind, message and fix.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NodeError } from '../../../src/errors.js';
import { createAuth } from '../../../src/node/ssh/auth.js';
import { judgeHostKey } from '../../../src/node/ssh/host-key.js';
import type { HostKeySubject } from '../../../src/node/ssh/host-key.js';
import { fingerprintSha256 } from '../../../src/node/ssh/known-hosts.js';
import { masterFailure } from '../../../src/node/ssh/openssh-log.js';
import { keygen, tempDir } from './helpers.js';
import type { KeyPair } from './helpers.js';

const HOST = '10.213.0.16';
const AT = '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@';

let dir: string;
let hostKey: KeyPair;
let otherKey: KeyPair;
let ca: KeyPair;
let clientKey: KeyPair;
let files = 0;

beforeAll(async () => {
  dir = await tempDir('kubemend-same-messages-');
  [hostKey, otherKey, ca, clientKey] = await Promise.all([
    keygen(dir, 'host'),
    keygen(dir, 'other'),
    keygen(dir, 'ca'),
    keygen(dir, 'client'),
  ]);
});

const fp = (k: KeyPair) => fingerprintSha256(k.blob);
const b64 = (k: KeyPair) => k.blob.toString('base64');
const view = (e: NodeError) => ({ node: e.node, kind: e.kind, message: e.message, fix: e.fix });

/** A known_hosts file with these lines, and the subject both transports judge against it. */
async function knownHosts(...lines: string[]): Promise<{ subject: HostKeySubject; text: string }> {
  const file = join(dir, `kh-${files++}`, 'known_hosts');
  await mkdir(join(file, '..'), { recursive: true });
  const text = lines.map((l) => `${l}\n`).join('');
  if (lines.length > 0) await writeFile(file, text);
  return {
    subject: {
      node: 'cp-1',
      label: 'node cp-1',
      host: HOST,
      port: 22,
      knownHostsFile: file,
      acceptNew: false,
    },
    text,
  };
}

async function builtinHostKeyError(subject: HostKeySubject, presented: KeyPair): Promise<NodeError> {
  const decision = await judgeHostKey(subject, presented.blob);
  if (decision.ok) throw new Error('the built-in client accepted the key');
  return decision.error;
}

function opensshError(log: string[], text: string, subject: HostKeySubject, agentSocket?: string): NodeError {
  return masterFailure(`${log.join('\n')}\n`, text, {
    subject,
    user: 'root',
    proxyStderr: '',
    ...(agentSocket ? { agentSocket } : {}),
  });
}

/** The host presents hostKey: both transports must refuse it with the same NodeError, returned. */
async function onBoth(subject: HostKeySubject, text: string, log: string[]): Promise<NodeError> {
  const builtin = await builtinHostKeyError(subject, hostKey);
  expect(view(opensshError(log, text, subject))).toEqual(view(builtin));
  return builtin;
}

/** ssh's last words for a key it does not know under StrictHostKeyChecking=yes (sshconnect.c). */
const STRICT_NEW = [
  `No ED25519 host key is known for ${HOST} and you have requested strict checking.`,
  'Host key verification failed.',
];

/** What the master logs before it judges: the key it was shown (sshconnect.c verify_host_key). */
const serverKey = (k: KeyPair) => `debug1: Server host key: ssh-ed25519 ${fp(k)}`;

describe('host key failures read the same on both transports', () => {
  it('unknown: not in known_hosts (and the file missing)', async () => {
    const { subject, text } = await knownHosts();
    const builtin = await onBoth(subject, text, [
      serverKey(hostKey),
      `debug1: load_hostkeys: fopen ${subject.knownHostsFile}: No such file or directory`,
      ...STRICT_NEW,
    ]);
    expect(builtin).toMatchObject({
      kind: 'host-key-unknown',
      message: `host key of node cp-1 (${HOST}:22) is not known: ssh-ed25519 ${fp(hostKey)} is not in ${subject.knownHostsFile} (the file is missing or holds no keys)`,
    });
    expect(builtin.fix).toContain('--accept-new-host-keys');
    expect(builtin.fix).toContain(`ssh-keyscan -p 22 ${HOST} >> ${subject.knownHostsFile}`);
  });

  it('unknown: the file holds other hosts only', async () => {
    const { subject, text } = await knownHosts('# ours', `10.213.0.99 ssh-ed25519 ${b64(otherKey)}`);
    const builtin = await onBoth(subject, text, [serverKey(hostKey), ...STRICT_NEW]);
    expect(builtin.message).toMatch(/is not in \S+known_hosts$/);
  });

  it('changed: another key on file; the fix is ssh-keygen -R, never turning checking off', async () => {
    const { subject, text } = await knownHosts('# ours', `${HOST} ssh-ed25519 ${b64(otherKey)}`);
    const builtin = await onBoth(subject, text, [
      serverKey(hostKey),
      AT,
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
      AT,
      'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
      'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
      'It is also possible that a host key has just been changed.',
      'The fingerprint for the ED25519 key sent by the remote host is',
      `${fp(hostKey)}.`,
      'Please contact your system administrator.',
      `Add correct host key in ${subject.knownHostsFile} to get rid of this message.`,
      `Offending ED25519 key in ${subject.knownHostsFile}:2`,
      `Host key for ${HOST} has changed and you have requested strict checking.`,
      'Host key verification failed.',
    ]);
    expect(builtin.kind).toBe('host-key-changed');
    expect(builtin.message).toBe(
      `REMOTE HOST IDENTIFICATION HAS CHANGED for node cp-1 (${HOST}:22): it presented ssh-ed25519 ${fp(hostKey)}, ` +
        `but a different ssh-ed25519 key for this host is on file at ${subject.knownHostsFile}:2. ` +
        'Someone could be intercepting the connection (man-in-the-middle attack), or the host key has just been changed',
    );
    expect(builtin.fix).toContain(`ssh-keygen -R ${HOST} -f ${subject.knownHostsFile}`);
    expect(builtin.fix).not.toMatch(/StrictHostKeyChecking|checking off/);
  });

  it('changed: a host certificate from no trusted CA over a plain key on file reads as the plain key changed', async () => {
    // OpenSSH downgrades the certificate to its key ("No matching CA found. Retry with plain key").
    const { subject, text } = await knownHosts(`${HOST} ssh-ed25519 ${b64(otherKey)}`);
    await onBoth(subject, text, [
      `debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com ${fp(hostKey)}, serial 0 ID "cp-1" CA ssh-ed25519 ${fp(ca)} valid from 2026-12-01T08:47:24 to 2026-12-04T08:47:24`,
      'debug1: No matching CA found. Retry with plain key',
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
      `Host key for ${HOST} has changed and you have requested strict checking.`,
      'Host key verification failed.',
    ]);
  });

  it('revoked: the key is marked @revoked', async () => {
    const { subject, text } = await knownHosts(
      `${HOST} ssh-ed25519 ${b64(hostKey)}`,
      `@revoked * ssh-ed25519 ${b64(hostKey)}`,
    );
    const builtin = await onBoth(subject, text, [
      serverKey(hostKey),
      AT,
      '@       WARNING: REVOKED HOST KEY DETECTED!               @',
      AT,
      `The ED25519 host key for ${HOST} is marked as revoked.`,
      'This could mean that a stolen key is being used to',
      'impersonate this host.',
      `ED25519 host key for ${HOST} was revoked and you have requested strict checking.`,
      'Host key verification failed.',
    ]);
    expect(builtin.kind).toBe('host-key-changed');
    expect(builtin.message).toBe(
      `host key of node cp-1 (${HOST}:22) is REVOKED: ssh-ed25519 ${fp(hostKey)} is marked @revoked at ${subject.knownHostsFile}:2`,
    );
    expect(builtin.fix).not.toContain('--accept-new-host-keys');
  });

  it('only @cert-authority lines: the built-in client says it cannot check certificates, in the same words as far as it can', async () => {
    const { subject, text } = await knownHosts(`@cert-authority 10.213.0.* ssh-ed25519 ${b64(ca)}`);
    const builtin = await builtinHostKeyError(subject, hostKey);
    const notKnown = `host key of node cp-1 (${HOST}:22) is not known: ssh-ed25519 ${fp(hostKey)} is not in ${subject.knownHostsFile}: ${subject.knownHostsFile} trusts ${HOST} only through @cert-authority lines`;
    expect(builtin).toMatchObject({
      kind: 'host-certificate',
      message: `${notKnown}, and the built-in SSH client cannot check host certificates`,
      fix: 'use --ssh openssh for this node (without --ssh builtin or ssh: builtin, kubemend chooses it by itself)',
    });
    // OpenSSH meets the same file when the host presents its plain key, not a certificate.
    const openssh = opensshError([serverKey(hostKey), ...STRICT_NEW], text, subject);
    expect(openssh.kind).toBe('host-certificate');
    expect(openssh.message).toBe(`${notKnown}, and the host presented a plain key, not a certificate`);
  });
});

describe('host certificate failures (OpenSSH only: the built-in client has no certificates)', () => {
  const certLine = (valid = 'from 2026-01-01T00:00:00 to 2026-01-02T00:00:00') =>
    `debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com ${fp(hostKey)}, serial 0 ID "cp-1" CA ssh-ed25519 ${fp(ca)} valid ${valid}`;

  const CERT_ERROR = { node: 'cp-1', kind: 'host-certificate' };

  it('expired, though signed by the trusted CA: names the CA line and the validity, never --accept-new-host-keys', async () => {
    const { subject, text } = await knownHosts(`@cert-authority 10.213.0.* ssh-ed25519 ${b64(ca)}`);
    const error = opensshError(
      [
        certLine(),
        // OpenSSH 9.2 refuses it before it logs "Found CA key in …" (seen in the e2e lab).
        'Certificate invalid: expired',
        'debug1: No matching CA found. Retry with plain key',
        ...STRICT_NEW,
      ],
      text,
      subject,
    );
    expect(view(error)).toEqual({
      ...CERT_ERROR,
      message:
        `host certificate of node cp-1 (${HOST}:22) is not valid: expired (valid from 2026-01-01T00:00:00 to 2026-01-02T00:00:00); ` +
        `it is signed by CA ssh-ed25519 ${fp(ca)}, trusted at ${subject.knownHostsFile}:1`,
      fix: `renew the node's host certificate (signed for ${HOST}, valid now) and reload its sshd; if it looks valid, check this machine's clock`,
    });
  });

  it('not for this name', async () => {
    const { subject, text } = await knownHosts(`@cert-authority 10.213.0.* ssh-ed25519 ${b64(ca)}`);
    const error = opensshError(
      [
        certLine('forever'),
        `debug1: Found CA key in ${subject.knownHostsFile}:1`,
        'Certificate invalid: name is not a listed principal',
        'Host key verification failed.',
      ],
      text,
      subject,
    );
    expect(error.message).toMatch(
      /^host certificate of node cp-1 \S+ is not valid: name is not a listed principal \(valid forever\); /,
    );
  });

  it('signed by a CA that is not the @cert-authority (wrong CA)', async () => {
    const { subject, text } = await knownHosts(`@cert-authority 10.213.0.* ssh-ed25519 ${b64(otherKey)}`);
    const error = opensshError(
      [certLine(), 'debug1: No matching CA found. Retry with plain key', ...STRICT_NEW],
      text,
      subject,
    );
    expect(view(error)).toEqual({
      ...CERT_ERROR,
      message:
        `host certificate of node cp-1 (${HOST}:22) is signed by CA ssh-ed25519 ${fp(ca)}, which is not a @cert-authority ` +
        `for ${HOST} in ${subject.knownHostsFile} (and its key ssh-ed25519 ${fp(hostKey)} is not on file either)`,
      fix:
        `find out which CA signs the host certificates of ${HOST}; verify that CA's public key out of band and ` +
        `add it to ${subject.knownHostsFile} as: @cert-authority ${HOST} <CA public key>`,
    });
  });

  it('its CA revoked: reads as a revoked key', async () => {
    const { subject, text } = await knownHosts(
      `@cert-authority 10.213.0.* ssh-ed25519 ${b64(ca)}`,
      `@revoked * ssh-ed25519 ${b64(ca)}`,
    );
    const error = opensshError(
      [
        certLine(),
        '@       WARNING: REVOKED HOST KEY DETECTED!               @',
        `The ED25519-CERT host key for ${HOST} is marked as revoked.`,
        'Host key verification failed.',
      ],
      text,
      subject,
    );
    expect({ kind: error.kind, message: error.message }).toEqual({
      kind: 'host-key-changed',
      message: `host certificate of node cp-1 (${HOST}:22) is REVOKED: it is signed by CA ssh-ed25519 ${fp(ca)}, which is marked @revoked at ${subject.knownHostsFile}:2`,
    });
  });
});

describe('refused logins read the same on both transports', () => {
  /** The built-in client as ssh2 drives it: first call, then the server's "publickey" after each refusal. */
  async function builtinRefusal(env: NodeJS.ProcessEnv, identityFile?: string): Promise<NodeError> {
    const home = join(dir, 'empty-home');
    await mkdir(home, { recursive: true });
    const auth = createAuth(
      {
        node: 'cp-1',
        messagePrefix: '',
        user: 'root',
        host: HOST,
        port: 22,
        env,
        homeDir: home,
        ...(identityFile ? { identityFile } : {}),
      },
      { pause: () => undefined, resume: () => undefined },
    );
    let authsLeft: string[] | null = null;
    for (let i = 0; i < 10 && !auth.exhausted; i++) {
      await new Promise<void>((done) =>
        auth.handler(authsLeft as never, false, () => {
          done();
        }),
      );
      authsLeft = ['publickey'];
    }
    expect(auth.exhausted).toBe(true);
    return auth.failure();
  }

  it('Permission denied (publickey) for the identity file', async () => {
    const builtin = await builtinRefusal({}, clientKey.file);
    const { subject } = await knownHosts();
    const openssh = opensshError(
      [
        `debug1: Will attempt key: ${clientKey.file} ED25519 ${fp(clientKey)} explicit`,
        `debug1: Offering public key: ${clientKey.file} ED25519 ${fp(clientKey)} explicit`,
        'debug1: Authentications that can continue: publickey',
        'debug1: No more authentication methods to try.',
        `root@${HOST}: Permission denied (publickey).`,
      ],
      '',
      subject,
    );
    expect(view(openssh)).toEqual(view(builtin));
    expect(builtin.message).toBe(`authentication failed for root@${HOST}:22; tried key ${clientKey.file}`);
    expect(builtin.kind).toBe('auth');
  });

  it('Permission denied (publickey) for the keys of ssh-agent', async () => {
    const socket = join(dir, 'agent.sock');
    const builtin = await builtinRefusal({ SSH_AUTH_SOCK: socket });
    const { subject } = await knownHosts();
    const openssh = opensshError(
      [
        `debug1: Offering public key: admin@laptop ED25519 ${fp(clientKey)} agent`,
        `debug1: Offering public key: ops@laptop ED25519 ${fp(otherKey)} agent`,
        `root@${HOST}: Permission denied (publickey).`,
      ],
      '',
      subject,
      socket,
    );
    expect(view(openssh)).toEqual(view(builtin));
    expect(builtin.message).toBe(
      `authentication failed for root@${HOST}:22; tried ssh-agent (SSH_AUTH_SOCK=${socket})`,
    );
  });

  it('an expired user certificate is refused by the server like any key, and says a certificate was offered', async () => {
    const { subject } = await knownHosts();
    const openssh = opensshError(
      [
        `debug1: Offering public key: ${clientKey.file} ED25519-CERT ${fp(clientKey)} explicit`,
        `root@${HOST}: Permission denied (publickey).`,
      ],
      '',
      subject,
    );
    expect({ kind: openssh.kind, message: openssh.message }).toEqual({
      kind: 'auth',
      message: `authentication failed for root@${HOST}:22; tried key ${clientKey.file} (certificate)`,
    });
  });
});
