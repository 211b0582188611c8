import { describe, expect, it } from 'vitest';
import {
  configFilesRead,
  deriveSettingsText,
  hostDependence,
} from '../../../src/node/ssh/openssh-config-scope.js';

const dep = (text: string) => hostDependence([{ path: 'cfg', text }]);

describe('when one ssh -G answers for every node (issue 23)', () => {
  it("Debian's ssh_config and Host * settings cannot tell destinations apart", () => {
    expect(
      dep(
        'Include /etc/ssh/ssh_config.d/*.conf\nHost *\n    SendEnv LANG LC_*\n    GSSAPIAuthentication yes\n',
      ),
    ).toBeUndefined();
    expect(dep('Host=*\n  ControlPath ~/.ssh/cm-%C\n')).toBeUndefined();
  });

  it('Host patterns, Match, canonicalization and %-tokens in what kubemend reads can', () => {
    expect(dep('Host * !bastion\n  User a\n')).toBe('cfg:1: Host * !bastion');
    expect(dep('Host *.prod\n  User a\n')).toBe('cfg:1: Host *.prod');
    expect(dep('match exec "true"\n')).toBe('cfg:1: Match');
    expect(dep('CanonicalizeHostname yes\n')).toBe('cfg:1: CanonicalizeHostname');
    expect(dep('Host *\n  IdentityFile ~/.ssh/%h\n')).toBe('cfg:2: a %-token in IdentityFile');
    expect(dep('Host *\n  HostName %h.corp\n')).toBe('cfg:2: a %-token in HostName');
    // A literal HostName sends every node to one address: ssh -G per node says so, not the share.
    expect(dep('Host *\n  HostName 192.0.2.21\n')).toBe('cfg:2: HostName');
  });

  it('the files ssh -v says it read', () => {
    expect(
      configFilesRead(
        'OpenSSH_9.2p1\ndebug1: Reading configuration data /etc/ssh/ssh_config\ndebug1: /etc/ssh/ssh_config line 21: Applying options for *\ndebug1: Reading configuration data /etc/ssh/ssh_config.d/a b.conf\n',
      ),
    ).toEqual(['/etc/ssh/ssh_config', '/etc/ssh/ssh_config.d/a b.conf']);
  });

  it('derives host and hostname, and refuses what it cannot derive', () => {
    const canary = 'host 10.0.0.1\nuser root\nhostname 10.0.0.1\nport 22\n';
    expect(deriveSettingsText(canary, '10.0.0.1', 'Cp-2.Example')).toBe(
      'host Cp-2.Example\nuser root\nhostname cp-2.example\nport 22\n',
    );
    expect(deriveSettingsText(canary, '10.0.0.1', 'admin@cp-2')).toBeUndefined();
    expect(deriveSettingsText('host a\nhostname fixed.example\n', 'a', 'b')).toBeUndefined();
    expect(deriveSettingsText('host a1\nhostname a1\ncontrolpath /run/a1.s\n', 'a1', 'b')).toBeUndefined();
  });
});
