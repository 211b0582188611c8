import { describe, expect, it } from 'vitest';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { opensshReasons, parseSettings } from '../../../src/node/ssh/openssh-settings.js';

const target = (over: Partial<NodeTarget> = {}): NodeTarget => ({
  name: 'cp-1',
  host: '10.0.0.10',
  port: 22,
  user: 'admin',
  become: 'none',
  proxyJump: [],
  knownHostsFile: '/home/u/.ssh/known_hosts',
  groups: [],
  params: {},
  source: { file: 'inventory.yaml', line: 1 },
  ...over,
});

/** `ssh -G` output as ssh prints it, for a plain host; extra lines are appended. */
const settings = (...extra: string[]) =>
  parseSettings(
    [
      'host cp-1',
      'user admin',
      'hostname 10.0.0.10',
      'port 22',
      'canonicalizehostname false',
      'gssapiauthentication no',
      'proxyjump none',
      'identityfile ~/.ssh/id_rsa',
      'identityfile ~/.ssh/id_ed25519',
      ...extra,
      '',
    ].join('\n'),
  );

const files = (contents: Record<string, string> = {}) => ({
  read: (p: string) => contents[p],
  exists: (p: string) => p in contents,
  sshHome: '/home/u',
});

describe('which nodes need the system ssh client (from ssh -G)', () => {
  it('a plain host with keys and known_hosts stays on the built-in client', () => {
    expect(opensshReasons(settings(), target(), files())).toEqual({ reasons: [], where: [] });
  });

  it('a ProxyCommand other than ssh -W changes where ssh connects', () => {
    const r = opensshReasons(settings('proxycommand aws ssm start-session --target %h'), target(), files());
    expect(r.where).toEqual(['ProxyCommand aws ssm start-session --target %h']);
  });

  it('an ssh -W ProxyCommand that kubemend followed as a jump host is not a reason', () => {
    const jumped = target({ proxyJump: [{ host: 'bastion', port: 22, user: 'gate' }] });
    expect(
      opensshReasons(settings('proxycommand ssh -W %h:%p gate@bastion'), jumped, files()).reasons,
    ).toEqual([]);
  });

  it('a Match block that changes HostName, User or Port (kubemend resolved something else)', () => {
    const r = opensshReasons(
      parseSettings('user root\nhostname 10.9.9.9\nport 2222\nproxyjump bastion\n'),
      target(),
      files(),
    );
    expect(r.where).toEqual(['ProxyJump bastion', 'HostName 10.9.9.9', 'User root', 'Port 2222']);
  });

  it('user certificates: CertificateFile, or -cert.pub beside a key, with ~ as ssh expands it', () => {
    const r = opensshReasons(
      settings('certificatefile ~/.ssh/vault-cert.pub'),
      target(),
      files({ '/home/u/.ssh/id_ed25519-cert.pub': 'ssh-ed25519-cert-v01@openssh.com AAAA' }),
    );
    expect(r.reasons).toEqual([
      'CertificateFile ~/.ssh/vault-cert.pub',
      'user certificate /home/u/.ssh/id_ed25519-cert.pub',
    ]);
    expect(r.where).toEqual([]);
  });

  it('FIDO keys, GSSAPI, PKCS11 and CanonicalizeHostname', () => {
    const r = opensshReasons(
      parseSettings(
        'identityfile ~/.ssh/id_ed25519\ngssapiauthentication yes\npkcs11provider /usr/lib/opensc-pkcs11.so\n',
      ),
      target(),
      files({ '/home/u/.ssh/id_ed25519.pub': 'sk-ssh-ed25519@openssh.com AAAA me@host' }),
    );
    expect(r.reasons).toEqual([
      'FIDO key /home/u/.ssh/id_ed25519',
      'GSSAPIAuthentication yes',
      'PKCS11Provider /usr/lib/opensc-pkcs11.so',
    ]);
    const canonical = parseSettings('canonicalizehostname yes\n');
    expect(opensshReasons(canonical, target(), files()).where).toEqual(['CanonicalizeHostname yes']);
  });

  it('host certificates: a @cert-authority line for the host (patterns and ports as OpenSSH matches them)', () => {
    const ca =
      '@cert-authority 10.0.0.* ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMfCzn0DWH/+hsgHqn6wc0I2NSDE5cRTUu3jgbNMbEac ca\n';
    const known = { '/home/u/.ssh/known_hosts': `# fleet CA\n${ca}` };
    expect(opensshReasons(settings(), target(), files(known)).reasons).toEqual([
      'host certificate (@cert-authority at /home/u/.ssh/known_hosts:2)',
    ]);
    // Port 2222 is looked up as [10.0.0.10]:2222, which the pattern does not match.
    expect(
      opensshReasons(parseSettings('port 2222\n'), target({ port: 2222 }), files(known)).reasons,
    ).toEqual([]);
  });
});
