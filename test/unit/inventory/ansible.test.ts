import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { byName, workspace, yaml } from './workspace.js';

describe('Ansible YAML inventories', () => {
  it('reads nested children, merges a host listed in several groups, and lists its groups', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          hosts:
            lonely: { ansible_host: 10.9.9.9 }
          children:
            k8s_cluster:
              children:
                kube_control_plane:
                  hosts:
                    cp1: { ansible_host: 10.0.0.10 }
                kube_node:
                  children:
                    gpu:
                      hosts:
                        gpu1: { ansible_host: 10.0.0.30 }
                  hosts:
                    cp1:
                    w1: { ansible_host: 10.0.0.21 }
      `,
    );
    const nodes = await ws.load('hosts.yaml');
    expect(nodes.map((n) => n.name)).toEqual(['lonely', 'cp1', 'gpu1', 'w1']);
    expect(byName(nodes, 'lonely').groups).toEqual([]);
    expect(byName(nodes, 'cp1')).toMatchObject({
      host: '10.0.0.10',
      groups: ['k8s_cluster', 'kube_control_plane', 'kube_node'],
      source: { file: ws.file('hosts.yaml'), line: 9 },
    });
    expect(byName(nodes, 'gpu1').groups).toEqual(['k8s_cluster', 'kube_node', 'gpu']);
  });

  it('applies group vars from parent to child, same depth by name, and host vars win', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars: { ansible_user: everyone, ansible_port: 2200, kubemend_layout: generic }
          children:
            prod:
              vars: { ansible_user: produser }
              children:
                web:
                  vars: { ansible_user: webuser }
                  hosts:
                    w1:
                    w2: { ansible_user: w2user }
            zz_late:
              vars: { ansible_port: 2300 }
              hosts: { w1: }
            aa_early:
              vars: { ansible_port: 2100 }
              hosts: { w1: }
      `,
    );
    const nodes = await ws.load('hosts.yaml');
    // web (depth 2) beats prod (depth 1) beats all; zz_late beats aa_early at the same depth.
    expect(byName(nodes, 'w1')).toMatchObject({ user: 'webuser', port: 2300, layout: 'generic' });
    expect(byName(nodes, 'w2')).toMatchObject({ user: 'w2user', port: 2200 });
  });

  it('maps Ansible connection variables onto the node', async () => {
    const ws = await workspace();
    await ws.write(
      'inventory/hosts.yml',
      yaml`
        all:
          hosts:
            a:
              ansible_host: a.example.com
              ansible_ssh_user: deploy
              ansible_port: "2022"
              ansible_ssh_private_key_file: ../keys/a.pem
              ansible_become: "True"
              ansible_become_method: sudo
            b: { ansible_host: 10.0.0.2, ansible_user: ubuntu, ansible_become: yes, ansible_private_key_file: ~/.ssh/b }
            c: { ansible_become: false }
      `,
    );
    // Key files the inventory names must exist (exit 2 otherwise).
    await ws.write('keys/a.pem', 'key');
    await ws.sshConfig('key', 'b');
    const nodes = await ws.load('inventory/hosts.yml');
    expect(byName(nodes, 'a')).toMatchObject({
      host: 'a.example.com',
      user: 'deploy',
      port: 2022,
      identityFile: ws.file('keys/a.pem'),
      become: 'sudo',
    });
    expect(byName(nodes, 'b')).toMatchObject({
      user: 'ubuntu',
      become: 'sudo',
      identityFile: path.join(ws.home, '.ssh/b'),
    });
    expect(byName(nodes, 'c').become).toBe('none');
  });

  it('reads kubemend_role, kubemend_layout, kubemend_playbook, kubemend_params and kubemend_cluster', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          children:
            masters:
              vars: { kubemend_role: control-plane, kubemend_params: { restartTimeout: 90 }, kubemend_cluster: prod-eu }
              hosts:
                m1: { kubemend_layout: kubespray, kubemend_playbook: kubespray }
      `,
    );
    expect(byName(await ws.load('hosts.yaml'), 'm1')).toMatchObject({
      cluster: 'prod-eu',
      role: 'control-plane',
      layout: 'kubespray',
      playbook: 'kubespray',
      params: { restartTimeout: 90 },
    });
  });

  it('takes a bastion from ansible_ssh_common_args: -o ProxyJump=, -J, and the ssh -W ProxyCommand', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          hosts:
            a: { ansible_ssh_common_args: '-o ProxyJump=jump@bastion.example.com:2222 -o StrictHostKeyChecking=yes' }
            b: { ansible_ssh_common_args: '-J ops@gw1,gw2' }
            c: { ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -q -i ~/.ssh/bastion admin@203.0.113.9"' }
            d: { ansible_ssh_common_args: '-o UserKnownHostsFile=~/.ssh/lab_hosts' }
      `,
    );
    await ws.sshConfig('key', 'bastion');
    const nodes = await ws.load('hosts.yaml');
    const me = byName(nodes, 'd').user;
    expect(byName(nodes, 'a').proxyJump).toEqual([{ host: 'bastion.example.com', port: 2222, user: 'jump' }]);
    expect(byName(nodes, 'b').proxyJump).toEqual([
      { host: 'gw1', port: 22, user: 'ops' },
      { host: 'gw2', port: 22, user: me },
    ]);
    expect(byName(nodes, 'c').proxyJump).toEqual([
      { host: '203.0.113.9', port: 22, user: 'admin', identityFile: path.join(ws.home, '.ssh/bastion') },
    ]);
    expect(byName(nodes, 'd')).toMatchObject({
      proxyJump: [],
      knownHostsFile: path.join(ws.home, '.ssh/lab_hosts'),
    });
  });

  it('expands host ranges and reads host:port keys', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        webservers:
          hosts:
            web[01:03].example.com:
            db-[a:b]: { ansible_user: pg }
            jumper:5555:
      `,
    );
    const nodes = await ws.load('hosts.yaml');
    expect(nodes.map((n) => n.name)).toEqual([
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'db-a',
      'db-b',
      'jumper',
    ]);
    expect(nodes.every((n) => n.groups.join() === 'webservers')).toBe(true);
    expect(byName(nodes, 'db-b').user).toBe('pg');
    expect(byName(nodes, 'jumper').port).toBe(5555);
  });

  it('reports an unsupported become method, a typo in a kubemend_ variable and a Jinja template, with lines', async () => {
    const ws = await workspace();
    const file = await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars:
            ansible_become: true
            ansible_become_method: su
          hosts:
            a:
              kubemend_rol: worker
              ansible_host: "{{ inventory_hostname }}.lan"
            b:
              ansible_ssh_private_key: ~/.ssh/id
      `,
    );
    const { message, details } = await ws.fail('hosts.yaml');
    expect(message).toBe(`inventory ${file} has 4 problems`);
    expect(details).toEqual([
      `${file}:4: ansible_become_method 'su' is not supported — kubemend only uses sudo (sudo -n, never prompting); set ansible_become_method: sudo`,
      `${file}:7: host 'a': unknown variable 'kubemend_rol' — did you mean 'kubemend_role'?`,
      `${file}:8: host 'a': ansible_host is a Jinja template ({{ inventory_hostname }}.lan), which kubemend does not evaluate — write the resulting value literally`,
      `${file}:10: host 'b': unknown variable 'ansible_ssh_private_key' — did you mean 'ansible_ssh_private_key_file'?`,
    ]);
  });

  it('reports unknown group keys and a group that contains itself', async () => {
    const ws = await workspace();
    const file = await ws.write(
      'hosts.yaml',
      yaml`
        all:
          children:
            web:
              host:
                w1:
              children:
                web:
      `,
    );
    const { details } = await ws.fail('hosts.yaml');
    expect(details).toContain(`${file}:4: group 'web': unknown key 'host' — did you mean 'hosts'?`);
    expect(details).toContain(
      `${file}:7: group 'web' contains itself (all → web → web) — remove 'web' from the children: of 'web'`,
    );
  });

  it('reads group_vars/ and host_vars/ beside the inventory, in Ansible’s order', async () => {
    const ws = await workspace();
    await ws.write(
      'inv/hosts.yaml',
      yaml`
        all:
          children:
            web:
              vars: { ansible_port: 2200, ansible_user: from-inventory }
              hosts:
                w1: { ansible_user: w1-inventory }
                w2:
      `,
    );
    await ws.write('inv/group_vars/all.yml', 'ansible_port: 2300\nkubemend_layout: generic\n');
    await ws.write('inv/group_vars/web/10-conn.yaml', 'ansible_user: from-group-vars\n');
    await ws.write('inv/group_vars/web/vault.yml', '$ANSIBLE_VAULT;1.1;AES256\n6162\n');
    await ws.write('inv/host_vars/w2.yml', 'ansible_host: 10.0.0.22\nkubemend_rol: worker\n');
    const file = ws.file('inv/host_vars/w2.yml');
    const { details } = await ws.fail('inv/hosts.yaml');
    expect(details).toEqual([
      `${file}:2: host_vars/w2: unknown variable 'kubemend_rol' — did you mean 'kubemend_role'?`,
    ]);

    await ws.write('inv/host_vars/w2.yml', 'ansible_host: 10.0.0.22\nkubemend_role: worker\n');
    const nodes = await ws.load('inv/hosts.yaml');
    // group_vars/all beats the inventory's group vars; host vars beat group_vars.
    expect(byName(nodes, 'w1')).toMatchObject({ port: 2300, user: 'w1-inventory', layout: 'generic' });
    expect(byName(nodes, 'w2')).toMatchObject({
      port: 2300,
      user: 'from-group-vars',
      host: '10.0.0.22',
      role: 'worker',
    });
  });

  it('leaves other Ansible variables alone', async () => {
    const ws = await workspace();
    await ws.write(
      'hosts.yaml',
      yaml`
        all:
          vars:
            ansible_python_interpreter: /usr/bin/python3
            ansible_ssh_pass: secret
            kube_version: v1.29.0
          hosts:
            a:
      `,
    );
    expect(await ws.load('hosts.yaml')).toHaveLength(1);
  });
});
