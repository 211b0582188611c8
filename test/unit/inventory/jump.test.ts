import { describe, expect, it } from 'vitest';
import { parseProxyCommand, parseProxyJump, parseSshArgs } from '../../../src/inventory/jump.js';
import { expandHostPattern, splitHostPort } from '../../../src/inventory/host-range.js';

describe('ProxyJump specs', () => {
  it('reads [user@]host[:port] hops, ssh:// and bracketed IPv6', () => {
    expect(parseProxyJump('a, bob@b:2222 ,ssh://c@[fd00::1]:22,fd00::2')).toEqual({
      hops: [
        { host: 'a' },
        { host: 'b', user: 'bob', port: 2222 },
        { host: 'fd00::1', user: 'c', port: 22 },
        { host: 'fd00::2' },
      ],
    });
    expect(parseProxyJump('None')).toEqual({ hops: [] });
    expect(parseProxyJump('a,,b')).toEqual({ error: 'a hop is empty' });
    expect(parseProxyJump('@b')).toEqual({ error: "'@b' has an empty user" });
  });

  it('reads ProxyJump, -J and UserKnownHostsFile out of ssh arguments', () => {
    expect(parseSshArgs('-o StrictHostKeyChecking=yes -oProxyJump=a -J b')).toEqual({
      proxy: { kind: 'jump', value: 'a' },
    });
    expect(parseSshArgs('-J b -o "ProxyJump a"')).toEqual({ proxy: { kind: 'jump', value: 'b' } });
    expect(parseSshArgs("-o 'UserKnownHostsFile=/tmp/kh /tmp/kh2'")).toEqual({ knownHostsFile: '/tmp/kh' });
    expect(parseSshArgs('-o "ProxyCommand=ssh -W %h:%p gw"')).toEqual({
      proxy: { kind: 'command', value: 'ssh -W %h:%p gw' },
    });
    expect(parseSshArgs('-o "ProxyJump=a')).toEqual({ error: 'a " quote is not closed' });
  });

  it('understands the ssh -W and ssh … nc %h %p ProxyCommands, and nothing else', () => {
    expect(parseProxyCommand('ssh -W %h:%p -q -p 2222 -l ops -i ~/.ssh/gw gw.example.com')).toEqual({
      hop: { host: 'gw.example.com', port: 2222, user: 'ops' },
      identityFile: '~/.ssh/gw',
    });
    expect(parseProxyCommand('/usr/bin/ssh -qT admin@gw nc %h %p')).toEqual({
      hop: { host: 'gw', user: 'admin' },
    });
    expect(parseProxyCommand('ssh gw')).toHaveProperty('error');
    expect(parseProxyCommand('corkscrew proxy 8080 %h %p')).toHaveProperty('error');
  });
});

describe('Ansible host patterns', () => {
  it('expands numeric and alphabetic ranges, with width and step', () => {
    expect(expandHostPattern('web[01:03].lan')).toEqual(['web01.lan', 'web02.lan', 'web03.lan']);
    expect(expandHostPattern('n[1:10:4]')).toEqual(['n1', 'n5', 'n9']);
    expect(expandHostPattern('db-[a:c]-[1:2]')).toEqual([
      'db-a-1',
      'db-a-2',
      'db-b-1',
      'db-b-2',
      'db-c-1',
      'db-c-2',
    ]);
    expect(expandHostPattern('plain')).toEqual(['plain']);
    expect(expandHostPattern('w[3:1]')).toEqual({ error: '[3:1] ends before it starts' });
    expect(expandHostPattern('w[01:100]')).toEqual({
      error: '[01:100] must give both ends the same number of digits',
    });
  });

  it('splits host:port but leaves IPv6 addresses alone', () => {
    expect(splitHostPort('jumper:5555')).toEqual({ name: 'jumper', port: 5555 });
    expect(splitHostPort('web[01:02]:2222')).toEqual({ name: 'web[01:02]', port: 2222 });
    expect(splitHostPort('fd00::1')).toEqual({ name: 'fd00::1' });
  });
});
