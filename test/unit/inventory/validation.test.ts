import { describe, expect, it } from 'vitest';
import { workspace, yaml } from './workspace.js';

/** What `kubemend` prints for an inventory: the headline, then one line per problem. */
async function problems(
  text: string,
): Promise<{ file: string; message: string; details: readonly string[] }> {
  const ws = await workspace();
  const file = await ws.write('inventory.yaml', text);
  const { message, details } = await ws.fail();
  // Paths are the temp file's; show them as a user would see them for ./inventory.yaml.
  return { file, message, details: details.map((line) => line.replace(file, 'inventory.yaml')) };
}

describe('inventory validation', () => {
  it('reports three mistakes together, each with its line and fix', async () => {
    const { file, message, details } = await problems(yaml`
      defaults:
        user: admin
      nodes:
        cp-1: { hostname: 10.0.0.10, role: control-plane }
        w-1: { host: 10.0.0.21, port: 70000 }
        w-2: { host: 10.0.0.22, become: yes }
    `);
    expect(message).toBe(`inventory ${file} has 3 problems`);
    expect(details).toEqual([
      "inventory.yaml:4: node 'cp-1': unknown key 'hostname' — did you mean 'host'?",
      "inventory.yaml:5: node 'w-1': port must be a number from 1 to 65535, not 70000 — write e.g. port: 22",
      "inventory.yaml:6: node 'w-2': become must be none or sudo, not 'yes' — write become: sudo (sudo runs commands with sudo -n, which never asks for a password)",
    ]);
  });

  it('reports a proxyJump loop together with the other mistakes', async () => {
    const { details } = await problems(yaml`
      nodes:
        a: { host: 10.0.0.1, proxyJump: b, usr: admin }
        b: { host: 10.0.0.2, proxyJump: a }
        c: { host: 10.0.0.3, role: boss }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'a': unknown key 'usr' — did you mean 'user'?",
      "inventory.yaml:3: proxyJump loop: a → b → a — let 'a' be reached without going back through this chain, e.g. proxyJump: none on the jump host",
      "inventory.yaml:4: node 'c': role must be control-plane or worker, not 'boss' — write role: control-plane or role: worker, or leave it out to detect it",
    ]);
  });

  it('a cluster name is a name: text that could not be one is refused with its line', async () => {
    const { details } = await problems(yaml`
      nodes:
        a: { host: 10.0.0.1, cluster: "prod eu" }
        b: { host: 10.0.0.2, cluster: [x] }
        c: { host: 10.0.0.3, cluster: prod-eu }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'a': cluster must be a cluster name (letters, digits, . _ : -, at most 63), not 'prod eu' — write cluster: prod-eu",
      expect.stringMatching(/^inventory\.yaml:3: node 'b': cluster must be text/) as unknown as string,
    ]);
  });

  it('suggests the right key for near misses', async () => {
    const { details } = await problems(yaml`
      nodes:
        a:
          host: 10.0.0.1
          identity_file: ~/.ssh/id
          proxy_jump: bastion
          knownhosts: ~/.ssh/kh
          rol: worker
          colour: blue
    `);
    expect(details).toEqual([
      "inventory.yaml:4: node 'a': unknown key 'identity_file' — did you mean 'identityFile'?",
      "inventory.yaml:5: node 'a': unknown key 'proxy_jump' — did you mean 'proxyJump'?",
      "inventory.yaml:6: node 'a': unknown key 'knownhosts' — did you mean 'knownHostsFile'?",
      "inventory.yaml:7: node 'a': unknown key 'rol' — did you mean 'role'?",
      "inventory.yaml:8: node 'a': unknown key 'colour' — use one of 'host', 'port', 'user', 'identityFile', 'become', 'proxyJump', 'knownHostsFile', 'role', 'layout', 'playbook', 'groups', 'params', 'ssh', 'cluster', 'nodeAddress'",
    ]);
  });

  it('reports wrong types', async () => {
    const { details } = await problems(yaml`
      defaults:
        port: "22"
        groups: prod
      nodes:
        a:
          host: [10.0.0.1]
          user: 42 admin
          params: [x]
          identityFile: {}
        b: 10.0.0.2
    `);
    expect(details).toEqual([
      "inventory.yaml:2: defaults: port must be a number from 1 to 65535, not '22' — write e.g. port: 22",
      "inventory.yaml:3: defaults: groups must be a list of group names, not 'prod' — write groups: [prod]",
      "inventory.yaml:6: node 'a': host must be text, not a list — write e.g. host: 10.0.0.10",
      "inventory.yaml:7: node 'a': user '42 admin' is not a user name — write only the login name, e.g. admin",
      "inventory.yaml:8: node 'a': params must be a map of playbook parameters, not a list — write e.g. params: { restartTimeout: 120 }",
      "inventory.yaml:9: node 'a': identityFile must be text, not a map — write e.g. identityFile: ~/.ssh/id_ed25519",
      "inventory.yaml:10: node 'b' must be a map of settings, not '10.0.0.2' (a host? write { host: 10.0.0.2 }) — write e.g. `cp-1: { host: 10.0.0.10, role: control-plane }`",
    ]);
  });

  it('reports a port out of range, a bad become and a bad role', async () => {
    const { details } = await problems(yaml`
      nodes:
        a: { port: 0 }
        b: { become: true }
        c: { role: master }
        d: { role: etcd }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'a': port must be a number from 1 to 65535, not 0 — write e.g. port: 22",
      "inventory.yaml:3: node 'b': become must be none or sudo, not true — write become: sudo (sudo runs commands with sudo -n, which never asks for a password)",
      "inventory.yaml:4: node 'c': role must be control-plane or worker, not 'master' — write role: control-plane",
      "inventory.yaml:5: node 'd': role must be control-plane or worker, not 'etcd' — write role: control-plane or role: worker, or leave it out to detect it",
    ]);
  });

  it('reports a duplicate node name with both lines', async () => {
    const { details } = await problems(yaml`
      nodes:
        cp-1: { host: 10.0.0.10 }
        w-1: { host: 10.0.0.21 }
        cp-1: { host: 10.0.0.11 }
    `);
    expect(details).toEqual([
      "inventory.yaml:4: duplicate node name 'cp-1' (first defined on line 2) — give each node a unique name, or merge the two entries",
    ]);
  });

  it('reports an empty nodes: section', async () => {
    expect((await problems('defaults: { user: admin }\nnodes:\n')).details).toEqual([
      'inventory.yaml:2: nodes: is empty — list at least one node, e.g. `  cp-1: { host: 10.0.0.10 }` under nodes:',
    ]);
    expect((await problems('nodes: {}\n')).details).toEqual([
      'inventory.yaml:1: nodes: is empty — list at least one node, e.g. `  cp-1: { host: 10.0.0.10 }` under nodes:',
    ]);
  });

  it('reports a proxyJump loop at the line that closes it', async () => {
    const { details } = await problems(yaml`
      nodes:
        a: { host: 10.0.0.1, proxyJump: b }
        b: { host: 10.0.0.2, proxyJump: c }
        c: { host: 10.0.0.3, proxyJump: a }
        d: { host: 10.0.0.4, proxyJump: d }
    `);
    expect(details).toEqual([
      "inventory.yaml:4: proxyJump loop: a → b → c → a — let 'a' be reached without going back through this chain, e.g. proxyJump: none on the jump host",
      "inventory.yaml:5: proxyJump loop: d → d — let 'd' be reached without going back through this chain, e.g. proxyJump: none on the jump host",
    ]);
  });

  it('reports a loop made by a defaults: proxyJump that reaches the jump host itself', async () => {
    const { details } = await problems(yaml`
      defaults:
        proxyJump: bastion
      nodes:
        bastion: { host: 203.0.113.1 }
        cp-1: { host: 10.0.0.10 }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: proxyJump loop: bastion → bastion — let 'bastion' be reached without going back through this chain, e.g. proxyJump: none on the jump host",
    ]);
  });

  it('reports a malformed proxyJump', async () => {
    const { details } = await problems(yaml`
      nodes:
        a: { proxyJump: 'bastion:99999' }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: node 'a': proxyJump 'bastion:99999' is not valid: port '99999' in 'bastion:99999' is not from 1 to 65535 — write proxyJump: [user@]host[:port][,…], e.g. admin@bastion:2222",
    ]);
  });

  it('reports YAML syntax errors at the line that opened the unclosed bracket or quote, and nothing else', async () => {
    const { message, details } = await problems(yaml`
      nodes:
        cp-1: { host: 10.0.0.10
        w-1: { host: 10.0.0.21, port: nope }
        w-2: { host: "10.0.0.22 }
    `);
    expect(message).toMatch(/has 3 problems$/);
    expect(details).toEqual([
      'inventory.yaml:2: YAML syntax error: the { opened on line 2 is not closed by line 3 — add the closing } on line 2 (a flow value must be closed before the next key)',
      'inventory.yaml:4: YAML syntax error: the " quote opened on line 4 is not closed by line 5 — add the closing " on line 4 (a flow value must be closed before the next key)',
      'inventory.yaml:4: YAML syntax error: the { opened on line 4 is not closed by line 5 — add the closing } on line 4 (a flow value must be closed before the next key)',
    ]);
  });

  it('reports a tab used for indentation at its line', async () => {
    const { details } = await problems('nodes:\n  a: { host: 10.0.0.1 }\n\tb: { host: 10.0.0.2 }\n');
    expect(details[0]).toMatch(/^inventory\.yaml:3: YAML syntax error: /);
  });

  it('reports unknown top-level keys, host in defaults, and a bad node name', async () => {
    const { details } = await problems(yaml`
      default:
        user: admin
      defaults:
        host: 10.0.0.1
      nodes:
        "bad name": {}
        ok: {}
    `);
    expect(details).toEqual([
      "inventory.yaml:1: unknown top-level key 'default' — did you mean 'defaults'?",
      'inventory.yaml:4: defaults: cannot set host (every node would dial the same machine) — set host on each node, or leave it out to use the node name',
      "inventory.yaml:6: node name 'bad name' is not usable — use letters, digits, '.', '-', '_' and ':' only (no spaces, commas, slashes, quotes or glob characters)",
    ]);
  });

  it('reports a missing nodes: section, an empty file, and a file of unknown format', async () => {
    expect((await problems('defaults: { user: admin }\n')).details).toEqual([
      'inventory.yaml:1: there is no nodes: section — add one, e.g. `nodes: { cp-1: { host: 10.0.0.10 } }`',
    ]);
    expect((await problems('# nothing yet\n')).details).toEqual([
      'inventory.yaml:1: the inventory is empty — list your nodes, e.g. `nodes: { cp-1: { host: 10.0.0.10, role: control-plane } }`',
    ]);
    expect((await problems('servers: [a, b]\n')).details).toEqual([
      'inventory.yaml:1: cannot tell the inventory format from its top-level keys (servers) — use `nodes:` (kubemend format) or `all:` with hosts:/children: (Ansible format)',
    ]);
  });

  it('says how to fix a missing inventory file', async () => {
    const ws = await workspace();
    const { message, details } = await ws.fail('inventory.yaml');
    expect(message).toBe(`inventory ${ws.file('inventory.yaml')} not found`);
    expect(details[0]).toBe(
      'use -i FILE to point at your inventory, or create ./inventory.yaml, for example:',
    );
    expect(details).toContain('  nodes:');
    expect(details).toContain('    cp-1: { host: 10.0.0.10, role: control-plane }');
  });

  it('reports an inventory that mixes both formats', async () => {
    const { details } = await problems(yaml`
      nodes: { a: {} }
      all: { hosts: { b: } }
    `);
    expect(details).toEqual([
      "inventory.yaml:2: unknown top-level key 'all' — an inventory is either kubemend format (defaults:, nodes:) or Ansible format (all:, children:), not both",
    ]);
  });
});
