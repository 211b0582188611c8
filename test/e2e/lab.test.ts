// Proves the lab itself behaves like the nodes kubemend will meet: logins, sudo, isolation, and the
// simulated kubelet/kube-apiserver reacting to config, cert and manifest changes as the real ones
// do (node-facts.md). Every test that changes a node puts it back as it was.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../lab/exec.js';
import type { Lab } from '../lab/lab.js';
import { sshRun } from '../lab/ssh.js';
import { injectLab, shq, waitUntil } from './helpers.js';

const lab = injectLab();
const CP = 'kubeadm-cp-ok';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const MARKER = '--profiling=false';

describe.skipIf(!lab)('the lab', () => {
  const L = lab as Lab;

  /** Runs on a node and fails the test on a non-zero exit. */
  async function on(node: string, command: string): Promise<string> {
    const r = await L.ssh(node, command);
    if (r.code !== 0) throw new Error(`${node}: \`${command}\` exited ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** The newest kube-apiserver process and its arguments, as kube-bench's `ps` would see them. */
  async function apiserver(node: string): Promise<{ pid: number; args: string[] } | undefined> {
    const r = await L.ssh(
      node,
      `pid=$(pgrep -xn kube-apiserver) && echo "$pid" && tr '\\0' '\\n' < /proc/$pid/cmdline`,
    );
    if (r.code !== 0) return undefined;
    const [pid = '', ...args] = r.stdout.trim().split('\n');
    return { pid: Number(pid), args };
  }

  const livez = async (node: string) =>
    (await L.ssh(node, 'curl -skf https://127.0.0.1:6443/livez')).code === 0;
  const healthz = async (node: string) =>
    (await L.ssh(node, 'curl -sf http://127.0.0.1:10248/healthz')).stdout === 'ok';

  /** A manifest with the marker flag added after --secure-port, written atomically to `target`. */
  const writeMarkedManifest = (node: string, target: string) =>
    on(
      node,
      `sed 's|^    - --secure-port=6443$|&\\n    - ${MARKER}|' ${MANIFEST} > /root/marked.yaml && mv /root/marked.yaml ${target}`,
    );

  it('writes an inventory and known_hosts that describe every node', async () => {
    const inventory = parse(await readFile(L.inventoryPath, 'utf8')) as {
      defaults: Record<string, unknown>;
      nodes: Record<string, { host: string; groups: string[] }>;
    };
    expect(inventory.defaults).toEqual({
      user: 'root',
      port: 22,
      identityFile: L.keyPath,
      knownHostsFile: L.knownHostsPath,
    });
    const knownHosts = await readFile(L.knownHostsPath, 'utf8');
    for (const node of L.nodes) {
      expect(inventory.nodes[node.name]).toEqual({
        host: node.host,
        groups: expect.arrayContaining(['lab', node.family]),
      });
      expect(knownHosts).toMatch(new RegExp(`^${node.host.replaceAll('.', '\\.')} ssh-ed25519 \\S+$`, 'm'));
    }
  });

  it("boots each node into its layout's expected state for both controls", async () => {
    const observed = await Promise.all(
      L.nodes.map(async (node) => {
        // kubelet-client-ca: the kubelet logs its client CA controller only when a CA is in effect.
        const kubelet = await L.ssh(
          node.name,
          'systemctl is-active kubelet && journalctl -u kubelet -b --no-pager',
        );
        const ca = kubelet.code !== 0 ? 'skip' : /client-ca-bundle::/.test(kubelet.stdout) ? 'pass' : 'fail';
        // apiserver-kubelet-client-cert: the running process carries both flags.
        const p = await apiserver(node.name);
        const flags = ['--kubelet-client-certificate=', '--kubelet-client-key='];
        const cert = !p ? 'skip' : flags.every((f) => p.args.some((a) => a.startsWith(f))) ? 'pass' : 'fail';
        return { node: node.name, 'kubelet-client-ca': ca, 'apiserver-kubelet-client-cert': cert };
      }),
    );
    expect(observed).toEqual(L.nodes.map((n) => ({ node: n.name, ...n.expected })));
  });

  it('logs in as root, and as admin whose sudo -n needs no password', async () => {
    expect(await on('nokubelet', 'id -un')).toBe('root');
    const admin = await L.ssh('nokubelet', 'id -un && sudo -n id -un', { user: 'admin' });
    expect(admin).toMatchObject({ code: 0, stdout: 'admin\nroot\n', stderr: '' });
  });

  it('refuses sudo -n to nopw, whose sudo wants a password', async () => {
    const r = await L.ssh('nokubelet', 'sudo -n true', { user: 'nopw' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/a password is required/);
  });

  it('checks host keys strictly: an unknown host key is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubemend-lab-'));
    try {
      const empty = join(dir, 'known_hosts');
      await writeFile(empty, '');
      const r = await sshRun(
        { host: L.node('nokubelet').host, keyPath: L.keyPath, knownHostsPath: empty },
        'true',
      );
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(/Host key verification failed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets nodes reach each other (ProxyJump) but routes nowhere else', async () => {
    expect(await on(CP, 'ip route')).not.toMatch(/^default/m);
    const jump = L.node(CP).host;
    const target = L.node('nokubelet').host;
    const base = [
      '-F',
      '/dev/null',
      '-i',
      L.keyPath,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${L.knownHostsPath}`,
    ];
    // ProxyJump spelled as its ProxyCommand, so the jump hop uses the lab key and known_hosts too.
    const proxy = ['ssh', ...base, '-W', '%h:%p', `root@${jump}`].join(' ');
    const r = await run('ssh', [...base, '-o', `ProxyCommand=${proxy}`, `root@${target}`, 'hostname']);
    expect(r).toMatchObject({ code: 0, stdout: 'nokubelet\n' });
  });

  it('runs a kubelet that answers healthz', async () => {
    expect(await healthz(CP)).toBe(true);
    expect(await healthz('eks-al2023-dropin-bad')).toBe(true);
  });

  it('enforces client certificates on the kubelet API (10250)', async () => {
    const status = (node: string, curlArgs: string) =>
      on(node, `curl -sk -o /dev/null -w '%{http_code}' ${curlArgs} https://127.0.0.1:10250/pods`);
    const pki = '/etc/kubernetes/pki';
    // Trusted: the apiserver's kubelet client cert, signed by the CA in clientCAFile.
    expect(
      await status(
        CP,
        `--cert ${pki}/apiserver-kubelet-client.crt --key ${pki}/apiserver-kubelet-client.key`,
      ),
    ).toBe('200');
    // Untrusted: a self-signed client cert is rejected, not treated as anonymous.
    await on(
      CP,
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=intruder ' +
        '-addext extendedKeyUsage=clientAuth -keyout /tmp/intruder.key -out /tmp/intruder.crt 2>/dev/null',
    );
    try {
      expect(await status(CP, '--cert /tmp/intruder.crt --key /tmp/intruder.key')).toBe('401');
    } finally {
      await on(CP, 'rm -f /tmp/intruder.crt /tmp/intruder.key');
    }
    // No cert: anonymous is off in the kubeadm config → 401.
    expect(await status(CP, '')).toBe('401');
    // flags-bad runs on legacy flag defaults: anonymous on, AlwaysAllow, no client CA → 200.
    expect(await status('flags-bad', '')).toBe('200');
  });

  it('shows a kubelet that fails on an invalid config (restart loop), then recovers', async () => {
    // EKS AL2 unit: Restart=on-failure, RestartSec=5.
    const node = 'eks-al2-ok';
    const config = '/etc/kubernetes/kubelet/kubelet-config.json';
    const restarts = async () => Number(await on(node, 'systemctl show -p NRestarts --value kubelet'));
    const before = await restarts();
    const since = await on(node, "date '+%Y-%m-%d %H:%M:%S'");
    await on(
      node,
      `cp -p ${config} /root/kubelet-config.json.orig && printf '{ "kind": ' > ${config} && systemctl restart kubelet`,
    );
    try {
      // Type=simple: "active" while each attempt runs, "activating (auto-restart)" between them;
      // NRestarts counts the restarts systemd made on its own.
      await waitUntil(
        'kubelet restarted by systemd and waiting for the next attempt',
        async () =>
          (await restarts()) > before &&
          /activating \(auto-restart\)/.test(await on(node, 'systemctl status kubelet --no-pager || true')),
        30_000,
        200,
      );
      expect(await on(node, `journalctl -u kubelet --since ${shq(since)} --no-pager`)).toMatch(
        /failed to load kubelet config file/,
      );
    } finally {
      await on(node, `mv /root/kubelet-config.json.orig ${config} && systemctl restart kubelet`);
    }
    await waitUntil('kubelet healthz after restore', () => healthz(node), 30_000);
  });

  it('crash-loops the apiserver without its kubelet client cert, and recovers when it is back', async () => {
    const crt = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
    const first = await apiserver(CP);
    expect(first).toBeDefined();
    const since = await on(CP, "date '+%Y-%m-%d %H:%M:%S'");
    await on(CP, `mv ${crt} /root/kubelet-client.crt.moved && kill ${first?.pid}`);
    try {
      const podLog = () =>
        on(CP, `journalctl --since ${shq(since)} --no-pager -u 'kubelet-pod-kube-apiserver-*'`);
      await waitUntil(
        'the restarted apiserver to fail on the missing cert',
        async () => /failed to create kubelet client.*apiserver-kubelet-client\.crt/.test(await podLog()),
        30_000,
      );
      expect(await livez(CP)).toBe(false);
      // The kubelet keeps restarting it with a growing back-off, as for a crashing container.
      await waitUntil(
        'a second back-off',
        async () =>
          (
            (await on(CP, `journalctl -u kubelet --since ${shq(since)} --no-pager`)).match(
              /Back-off restarting failed container.*kube-apiserver/g,
            ) ?? []
          ).length >= 2,
        30_000,
      );
    } finally {
      await on(CP, `mv /root/kubelet-client.crt.moved ${crt}`);
    }
    await waitUntil('apiserver livez after the cert is back', () => livez(CP), 30_000);
  });

  it('restarts the apiserver with the new arguments when its manifest changes', async () => {
    const before = await apiserver(CP);
    expect(before?.args).not.toContain(MARKER);
    await on(CP, `cp -p ${MANIFEST} /root/kube-apiserver.yaml.orig`);
    try {
      await writeMarkedManifest(CP, MANIFEST);
      const after = await waitUntil('an apiserver with the new flag', async () => {
        const p = await apiserver(CP);
        return p && p.pid !== before?.pid && p.args.includes(MARKER) ? p : undefined;
      });
      expect(after.args).toContain(
        '--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
      );
      await waitUntil('livez', () => livez(CP));
    } finally {
      await on(CP, `mv /root/kube-apiserver.yaml.orig ${MANIFEST}`);
    }
    await waitUntil('the apiserver without the flag', async () => {
      const p = await apiserver(CP);
      return p !== undefined && !p.args.includes(MARKER);
    });
    await waitUntil('livez', () => livez(CP));
  });

  it('runs a kube-apiserver.yaml.bak left in the manifests folder as the pod', async () => {
    const bak = `${MANIFEST}.bak`;
    try {
      await writeMarkedManifest(CP, bak);
      // The .bak sorts after the .yaml and defines the same pod: it wins (node-facts §2).
      await waitUntil(
        'the apiserver from the .bak manifest',
        async () => (await apiserver(CP))?.args.includes(MARKER),
        60_000,
      );
    } finally {
      await on(CP, `rm -f ${bak}`);
    }
    await waitUntil(
      'the apiserver from the .yaml manifest',
      async () => {
        const p = await apiserver(CP);
        return p !== undefined && !p.args.includes(MARKER);
      },
      60_000,
    );
    await waitUntil('livez', () => livez(CP));
  });
});
