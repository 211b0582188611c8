import { describe, expect, it } from 'vitest';
import type { HostKeySubject } from '../../../src/node/ssh/host-key.js';
import { authenticated, masterFailure, verifiedKey } from '../../../src/node/ssh/openssh-log.js';

// Lines as OpenSSH 9.2 writes them to the master's -E log at LogLevel=DEBUG1 (taken from the lab).
const FP = 'SHA256:zgsXwGXKl6QJPs27LM++H25REdwtmrrGYbRuHJpoHbM';
const subject: HostKeySubject = {
  node: 'cp-1',
  label: 'node cp-1',
  host: '10.213.0.16',
  port: 22,
  knownHostsFile: '/h/.ssh/known_hosts',
  acceptNew: false,
};
const ctx = { subject, user: 'root', proxyStderr: '' };

describe("reading the ControlMaster's log", () => {
  it('the host key OpenSSH verified, and the known_hosts line that matched', () => {
    const log = [
      'debug1: Connection established.',
      `debug1: Server host key: ssh-ed25519 ${FP}`,
      "debug1: Host '10.213.0.16' is known and matches the ED25519 host key.",
      'debug1: Found key in /h/.ssh/known_hosts:3',
      'Authenticated to 10.213.0.16 ([10.213.0.16]:22) using "publickey".',
    ].join('\n');
    expect(verifiedKey(log)).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: FP,
      matchedAt: '/h/.ssh/known_hosts:3',
    });
    expect(authenticated(log)).toBe(true);
    expect(authenticated(log.replace(/^Authenticated.*$/m, ''))).toBe(false);
  });

  it('a host certificate: the fingerprint of the key it certifies (stable across renewals), and its CA', () => {
    const log = [
      `debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com ${FP}, serial 0 ID "x" CA ssh-ed25519 SHA256:L09XvX0Qh90eG909mFNmodxTXvt2QL2S0k9ROrcdp6U valid from 2026-12-01T08:47:24 to 2026-12-04T08:47:24`,
      "debug1: Host '10.213.0.16' is known and matches the ED25519-CERT host certificate.",
      'debug1: Found CA key in /h/.ssh/known_hosts:1',
    ].join('\n');
    expect(verifiedKey(log)).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: FP,
      matchedAt: '/h/.ssh/known_hosts:1',
      certificate: {
        ca: 'ssh-ed25519 SHA256:L09XvX0Qh90eG909mFNmodxTXvt2QL2S0k9ROrcdp6U',
        valid: 'from 2026-12-01T08:47:24 to 2026-12-04T08:47:24',
      },
    });
  });

  // Host key and login failures: same-messages.test.ts holds them against the built-in client's.

  it('a refused login names the keys offered; connect failures read as the built-in ones', () => {
    const denied = masterFailure(
      'debug1: Offering public key: /tmp/other ED25519 SHA256:Q27Ep5iht+lclb+qm1kWEyDkm9Yf7WSIdE38i5DOx1w explicit\ndebug1: No more authentication methods to try.\nroot@10.213.0.16: Permission denied (publickey).\n',
      '',
      ctx,
    );
    expect(denied.kind).toBe('auth');
    expect(denied.message).toBe('authentication failed for root@10.213.0.16:22; tried key /tmp/other');
    const refused = masterFailure('ssh: connect to host 10.213.0.16 port 22: Connection refused\n', '', ctx);
    expect({ kind: refused.kind, message: refused.message }).toEqual({
      kind: 'unreachable',
      message: 'connect ECONNREFUSED 10.213.0.16:22',
    });
    const timedOut = masterFailure(
      'ssh: connect to host 10.213.0.16 port 22: Connection timed out\n',
      '',
      ctx,
    );
    expect({ kind: timedOut.kind, message: timedOut.message }).toEqual({
      kind: 'timeout',
      message: 'connect ETIMEDOUT 10.213.0.16:22',
    });
  });

  it("a ProxyCommand that fails says so, with the proxy's own words", () => {
    const error = masterFailure(
      'debug1: Executing proxy command: exec aws ssm start-session --target i-0abc\nkex_exchange_identification: Connection closed by remote host\nConnection closed by UNKNOWN port 65535\n',
      '',
      {
        ...ctx,
        proxyStderr: 'An error occurred (TargetNotConnected) when calling the StartSession operation\n',
        proxyCommand: 'aws ssm start-session --target i-0abc',
      },
    );
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe(
      'node cp-1: the connection through ProxyCommand aws ssm start-session --target i-0abc ended before SSH was set up: ' +
        'An error occurred (TargetNotConnected) when calling the StartSession operation ' +
        '(ssh: kex_exchange_identification: Connection closed by remote host; Connection closed by UNKNOWN port 65535)',
    );
  });
});
