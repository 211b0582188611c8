import { describe, expect, it } from 'vitest';
import { byName, workspace, yaml } from './workspace.js';

/** The lines `kubemend` prints for an inventory it refuses (exit 2), with the temp paths made short. */
async function refused(
  inventory: string,
  sshConfig?: string,
  name = 'inventory.yaml',
): Promise<readonly string[]> {
  const ws = await workspace();
  const file = await ws.write(name, inventory);
  const config = sshConfig === undefined ? undefined : await ws.sshConfig(sshConfig);
  const { details } = await ws.fail(name);
  return details.map((line) => line.replace(file, name).replace(config ?? '\0', '~/.ssh/config'));
}

describe('inventory values that would reach a shell are refused by kubemend itself (exit 2)', () => {
  it('a proxyJump hop whose user holds $(…) is refused, naming the file, node and field', async () => {
    const details = await refused(yaml`
      nodes:
        a: { host: 10.0.0.1, proxyJump: 'x$(touch /tmp/pwned)@bastion' }
        b: { host: 10.0.0.2, proxyJump: 'x$(id)@bastion' }
        c: { host: 10.0.0.3, proxyJump: 'ok@bastion,x;id@gw' }
        d: { host: 10.0.0.4, proxyJump: '[bastion]:22' }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'a': proxyJump 'x$(touch /tmp/pwned)@bastion' is not valid: 'x$(touch /tmp/pwned)@bastion' contains a space — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
      "inventory.yaml:3: node 'b': proxyJump 'x$(id)@bastion' is not valid: user 'x$(id)' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
      "inventory.yaml:4: node 'c': proxyJump 'ok@bastion,x;id@gw' is not valid: user 'x;id' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
      "inventory.yaml:5: node 'd': proxyJump '[bastion]:22' is not valid: '[bastion]' in '[bastion]:22' is not an IPv6 address (only those are written in brackets) — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
    ]);
  });

  it('host and user fields: shell words, option-like values and odd names are refused', async () => {
    const details = await refused(yaml`
      defaults:
        user: '-oProxyCommand=sh'
      nodes:
        a: { host: '$(id)' }
        b: { host: '-oProxyCommand=touch', user: admin }
        c: { host: 'a..b', user: 'x|id' }
        d: { host: 10.0.0.4, user: admin, proxyJump: 'admin@bastion$(id)' }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: defaults: user '-oProxyCommand=sh' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write only the login name, e.g. admin",
      "inventory.yaml:4: node 'a': host '$(id)' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — write a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address",
      "inventory.yaml:5: node 'b': host '-oProxyCommand=touch' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — write a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address",
      "inventory.yaml:6: node 'c': host 'a..b' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — write a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address",
      "inventory.yaml:6: node 'c': user 'x|id' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write only the login name, e.g. admin",
      "inventory.yaml:7: node 'd': proxyJump 'admin@bastion$(id)' is not valid: host 'bastion$(id)' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
    ]);
  });

  it('a node without a host is dialled by its name, so the name must be a host name', async () => {
    const details = await refused(yaml`
      nodes:
        "cp$(id)": { user: admin }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'cp$(id)' has no host, so its name is dialled, and 'cp$(id)' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — give the node a host: field",
    ]);
  });

  it('~/.ssh/config HostName, User and ProxyJump are held to the same rules, naming the config line and the node', async () => {
    const details = await refused(
      yaml`
        nodes:
          a: { host: cp-a }
          b: { host: cp-b }
      `,
      yaml`
        Host cp-a
          HostName 10.0.0.1$(id)
          User x$(id)
        Host cp-b
          ProxyJump x$(id)@bastion
      `,
    );
    expect(details).toEqual([
      "~/.ssh/config:2: node 'a': HostName '10.0.0.1$(id)' is not a host name or address (a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address) — write a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address",
      "~/.ssh/config:3: node 'a': User 'x$(id)' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write a login name: letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-'",
      "~/.ssh/config:5: ProxyJump 'x$(id)@bastion' is not valid: user 'x$(id)' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write ProxyJump [user@]host[:port][,…]",
    ]);
  });

  it('a jump host named in the inventory but resolved through ~/.ssh/config is checked too', async () => {
    const details = await refused(
      yaml`
        nodes:
          a: { host: 10.0.0.1, proxyJump: bastion }
      `,
      yaml`
        Host bastion
          HostName gw$(id)
          User x$(id)
      `,
    );
    expect(details).toEqual([
      expect.stringMatching(
        /^~\/\.ssh\/config:2: node 'a': jump host 'bastion': HostName 'gw\$\(id\)' is not a host name/,
      ),
      expect.stringMatching(
        /^~\/\.ssh\/config:3: node 'a': jump host 'bastion': User 'x\$\(id\)' is not a user name/,
      ),
    ]);
  });

  it('Ansible: ansible_user, ansible_host and a -o ProxyJump= in ansible_ssh_common_args', async () => {
    const details = await refused(
      yaml`
        all:
          hosts:
            a: { ansible_host: 10.0.0.1, ansible_user: 'x$(id)' }
            b: { ansible_host: '10.0.0.2;id' }
            c: { ansible_host: 10.0.0.3, ansible_ssh_common_args: '-o ProxyJump=x$(id)@bastion' }
      `,
      undefined,
      'hosts.yaml',
    );
    expect(details).toEqual([
      "hosts.yaml:3: host 'a': ansible_user 'x$(id)' is not a user name (letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-') — write only the login name, e.g. admin",
      expect.stringMatching(
        /^hosts\.yaml:4: host 'b': ansible_host '10\.0\.0\.2;id' is not a host name or address/,
      ),
      expect.stringMatching(
        /^hosts\.yaml:5: host 'c': ansible_ssh_common_args 'x\$\(id\)@bastion' is not valid: user 'x\$\(id\)' is not a user name/,
      ),
    ]);
  });

  it('a ProxyCommand whose -l or -o User holds $(…): refused, not run through ProxyJump= by /bin/sh', async () => {
    const details = await refused(
      yaml`
        all:
          hosts:
            a:
              ansible_host: 10.0.0.1
              ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -l x$(touch$\{IFS}/tmp/pwned-km) 127.0.0.1"'
            b:
              ansible_host: 10.0.0.2
              ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -oUser=y$(id) bastion"'
      `,
      undefined,
      'hosts.yaml',
    );
    expect(details).toEqual([
      expect.stringMatching(
        /^hosts\.yaml:\d+: host 'a': .*-l \/ -o User: 'x\$\(touch\$\{IFS\}\/tmp\/pwned-km\)' is not a user name/,
      ),
      expect.stringMatching(/^hosts\.yaml:\d+: host 'b': .*-l \/ -o User: 'y\$\(id\)' is not a user name/),
    ]);
  });

  it('keeps every real-world form working: DNS names, IPv4, IPv6 (bracketed in jumps), cloud ids, $ users', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          a: { host: node-1.prod.example.com., user: first.last }
          b: { host: 2001:db8::10, user: 'svc_k8s$', proxyJump: 'admin@[2001:db8::1]:2222,ops@bastion-2.example.com' }
          c: { host: 'fe80::1%eth0', user: _ops }
          d: { host: i-0abc123def4567890, user: ec2-user, proxyJump: none }
          e: { host: 203.0.113.7, port: 2222, proxyJump: 'jump_host:22' }
      `,
    );
    const nodes = await ws.load();
    expect(byName(nodes, 'b').proxyJump).toEqual([
      { host: '2001:db8::1', port: 2222, user: 'admin' },
      expect.objectContaining({ host: 'bastion-2.example.com', port: 22, user: 'ops' }),
    ]);
    expect(byName(nodes, 'c').host).toBe('fe80::1%eth0');
    expect(byName(nodes, 'd').host).toBe('i-0abc123def4567890');
  });
});
