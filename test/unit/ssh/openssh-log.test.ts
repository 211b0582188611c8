import { describe, expect, it } from 'vitest';
import type { HostKeySubject } from '../../../src/node/ssh/host-key.js';
import { authenticated, masterFailure, verifiedKey } from '../../../src/node/ssh/openssh-log.js';

// Lines as OpenSSH 9.2 writes them to the master's -E log at LogLevel=DEBUG1 (taken from the lab).
const FP = 'SHA256:zgsXwGXKl6QJPs27LM++H25REdwtmrrGYbRuHJpoHbM';
const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIMfCzn0DWH/+hsgHqn6wc0I2NSDE5cRTUu3jgbNMbEac';
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
      certificate: { ca: 'ssh-ed25519 SHA256:L09XvX0Qh90eG909mFNmodxTXvt2QL2S0k9ROrcdp6U' },
    });
  });

  it('an unknown key reads as the built-in client says it', () => {
    const log = `debug1: Server host key: ssh-ed25519 ${FP}\nNo ED25519 host key is known for 10.213.0.16 and you have requested strict checking.\nHost key verification failed.\n`;
    const error = masterFailure(log, '', ctx);
    expect(error.kind).toBe('host-key-unknown');
    expect(error.message).toBe(
      `host key of node cp-1 (10.213.0.16:22) is not known: ssh-ed25519 ${FP} is not in /h/.ssh/known_hosts (the file is missing or empty)`,
    );
    expect(error.fix).toContain('--accept-new-host-keys');
  });

  it('a changed key names the line on file and the command that removes it', () => {
    const log = `debug1: Server host key: ssh-ed25519 ${FP}\n@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n`;
    const changed = masterFailure(log, `# old\n10.213.0.16 ssh-ed25519 ${KEY}\n`, ctx);
    expect(changed.kind).toBe('host-key-changed');
    expect(changed.message).toContain(
      'REMOTE HOST IDENTIFICATION HAS CHANGED for node cp-1 (10.213.0.16:22)',
    );
    expect(changed.message).toContain(
      'a different ssh-ed25519 key for this host is on file at /h/.ssh/known_hosts:2',
    );
    expect(changed.fix).toContain('ssh-keygen -R 10.213.0.16 -f /h/.ssh/known_hosts');
  });

  it('an expired host certificate, and one signed by another CA', () => {
    const cert = `debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com ${FP}, serial 0 ID "x" CA ssh-ed25519 SHA256:L09XvX0Qh90eG909mFNmodxTXvt2QL2S0k9ROrcdp6U valid from a to b`;
    const known = `@cert-authority 10.213.0.* ssh-ed25519 ${KEY}\n`;
    const expired = masterFailure(
      `${cert}\ndebug1: Found CA key in /h/.ssh/known_hosts:1\nCertificate invalid: expired\ndebug1: No matching CA found. Retry with plain key\nHost key verification failed.\n`,
      known,
      ctx,
    );
    expect(expired.kind).toBe('host-key-unknown');
    expect(expired.message).toContain('(its certificate is invalid: expired)');
    const wrongCa = masterFailure(`${cert}\nHost key verification failed.\n`, known, ctx);
    expect(wrongCa.message).toContain(
      'its certificate is signed by CA ssh-ed25519 SHA256:L09XvX0Qh90eG909mFNmodxTXvt2QL2S0k9ROrcdp6U, which is not a @cert-authority for 10.213.0.16 in /h/.ssh/known_hosts',
    );
  });

  it('authentication failures name the keys offered; connect failures read as the built-in ones', () => {
    const denied = masterFailure(
      'debug1: Offering public key: /tmp/other ED25519 SHA256:Q27Ep5iht+lclb+qm1kWEyDkm9Yf7WSIdE38i5DOx1w explicit\ndebug1: No more authentication methods to try.\nroot@10.213.0.16: Permission denied (publickey).\n',
      '',
      ctx,
    );
    expect(denied.kind).toBe('auth');
    expect(denied.message).toBe(
      'authentication failed for root@10.213.0.16:22; tried key /tmp/other (server said: Permission denied (publickey))',
    );
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
