import { describe, expect, it } from 'vitest';
import { hostKeyAlgorithms, socketErrorKind, socketErrorMessage } from '../../../src/node/ssh/connect.js';

describe('hostKeyAlgorithms', () => {
  it('asks first for the key types on file, like OpenSSH', () => {
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
    expect(hostKeyAlgorithms(['ssh-rsa']).slice(0, 4)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    const both = hostKeyAlgorithms(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(both.slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(new Set(both).size).toBe(both.length);
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])[0]).toBe('ssh-ed25519');
  });
});

describe('socket errors', () => {
  const err = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('name the host as configured, like DESIGN.md', () => {
    expect(socketErrorMessage(err('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.29:22'), '10.0.0.29', 22)).toBe(
      'connect ETIMEDOUT 10.0.0.29:22',
    );
    expect(socketErrorMessage(err('ECONNREFUSED', 'connect ECONNREFUSED 10.1.1.1:22'), 'w-1.lan', 22)).toBe(
      'connect ECONNREFUSED w-1.lan:22',
    );
    expect(socketErrorMessage(err('ENOTFOUND', 'getaddrinfo ENOTFOUND x'), 'x', 22)).toBe(
      'getaddrinfo ENOTFOUND x',
    );
    expect(socketErrorMessage(err('ECONNRESET', 'read ECONNRESET'), 'h', 2222)).toBe(
      'connection reset by h:2222',
    );
    expect(socketErrorKind('ETIMEDOUT')).toBe('timeout');
    expect(socketErrorKind('EHOSTUNREACH')).toBe('unreachable');
  });
});
