import { userInfo } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { byName, workspace, yaml } from './workspace.js';

describe('kubemend inventory format', () => {
  it('fills in built-in defaults: port 22, the local user, no become, ~/.ssh/known_hosts', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          w-1: { host: 10.0.0.21 }
      `,
    );
    expect(await ws.load()).toEqual([
      {
        name: 'w-1',
        host: '10.0.0.21',
        port: 22,
        user: userInfo().username,
        become: 'none',
        proxyJump: [],
        knownHostsFile: path.join(ws.home, '.ssh', 'known_hosts'),
        groups: [],
        params: {},
        source: { file: ws.file('inventory.yaml'), line: 2 },
        sshCommand: { destination: '10.0.0.21' },
      },
    ]);
  });

  it('applies defaults: to every node, and a node’s own value wins', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        defaults:
          user: admin
          port: 2222
          identityFile: ~/.ssh/id_ed25519
          become: sudo
          knownHostsFile: ./known_hosts
          role: worker
          groups: [prod]
          params: { restartTimeout: 60, keep: true }
        nodes:
          cp-1: { host: 10.0.0.10, role: control-plane, user: root, groups: [cp], layout: kubeadm }
          w-1:
            host: 10.0.0.21
            port: 22
            become: none
            identityFile: keys/w1
            playbook: playbooks/custom.yaml
            params: { restartTimeout: 120 }
      `,
    );
    await ws.sshConfig('key', 'id_ed25519');
    await ws.write('keys/w1', 'key');
    const nodes = await ws.load();
    expect(byName(nodes, 'cp-1')).toMatchObject({
      host: '10.0.0.10',
      user: 'root',
      port: 2222,
      identityFile: path.join(ws.home, '.ssh', 'id_ed25519'),
      become: 'sudo',
      knownHostsFile: ws.file('known_hosts'),
      role: 'control-plane',
      layout: 'kubeadm',
      groups: ['prod', 'cp'],
      params: { restartTimeout: 60, keep: true },
    });
    expect(byName(nodes, 'w-1')).toMatchObject({
      user: 'admin',
      port: 22,
      become: 'none',
      identityFile: ws.file('keys/w1'),
      role: 'worker',
      playbook: ws.file('playbooks/custom.yaml'),
      params: { restartTimeout: 120, keep: true },
    });
  });

  it('uses the node name as host when host is not given, and keeps inventory order', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          zeta.example.com:
          alpha: { role: worker }
          mid: {}
      `,
    );
    const nodes = await ws.load();
    expect(nodes.map((n) => [n.name, n.host])).toEqual([
      ['zeta.example.com', 'zeta.example.com'],
      ['alpha', 'alpha'],
      ['mid', 'mid'],
    ]);
    expect(nodes.map((n) => n.source.line)).toEqual([2, 3, 4]);
  });

  it('leaves a playbook name alone and resolves a playbook path against the inventory', async () => {
    const ws = await workspace();
    await ws.write(
      'site/inventory.yaml',
      yaml`
        nodes:
          a: { playbook: eks }
          b: { playbook: ../books/mine.yaml }
      `,
    );
    const nodes = await ws.load('site/inventory.yaml');
    expect(byName(nodes, 'a').playbook).toBe('eks');
    expect(byName(nodes, 'b').playbook).toBe(ws.file('books/mine.yaml'));
  });

  it('--known-hosts replaces ~/.ssh/known_hosts but not a knownHostsFile the inventory sets', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          a: { host: 10.0.0.1 }
          b: { host: 10.0.0.2, knownHostsFile: ~/lab_known_hosts }
      `,
    );
    const cli = ws.file('cli_known_hosts');
    const nodes = await ws.load('inventory.yaml', { knownHostsFile: cli });
    expect(byName(nodes, 'a').knownHostsFile).toBe(cli);
    expect(byName(nodes, 'b').knownHostsFile).toBe(path.join(ws.home, 'lab_known_hosts'));

    await ws.write(
      'with-defaults.yaml',
      yaml`
      defaults: { knownHostsFile: /etc/kubemend/known_hosts }
      nodes: { a: { host: 10.0.0.1 } }
    `,
    );
    const fromDefaults = await ws.load('with-defaults.yaml', { knownHostsFile: cli });
    expect(byName(fromDefaults, 'a').knownHostsFile).toBe('/etc/kubemend/known_hosts');
  });

  it('reads YAML anchors and merge keys', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          cp-1: &cp { host: 10.0.0.10, role: control-plane, port: 2200 }
          cp-2: { <<: *cp, host: 10.0.0.11 }
      `,
    );
    expect(byName(await ws.load(), 'cp-2')).toMatchObject({
      host: '10.0.0.11',
      role: 'control-plane',
      port: 2200,
    });
  });

  it('takes proxyJump hops, outermost first, and a hop naming another node uses that node', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        defaults: { user: admin }
        nodes:
          bastion: { host: 203.0.113.5, port: 2222, user: jump, identityFile: keys/bastion }
          cp-1: { host: 10.0.0.10, proxyJump: 'bastion,ops@inner.example.com:2200' }
          w-1: { host: 10.0.0.21, proxyJump: root@bastion }
      `,
    );
    await ws.write('keys/bastion', 'key');
    const nodes = await ws.load();
    expect(byName(nodes, 'cp-1').proxyJump).toEqual([
      { host: '203.0.113.5', port: 2222, user: 'jump', identityFile: ws.file('keys/bastion') },
      { host: 'inner.example.com', port: 2200, user: 'ops' },
    ]);
    expect(byName(nodes, 'w-1').proxyJump).toEqual([
      { host: '203.0.113.5', port: 2222, user: 'root', identityFile: ws.file('keys/bastion') },
    ]);
  });

  it('goes through the jump host’s own proxyJump first', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory.yaml',
      yaml`
        nodes:
          edge: { host: 198.51.100.1, user: e }
          bastion: { host: 10.0.0.2, user: b, proxyJump: edge }
          cp-1: { host: 10.1.0.10, proxyJump: bastion }
      `,
    );
    expect(byName(await ws.load(), 'cp-1').proxyJump.map((hop) => hop.host)).toEqual([
      '198.51.100.1',
      '10.0.0.2',
    ]);
  });
});
