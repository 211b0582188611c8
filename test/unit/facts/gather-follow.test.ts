import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeletClientCa } from '../../../src/controls/kubelet-client-ca/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import { collectFacts } from '../../../src/node/gather.js';
import type { ExecResult } from '../../../src/node/ssh/index.js';
import { makePki } from '../support/certs.js';
import { fixture } from '../support/fake-node.js';

const exec = promisify(execFile);
const config = (extra: string) =>
  `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n${extra}`;

/**
 * The real gather script, run here under sh against a process named kubelet (a copy of dash that
 * waits on its stdin), started in its own working directory with relative paths, as a kubelet can
 * be. Only that process is kept from the output: other kubelets on this machine (the lab's) would
 * otherwise take part.
 */
describe('gather follows relative paths from where the kubelet resolves them', () => {
  let root = '';
  let kubelet: ChildProcess;
  let runs = 0;
  let printed = '';
  let pki: ReturnType<typeof makePki>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'km-follow-'));
    const etc = join(root, 'etc');
    for (const d of ['bin', 'etc/pki', 'etc/manifests', 'etc/drop.d', 'elsewhere'])
      mkdirSync(join(root, d), { recursive: true });
    writeFileSync(
      join(etc, 'config.yaml'),
      config('staticPodPath: manifests\nauthentication:\n  x509:\n    clientCAFile: pki/ca.crt\n'),
    );
    pki = makePki();
    writeFileSync(join(etc, 'pki/ca.crt'), pki.caCrt);
    writeFileSync(join(etc, 'manifests/kube-apiserver.yaml'), fixture('kubeadm/kube-apiserver.yaml'));
    writeFileSync(join(etc, 'drop.d/10-a.conf'), config('readOnlyPort: 0\n'));
    // The kubelet reads every non-directory entry that ends in .conf, symlinks included.
    writeFileSync(join(root, 'elsewhere/x.conf'), config('authentication:\n  x509:\n    clientCAFile: ""\n'));
    symlinkSync(join(root, 'elsewhere/x.conf'), join(etc, 'drop.d/20-link.conf'));
    copyFileSync('/bin/dash', join(root, 'bin/kubelet'));
    kubelet = spawn(
      join(root, 'bin/kubelet'),
      [
        '-c',
        'read x',
        'kubelet',
        '--config=config.yaml',
        '--config-dir=drop.d',
        `--kubeconfig=${etc}/kubelet.conf`,
      ],
      {
        cwd: etc,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    // The node's kubelet runs as root in kubelet.service (src/node/scripts/lib/proc-identity.sh): the
    // script sees this process through a /proc of its own, the real files and kubelet.service's cgroup.
    const dir = join(root, 'proc', String(kubelet.pid));
    mkdirSync(dir, { recursive: true });
    for (const f of ['comm', 'status', 'cmdline']) symlinkSync(`/proc/${kubelet.pid}/${f}`, join(dir, f));
    symlinkSync(etc, join(dir, 'cwd'));
    writeFileSync(join(dir, 'cgroup'), '0::/system.slice/kubelet.service\n');
  });

  afterAll(() => {
    kubelet.kill();
    rmSync(root, { recursive: true, force: true });
  });

  const run = async (command: string): Promise<ExecResult> => {
    runs++;
    const own = command.replace('\nKUBE_PROC=/proc\n', `\nKUBE_PROC=${root}/proc\n`);
    expect(own).not.toBe(command);
    const { stdout, stderr } = await exec('sh', ['-c', own], { maxBuffer: 1 << 26 });
    printed += stdout;
    // Keep only our kubelet's PROC block.
    const kept = stdout.replace(/^KM PROC (\d+) [^\n]*\n[\s\S]*?^KM END\n/gm, (block, pid: string) =>
      Number(pid) === kubelet.pid ? block : '',
    );
    return { code: 0, stdout: kept, stderr, truncated: false };
  };

  it("reads --config against the working directory and the paths inside it against the file's directory", async () => {
    runs = 0;
    const { facts } = await collectFacts(run);
    const model = nodeModel(facts);
    const etc = join(root, 'etc');
    expect(model.kubelet.process?.pid).toBe(kubelet.pid);
    expect(model.kubelet.config?.path).toBe(join(etc, 'config.yaml'));
    expect(model.kubelet.configDir?.dropIns.map((d) => d.path)).toEqual([
      join(etc, 'drop.d/10-a.conf'),
      join(etc, 'drop.d/20-link.conf'),
    ]);
    expect(model.kubelet.staticPodPath?.value).toBe(join(etc, 'manifests'));
    expect(model.apiserver.manifest?.path).toBe(join(etc, 'manifests/kube-apiserver.yaml'));
    expect(runs).toBeLessThanOrEqual(3);

    // The symlinked drop-in empties clientCAFile and sorts last: it wins.
    const result = kubeletClientCa.check(model, new Date());
    expect(result.status).toBe('fail');
    expect(result.reason).toContain(join(etc, 'drop.d/20-link.conf'));
  });

  it('without the symlinked drop-in, the relative clientCAFile is found and read: pass', async () => {
    rmSync(join(root, 'etc/drop.d/20-link.conf'));
    const { facts } = await collectFacts(run);
    const model = nodeModel(facts);
    const result = kubeletClientCa.check(model, new Date());
    expect(result.status).toBe('pass');
    expect(result.evidence.map((e) => e.value)).toContain(join(root, 'etc/pki/ca.crt'));
    expect(facts.files.get(join(root, 'etc/pki/ca.crt'))?.content).toContain('BEGIN CERTIFICATE');
  });

  it('reads a CA whose path has a space in it (a quoted YAML value)', async () => {
    const etc = join(root, 'etc');
    const spaced = join(etc, 'pki/cluster ca.crt');
    writeFileSync(spaced, pki.caCrt);
    writeFileSync(
      join(etc, 'config.yaml'),
      config(`staticPodPath: manifests\nauthentication:\n  x509:\n    clientCAFile: "${spaced}"\n`),
    );
    try {
      const { facts } = await collectFacts(run);
      const result = kubeletClientCa.check(nodeModel(facts), new Date());
      expect(result.status).toBe('pass');
      expect(result.evidence.map((e) => e.value)).toContain(spaced);
    } finally {
      writeFileSync(
        join(etc, 'config.yaml'),
        config('staticPodPath: manifests\nauthentication:\n  x509:\n    clientCAFile: pki/ca.crt\n'),
      );
    }
  });

  it("warns when the client CA lacks the cluster CA of the kubelet's kubeconfig, and reads nothing else from it", async () => {
    const kubeconfig = (cluster: string) =>
      `apiVersion: v1\nclusters:\n- cluster:\n    ${cluster}\n    server: https://10.0.0.1:6443\n  name: k\nusers:\n- name: node\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: U0VDUkVULUtFWQ==\n`;
    const conf = join(root, 'etc/kubelet.conf');
    writeFileSync(
      conf,
      kubeconfig(`certificate-authority-data: ${Buffer.from(pki.otherCaCrt).toString('base64')}`),
    );
    printed = '';
    const other = kubeletClientCa.check(nodeModel((await collectFacts(run)).facts), new Date());
    expect(other.status).toBe('pass');
    expect(other.warnings.join()).toMatch(
      /does not hold the cluster CA that the kubelet's kubeconfig .*kubelet.conf trusts/,
    );
    // The private key in the same file never leaves the node.
    expect(printed).not.toContain('U0VDUkVULUtFWQ==');
    expect(printed).not.toContain('client-key-data');

    writeFileSync(conf, kubeconfig(`certificate-authority: "${join(root, 'etc/pki/ca.crt')}"`));
    const same = kubeletClientCa.check(nodeModel((await collectFacts(run)).facts), new Date());
    expect(same.status).toBe('pass');
    expect(same.warnings).toEqual([]);
  });
});
