import { userInfo } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { byName, workspace, yaml } from './workspace.js';

const me = userInfo().username;

describe('~/.ssh/config', () => {
  it('applies HostName, User, Port and IdentityFile from a matching Host block', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host cp-1
        HostName 10.0.0.10
        User admin
        Port 2222
        IdentityFile ~/.ssh/cluster_ed25519
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        cp-1:
    `,
    );
    expect(byName(await ws.load(), 'cp-1')).toMatchObject({
      host: '10.0.0.10',
      user: 'admin',
      port: 2222,
      identityFile: path.join(ws.home, '.ssh', 'cluster_ed25519'),
    });
  });

  it('matches the node’s host, with wildcards, negation and several patterns per line', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host *.prod.example.com !db?.prod.example.com
        User produser
      Host db?.prod.example.com staging-*
        User other
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        web: { host: web1.prod.example.com }
        db: { host: db1.prod.example.com }
        st: { host: staging-3 }
        none: { host: 10.0.0.1 }
    `,
    );
    const nodes = await ws.load();
    expect(nodes.map((n) => [n.name, n.user])).toEqual([
      ['web', 'produser'],
      ['db', 'other'],
      ['st', 'other'],
      ['none', me],
    ]);
  });

  it('keeps the first value obtained, so specific blocks go before Host *', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host cp-*
        Port 2200
      Host *
        Port 2999
        User fallback
      Host cp-1
        User too-late
        HostName %h.k8s.internal
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        cp-1:
        w-1:
    `,
    );
    const nodes = await ws.load();
    expect(byName(nodes, 'cp-1')).toMatchObject({ port: 2200, user: 'fallback', host: 'cp-1.k8s.internal' });
    expect(byName(nodes, 'w-1')).toMatchObject({ port: 2999, user: 'fallback', host: 'w-1' });
  });

  it('lets values written in the inventory beat ssh config, and ssh config beat built-in defaults', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host gw.example.com
        User gwuser
      Host * !gw.example.com
        User sshuser
        Port 2222
        IdentityFile ~/.ssh/from_config
        ProxyJump gw.example.com
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      defaults: { user: admin }
      nodes:
        explicit: { host: 10.0.0.1, port: 22, identityFile: keys/explicit, proxyJump: none }
        inherits: { host: 10.0.0.2 }
    `,
    );
    await ws.write('keys/explicit', 'key');
    const nodes = await ws.load();
    expect(byName(nodes, 'explicit')).toMatchObject({
      user: 'admin',
      port: 22,
      identityFile: ws.file('keys/explicit'),
      proxyJump: [],
    });
    expect(byName(nodes, 'inherits')).toMatchObject({
      user: 'admin',
      port: 2222,
      identityFile: path.join(ws.home, '.ssh', 'from_config'),
      proxyJump: [{ host: 'gw.example.com', port: 22, user: 'gwuser' }],
    });
  });

  it('lets Ansible variables beat ssh config', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host node1
        HostName 10.1.1.1
        User cfguser
        Port 2200
    `);
    await ws.write(
      'hosts.yaml',
      yaml`
      all:
        vars: { ansible_user: ansibleuser }
        hosts:
          node1:
          node2: { ansible_host: node1, ansible_port: 22 }
    `,
    );
    const nodes = await ws.load('hosts.yaml');
    expect(byName(nodes, 'node1')).toMatchObject({ host: '10.1.1.1', user: 'ansibleuser', port: 2200 });
    expect(byName(nodes, 'node2')).toMatchObject({ host: '10.1.1.1', user: 'ansibleuser', port: 22 });
  });

  it('reads Key=value, any keyword case, quotes and comments; skips Match blocks', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      # a comment
      Match host cp-1 exec "true"
        User from-match
      HOST=cp-1
        hostname = 10.0.0.10   # trailing comment
        USER=admin
        identityfile "~/.ssh/my key"
        SomethingElse yes
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes: { cp-1: }
    `,
    );
    expect(byName(await ws.load(), 'cp-1')).toMatchObject({
      host: '10.0.0.10',
      user: 'admin',
      identityFile: path.join(ws.home, '.ssh', 'my key'),
    });
  });

  it('follows Include relative to ~/.ssh, with globs, and only within the Host block that holds it', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host special
        Include special.conf
      Host *
        Include config.d/*.conf
    `);
    await ws.sshConfig('Port 2300\nUser special\n', 'special.conf');
    await ws.sshConfig('Host b-*\n  User bee\n', 'config.d/20-b.conf');
    await ws.sshConfig('Host a-*\n  User ay\nHost b-1\n  Port 2001\n', 'config.d/10-a.conf');
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        a-1:
        b-1:
        special:
    `,
    );
    const nodes = await ws.load();
    expect(byName(nodes, 'a-1')).toMatchObject({ user: 'ay', port: 22 });
    expect(byName(nodes, 'b-1')).toMatchObject({ user: 'bee', port: 2001 });
    expect(byName(nodes, 'special')).toMatchObject({ user: 'special', port: 2300 });
  });

  it('expands %d, %h, %r and %p in IdentityFile', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host *
        IdentityFile %d/keys/%r@%h-%p
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        w: { host: 10.0.0.5, user: ops, port: 2022 }
    `,
    );
    expect(byName(await ws.load(), 'w').identityFile).toBe(path.join(ws.home, 'keys', 'ops@10.0.0.5-2022'));
  });

  it('resolves a ProxyJump host through ssh config too, and ProxyJump none turns the jump off', async () => {
    const ws = await workspace();
    await ws.sshConfig(yaml`
      Host bastion
        HostName 203.0.113.7
        User jumper
        Port 2222
        IdentityFile ~/.ssh/bastion_key
        ProxyJump none
      Host direct-*
        ProxyJump none
      Host *
        ProxyJump bastion
    `);
    await ws.write(
      'inventory.yaml',
      yaml`
      nodes:
        cp-1: { host: 10.0.0.10 }
        direct-1: { host: direct-1 }
        two: { host: 10.0.0.11, proxyJump: 'bastion,alice@10.0.0.2:2200' }
    `,
    );
    const nodes = await ws.load();
    const bastion = {
      host: '203.0.113.7',
      port: 2222,
      user: 'jumper',
      identityFile: path.join(ws.home, '.ssh', 'bastion_key'),
    };
    expect(byName(nodes, 'cp-1').proxyJump).toEqual([bastion]);
    expect(byName(nodes, 'direct-1').proxyJump).toEqual([]);
    // Only the first hop's own ProxyJump counts, as with ssh -J a,b.
    expect(byName(nodes, 'two').proxyJump).toEqual([
      bastion,
      { host: '10.0.0.2', port: 2200, user: 'alice' },
    ]);
  });

  it('follows an ssh -W ProxyCommand; any other ProxyCommand marks the node for the system ssh client', async () => {
    const ws = await workspace();
    const config = await ws.sshConfig(yaml`
      Host via-w
        ProxyCommand ssh -W %h:%p gate@gw.example.com
      Host via-nc
        ProxyCommand /usr/bin/nc -X connect -x proxy:3128 %h %p
    `);
    await ws.write('ok.yaml', 'nodes: { via-w: }\n');
    const viaW = byName(await ws.load('ok.yaml'), 'via-w');
    expect(viaW.proxyJump).toEqual([{ host: 'gw.example.com', port: 22, user: 'gate' }]);
    expect(viaW.opensshOnly).toBeUndefined();

    await ws.write('nc.yaml', 'nodes: { via-nc: }\n');
    const viaNc = byName(await ws.load('nc.yaml'), 'via-nc');
    // The built-in client must not dial the node directly instead: no hops, and only OpenSSH will do.
    expect(viaNc.proxyJump).toEqual([]);
    expect(viaNc.opensshOnly).toBe(`ProxyCommand /usr/bin/nc -X connect -x proxy:3128 %h %p (${config}:4)`);
    expect(viaNc.sshCommand).toEqual({ destination: 'via-nc' });
  });

  it('reports a ProxyJump loop made by Host * and a bad Port, at their ssh config lines', async () => {
    const ws = await workspace();
    const config = await ws.sshConfig(yaml`
      Host cp-1
        Port ssh-port
      Host *
        ProxyJump bastion
    `);
    const inventory = await ws.write('inventory.yaml', 'nodes: { cp-1: }\n');
    const { details } = await ws.fail();
    expect(details).toEqual([
      `${config}:2: Port 'ssh-port' is not a number from 1 to 65535 — fix the Port line, e.g. Port 22`,
      `${config}:4: proxyJump loop: bastion → bastion — keep the jump host out of that Host block (e.g. Host * !bastion) or give it ProxyJump none`,
    ]);
    expect(inventory).toBeTruthy();
  });

  it('ignores a missing ssh config file', async () => {
    const ws = await workspace();
    await ws.write('inventory.yaml', 'nodes: { a: { host: 10.0.0.1 } }\n');
    const nodes = await ws.load('inventory.yaml', { sshConfigPath: ws.file('nope/config') });
    expect(byName(nodes, 'a')).toMatchObject({ host: '10.0.0.1', port: 22, user: me });
  });
});
