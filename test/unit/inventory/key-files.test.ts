import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { byName, workspace, yaml } from './workspace.js';

describe('key files the inventory names are checked before any node (exit 2)', () => {
  it('a missing or unreadable identityFile names the file, the node(s) and the field', async () => {
    const ws = await workspace();
    const file = await ws.write(
      'inventory.yaml',
      yaml`
        defaults:
          identityFile: keys/shared
        nodes:
          a: { host: 10.0.0.1 }
          b: { host: 10.0.0.2 }
          c: { host: 10.0.0.3, identityFile: keys/dir }
          d: { host: 10.0.0.4, identityFile: keys/present }
      `,
    );
    await mkdir(ws.file('keys/dir'), { recursive: true });
    await ws.write('keys/present', 'key');
    const { details } = await ws.fail();
    expect(details.map((l) => l.replace(file, 'inventory.yaml').replaceAll(ws.dir, '.'))).toEqual([
      "inventory.yaml:2: nodes 'a', 'b': identityFile ./keys/shared does not exist — fix the path, or leave the key file out to use ssh-agent and the default ~/.ssh/id_* keys",
      "inventory.yaml:6: node 'c': identityFile ./keys/dir is a directory — fix the path, or leave the key file out to use ssh-agent and the default ~/.ssh/id_* keys",
    ]);
  });

  it('Ansible: ansible_ssh_private_key_file in group vars, and the -i of a ProxyCommand', async () => {
    const ws = await workspace();
    const file = await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars:
            ansible_ssh_private_key_file: ~/.ssh/fleet
          hosts:
            a: { ansible_host: 10.0.0.1, ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -i ~/.ssh/gone admin@203.0.113.9"' }
      `,
    );
    const { details } = await ws.fail('hosts.yaml');
    expect(details.map((l) => l.replace(file, 'hosts.yaml').replaceAll(ws.home, '~'))).toEqual([
      "hosts.yaml:3: node 'a': ansible_ssh_private_key_file ~/.ssh/fleet does not exist — fix the path, or leave the key file out to use ssh-agent and the default ~/.ssh/id_* keys",
      "hosts.yaml:5: node 'a': the -i of its ProxyCommand ~/.ssh/gone does not exist — fix the path, or leave the key file out to use ssh-agent and the default ~/.ssh/id_* keys",
    ]);
  });

  it('no key named: the default ~/.ssh/id_* keys and a missing ~/.ssh/config IdentityFile are not errors (ssh skips them too)', async () => {
    const ws = await workspace();
    await ws.sshConfig('Host *\n  IdentityFile ~/.ssh/id_work\n');
    await ws.write('inventory.yaml', 'nodes:\n  a: { host: 10.0.0.1 }\n');
    expect(byName(await ws.load(), 'a').identityFile).toBe(`${ws.home}/.ssh/id_work`);
  });
});
