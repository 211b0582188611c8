import { describe, expect, it } from 'vitest';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { clientArgs, masterArgs, settingsArgs } from '../../../src/node/ssh/openssh-args.js';

const target: NodeTarget = {
  name: 'cp-1',
  host: '10.0.0.10',
  port: 2222,
  user: 'admin',
  become: 'sudo',
  proxyJump: [],
  knownHostsFile: '/srv/fleet 100%/known_hosts',
  groups: [],
  params: {},
  source: { file: 'inventory.yaml', line: 1 },
  sshCommand: { destination: '-oProxyCommand=evil', user: 'admin' },
};
const policy = { knownHostsFile: target.knownHostsFile, acceptNewHostKeys: false, connectTimeoutSec: 10 };

const option = (args: string[], name: string) =>
  args
    .filter((a, i) => args[i - 1] === '-o' && a.startsWith(`${name}=`))
    .map((a) => a.slice(name.length + 1));

describe('the argv given to ssh', () => {
  it('host keys: strict unless --accept-new-host-keys, never off; the known_hosts file quoted, % escaped', () => {
    const strict = masterArgs(target, policy, { socket: '/tmp/k/0.s', log: '/tmp/k/0.log' });
    expect(option(strict, 'StrictHostKeyChecking')).toEqual(['yes']);
    expect(option(strict, 'UserKnownHostsFile')).toEqual(['"/srv/fleet 100%%/known_hosts"']);
    expect(option(strict, 'BatchMode')).toEqual(['yes']);
    const acceptNew = masterArgs(target, { ...policy, acceptNewHostKeys: true }, { socket: 's', log: 'l' });
    expect(option(acceptNew, 'StrictHostKeyChecking')).toEqual(['accept-new']);
    expect(acceptNew.join(' ')).not.toMatch(/StrictHostKeyChecking=no/);
  });

  it('the destination comes after --, so a hostile name is never read as an option', () => {
    for (const args of [
      settingsArgs(target, {}),
      masterArgs(target, policy, { socket: 's', log: 'l' }),
      clientArgs(target, policy, 's', 'id -u', false),
    ]) {
      const end = args.indexOf('--');
      expect(args[end + 1]).toBe('-oProxyCommand=evil');
      expect(args.slice(0, end)).not.toContain('-oProxyCommand=evil');
    }
  });

  it('a user or jump hop that would reach /bin/sh through ProxyJump= never reaches ssh, even if a reader missed it', () => {
    for (const sshCommand of [
      { destination: 'cp-1', user: 'x$(touch /tmp/pwned)' },
      { destination: 'cp-1', proxyJump: 'x$(id)@bastion:22' },
      { destination: 'cp-1', proxyJump: 'ok@bastion:22,gw;id:22' },
    ])
      expect(() => masterArgs({ ...target, sshCommand }, policy, { socket: 's', log: 'l' })).toThrow(
        /an unchecked value reached the ssh command line/,
      );
    const fine = masterArgs(
      { ...target, sshCommand: { destination: 'cp-1', user: 'admin', proxyJump: 'ops@bastion:2222' } },
      policy,
      { socket: 's', log: 'l' },
    );
    expect(option(fine, 'ProxyJump')).toEqual(['ops@bastion:2222']);
  });

  it('a command is one argv element after the destination, and a client never opens a connection of its own', () => {
    const command = `sudo -n sh -c 'cat /etc/a; echo "$x"'`;
    const args = clientArgs(target, policy, '/tmp/k/0.s', command, true);
    expect(args.slice(-2)).toEqual(['-oProxyCommand=evil', command]);
    expect(option(args, 'ProxyCommand')).toEqual(['false']);
    expect(option(args, 'ControlMaster')).toEqual(['no']);
    expect(args).not.toContain('-n');
    expect(clientArgs(target, policy, 's', 'true', false)).toContain('-n');
  });

  it('only what the inventory says goes on the command line; -F only when HOME is not the login home', () => {
    expect(settingsArgs(target, {})).toEqual(['-G', '-l', 'admin', '--', '-oProxyCommand=evil']);
    expect(
      settingsArgs(
        { ...target, sshCommand: { destination: 'cp-1', port: 22, proxyJump: '' } },
        { configFile: '/h/.ssh/config' },
      ),
    ).toEqual(['-G', '-F', '/h/.ssh/config', '-p', '22', '-o', 'ProxyJump=none', '--', 'cp-1']);
  });
});
