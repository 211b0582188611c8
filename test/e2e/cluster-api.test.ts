// Nodes from the cluster's API (issue 22): a managed control plane (the kube-apiserver simulator
// on the host, test/lab/cluster-api.ts: nobody can SSH to it) lists the lab's kubelet nodes, and
// kubemend audits them with --kubeconfig / --context and no inventory file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditReport } from '../../src/report/audit-report.js';
import { startClusterApi, type ClusterApi } from '../lab/cluster-api.js';
import { kubemend } from './cli.js';
import { waitUntil } from './helpers.js';

const info = inject('lab');

describe.skipIf(!info)('nodes from the cluster API (--kubeconfig, no inventory file)', () => {
  let dir: string;
  let home: string;
  let api: ClusterApi;
  const kubeletNodes = () => info!.nodes.filter((n) => n.role !== 'none');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-cluster-'));
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    // What an admin's ~/.ssh/config says for the fleet: user and key, nothing per node.
    writeFileSync(join(home, '.ssh', 'config'), `Host *\n  User root\n  IdentityFile ${info!.keyPath}\n`);
    api = await startClusterApi(info!);
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    kubemend(['audit', '--known-hosts', info!.knownHostsPath, '-o', 'json', ...args], {
      home,
      env: { ...env },
    });

  it('audits every node the API lists, with the cluster name from the context, no inventory file', async () => {
    const r = await audit(['--kubeconfig', api.kubeconfig]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.errors).toEqual([]);
    expect(report.nodes.map((n) => [n.node, n.host, n.reachable, n.cluster]).sort()).toEqual(
      kubeletNodes()
        .map((n) => [n.name, n.host, true, info!.name])
        .sort(),
    );
    // Read-only: can the API server reach each kubelet? (a warning where it cannot)
    const reach = (name: string) =>
      report.results
        .find((x) => x.node === name && x.control === 'kubelet-client-ca')
        ?.warnings.filter((w) => w.startsWith('the API server cannot reach this kubelet'));
    for (const node of kubeletNodes().filter((n) => n.expected['kubelet-client-ca'] === 'pass'))
      expect(reach(node.name), node.name).toEqual([]);
    // A kubeadm kubelet without a client CA (and anonymous off) refuses the API server: kubectl logs fails there today.
    if (kubeletNodes().some((n) => n.name === 'kubeadm-worker-bad'))
      expect(reach('kubeadm-worker-bad')).toEqual([
        "the API server cannot reach this kubelet: kube-apiserver → kubelet: 401 through the API server (kubeadm-worker-bad proxy/healthz: Unauthorized: the kubelet does not trust the API server's kubelet client certificate); kubectl logs/exec on kubeadm-worker-bad fail",
      ]);
    for (const node of kubeletNodes())
      expect(
        report.results.find((x) => x.node === node.name && x.control === 'kubelet-client-ca')?.status,
        node.name,
      ).toBe(node.expected['kubelet-client-ca']);
  });

  it('KUBECONFIG and --context with a bearer token; -l on the role and label selectors', async () => {
    const workers = kubeletNodes().filter((n) => n.role === 'worker');
    const left = workers[0]!;
    const r = await audit(
      ['--context', 'lab-token', '-l', `role=worker,!label:kubemend.lab/layout=${left.layout}`],
      {
        KUBECONFIG: api.kubeconfig,
      },
    );
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.nodes.map((n) => n.node).sort()).toEqual(
      workers
        .filter((n) => n.layout !== left.layout)
        .map((n) => n.name)
        .sort(),
    );
  });

  it('a user without RBAC rights gets the verb and resource to grant, before any node is contacted', async () => {
    const r = await audit(['--kubeconfig', api.kubeconfig, '--context', 'lab-forbidden']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('forbids list nodes (403 Forbidden)');
    expect(r.stderr).toContain('grant the user RBAC verb list on resource nodes');
  });

  it('an inventory node the cluster does not list is flagged; the file’s fields win for the others', async () => {
    const node = kubeletNodes()[0]!;
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `nodes:\n  ${node.name}: { host: ${node.host}, user: root }\n  gone-node: { host: 127.0.0.1, port: 1 }\n`,
    );
    const r = await audit(['--kubeconfig', api.kubeconfig, '-i', inventory, '-l', `${node.name},gone-node`]);
    expect(r.stderr).toContain(
      `warning: node gone-node (${inventory}:3) is not a node of cluster ${info!.name}: its API server does not list it`,
    );
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.nodes.find((n) => n.node === node.name)?.reachable).toBe(true);
  });

  it('reaches nodes SSM-style: the provider id through a `Host i-*` ProxyCommand', async () => {
    // The stand-in for `aws ssm start-session`: maps the instance id to the node's address.
    const map = join(dir, 'instances.json');
    writeFileSync(
      map,
      JSON.stringify(Object.fromEntries(kubeletNodes().map((n) => [api.instanceIds[n.name], n.host]))),
    );
    const proxy = join(dir, 'ssm-proxy.mjs');
    writeFileSync(
      proxy,
      [
        "import fs from 'node:fs';",
        "import net from 'node:net';",
        "const address = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))[process.argv[2]];",
        "if (!address) { process.stderr.write('no such instance\\n'); process.exit(1); }",
        'const socket = net.connect(22, address);',
        'process.stdin.pipe(socket);',
        'socket.pipe(process.stdout);',
        "socket.on('close', () => process.exit(0));",
        "socket.on('error', (e) => { process.stderr.write(e.message); process.exit(1); });",
        '',
      ].join('\n'),
    );
    const sshHome = join(dir, 'ssm-home');
    mkdirSync(join(sshHome, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(sshHome, '.ssh', 'config'),
      `Host i-*\n  User root\n  IdentityFile ${info!.keyPath}\n  ProxyCommand ${process.execPath} ${proxy} %h ${map}\n`,
    );
    // The host keys, under the names ssh now verifies them by: the instance ids.
    const keys = readFileSync(info!.knownHostsPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [host, ...key] = line.split(' ');
        const node = kubeletNodes().find((n) => n.host === host);
        return node ? `${api.instanceIds[node.name]} ${key.join(' ')}` : '';
      })
      .filter(Boolean);
    const knownHosts = join(dir, 'known_hosts_ids');
    writeFileSync(knownHosts, `${keys.join('\n')}\n`);
    const r = await kubemend(
      [
        'audit',
        '--kubeconfig',
        api.kubeconfig,
        '--node-address',
        'provider-id',
        '--known-hosts',
        knownHosts,
        '-o',
        'json',
      ],
      { home: sshHome },
    );
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.errors).toEqual([]);
    expect(report.nodes.map((n) => [n.node, n.host, n.reachable, n.transport]).sort()).toEqual(
      kubeletNodes()
        .map((n) => [n.name, api.instanceIds[n.name], true, 'openssh'])
        .sort(),
    );
  });

  it('an exec credential plugin (as aws eks get-token) runs once per command: the node list and the reach check share it', async () => {
    const token = /- name: lab-token\n {2}user: \{ token: ([0-9a-f]+) \}/.exec(
      readFileSync(api.kubeconfig, 'utf8'),
    )![1]!;
    const runs = join(dir, 'plugin-runs');
    const plugin = join(dir, 'get-token.mjs');
    writeFileSync(
      plugin,
      [
        "import { appendFileSync } from 'node:fs';",
        `appendFileSync(${JSON.stringify(runs)}, 'run\\n');`,
        'process.stdout.write(JSON.stringify({',
        "  apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential',",
        `  status: { token: ${JSON.stringify(token)}, expirationTimestamp: new Date(Date.now() + 900000).toISOString() },`,
        '}));',
        '',
      ].join('\n'),
    );
    const kubeconfig = join(dir, 'exec-kubeconfig');
    writeFileSync(
      kubeconfig,
      readFileSync(api.kubeconfig, 'utf8')
        .replace(
          /- name: lab-token\n {2}user: \{ token: [0-9a-f]+ \}/,
          `- name: lab-token\n  user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(plugin)}], interactiveMode: Never } }`,
        )
        .replace('current-context: lab', 'current-context: lab-token'),
    );
    const r = await audit(['--kubeconfig', kubeconfig]);
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.nodes.map((n) => n.reachable)).toEqual(kubeletNodes().map(() => true));
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
  });

  it('the interactive session takes its nodes from --kubeconfig as every command does', async () => {
    // A terminal: kubemend with no command in a tmux pane; the node choice is where it stops.
    const session = `kubemend-e2e-kapi-${process.pid}`;
    const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '50',
      '-c',
      dir,
      `env -i HOME=${home} PATH=/usr/bin:/bin TERM=xterm-256color ${process.execPath} ${bin} --kubeconfig ${api.kubeconfig} --known-hosts ${info!.knownHostsPath}; sleep 60`,
    );
    try {
      const screen = await waitUntil(
        'the node choice',
        async () => {
          const s = tmux('capture-pane', '-p', '-J', '-t', session);
          return s.includes('Nodes to audit') && s;
        },
        60_000,
        200,
      );
      expect(screen).toContain(`nodes: cluster ${info!.name} (context lab)`);
      // The choice shows one page: on a full lab the last nodes are below it.
      for (const node of kubeletNodes().slice(0, 3)) expect(screen).toContain(node.name);
    } finally {
      tmux('kill-session', '-t', session);
    }
  });
});
