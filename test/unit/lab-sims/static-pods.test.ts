// The kubelet simulator's static pods (node-facts §2): which files count, which one wins,
// restarts on change, adoption across kubelet restarts, and the crash loop.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabDir, cmdline, freePort, httpsGet, isAlive, startKubelet, waitFor } from './helpers.js';

let lab: LabDir;
beforeEach(() => {
  lab = new LabDir();
  fs.mkdirSync(lab.path('manifests'));
});
afterEach(() => lab.cleanup());

function pod(name: string, command: string[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'kube-system' },
    spec: { containers: [{ name, image: `registry.k8s.io/${name}:v1.30.0`, command }] },
  });
}

const kubeletArgs = () => ['--pod-manifest-path', lab.path('manifests'), '--file-check-frequency', '1s'];

const podWithPid = (prefix: string, notPid?: number) =>
  waitFor(() => {
    const record = lab.pod(prefix);
    return record?.pid && record.pid !== notPid && isAlive(record.pid) ? record : undefined;
  }, `pod ${prefix}`);

describe('static pods', () => {
  it('starts a pod, replaces it when the manifest changes, ignores dot-files, stops it when the file goes', async () => {
    lab.write('manifests/sleeper.yaml', pod('sleeper', ['sleep', '301']));
    lab.write('manifests/.ghost.yaml.swp', pod('ghost', ['sleep', '309']));
    const kubelet = await startKubelet(lab, kubeletArgs());
    const first = await podWithPid('sleeper-node-1');
    expect(first.key).toBe('kube-system/sleeper-node-1');
    expect(cmdline(first.pid!)).toEqual(['sleep', '301']);

    lab.write('manifests/sleeper.yaml', pod('sleeper', ['sleep', '302']));
    const second = await podWithPid('sleeper-node-1', first.pid!);
    expect(cmdline(second.pid!)).toEqual(['sleep', '302']);
    expect(isAlive(first.pid!)).toBe(false);

    expect(kubelet.proc.stderr).toMatch(
      /"Killed static pod" pod="kube-system\/sleeper-node-1" reason="manifest changed"/,
    );

    // Dot-files count neither at a relist nor as an inotify event (kubemend's temp files are dot-files).
    lab.write('manifests/.kube-apiserver.yaml.tmp', pod('ghost', ['sleep', '310']));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(lab.pod('ghost')).toBeUndefined();

    fs.rmSync(lab.path('manifests/sleeper.yaml'));
    await waitFor(() => (!isAlive(second.pid!) && !lab.pod('sleeper')) || undefined, 'pod stopped');
  });

  it('keeps the pod for a comment-only edit (the hash covers the decoded pod)', async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: quiet\nspec:\n  containers:\n  - name: quiet\n    image: x\n    command: [sleep, "303"]\n`;
    lab.write('manifests/quiet.yaml', yaml);
    const kubelet = await startKubelet(lab, kubeletArgs());
    const before = await podWithPid('quiet');
    lab.write('manifests/quiet.yaml', `# reviewed\n${yaml}`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // an event and a relist
    expect(lab.pod('quiet')?.pid).toBe(before.pid);
    expect(kubelet.proc.stderr).not.toContain('manifest changed');
  });

  it('lets kube-apiserver.yaml.bak win over kube-apiserver.yaml (same pod name, sorts last)', async () => {
    lab.write('manifests/kube-apiserver.yaml', pod('kube-apiserver', ['sleep', '401']));
    lab.write('manifests/kube-apiserver.yaml.bak', pod('kube-apiserver', ['sleep', '402']));
    await startKubelet(lab, kubeletArgs());
    const record = await podWithPid('kube-apiserver');
    expect(record.file).toBe(lab.path('manifests/kube-apiserver.yaml.bak'));
    expect(cmdline(record.pid!)).toEqual(['sleep', '402']);
    expect(lab.podRecords()).toHaveLength(1);
  });

  it('simulates a pod whose binary is not on the node, and skips a file that does not parse', async () => {
    lab.write('manifests/etcd.yaml', pod('etcd', ['etcd-not-installed-here', '--data-dir=/var/lib/etcd']));
    lab.write('manifests/broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: [\n');
    const kubelet = await startKubelet(lab, kubeletArgs());
    const record = await waitFor(() => lab.pod('etcd'), 'etcd record');
    expect(record.binary).toBeNull();
    expect(record.pid).toBeNull();
    expect(kubelet.proc.stderr).toMatch(/simulating it without a process.*etcd-not-installed-here/);
    expect(kubelet.proc.stderr).toMatch(/Could not process manifest file.*broken.yaml/);
  });

  it('adopts a pod with an unchanged manifest after a kubelet restart and replaces a changed one', async () => {
    lab.write('manifests/keep.yaml', pod('keep', ['sleep', '501']));
    lab.write('manifests/change.yaml', pod('change', ['sleep', '502']));
    const first = await startKubelet(lab, kubeletArgs());
    const keep = await podWithPid('keep');
    const change = await podWithPid('change');
    await first.proc.stop();
    expect(isAlive(keep.pid!) && isAlive(change.pid!)).toBe(true); // pods outlive the kubelet

    lab.write('manifests/change.yaml', pod('change', ['sleep', '503']));
    const second = await startKubelet(lab, kubeletArgs());
    const changed = await podWithPid('change', change.pid!);
    expect(cmdline(changed.pid!)).toEqual(['sleep', '503']);
    expect(lab.pod('keep')?.pid).toBe(keep.pid);
    expect(isAlive(keep.pid!)).toBe(true);
    expect(second.proc.stderr).toMatch(/Adopted static pod.*keep-node-1/);
  });
});

describe('kube-apiserver as a static pod', () => {
  it(
    'crash-loops with growing back-off while its kubelet client cert is missing, then recovers',
    { timeout: 30_000 },
    async () => {
      const launcher = lab.launcher('kube-apiserver');
      const securePort = await freePort();
      const flags = [
        '--bind-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--kubelet-client-certificate=${lab.path('pki/apiserver-kubelet-client.crt')}`,
        `--kubelet-client-key=${lab.path('pki/apiserver-kubelet-client.key')}`,
      ];
      lab.write('manifests/kube-apiserver.yaml', pod('kube-apiserver', [launcher, ...flags]));
      const kubelet = await startKubelet(lab, kubeletArgs());

      await kubelet.proc.waitForLog(/backOff="2s"/, 15_000);
      expect(kubelet.proc.stderr).toMatch(
        /"Container exited" pod="kube-system\/kube-apiserver-node-1".*exitCode=1/,
      );
      expect(kubelet.proc.stderr.indexOf('backOff="1s"')).toBeLessThan(
        kubelet.proc.stderr.indexOf('backOff="2s"'),
      );
      const podLog = fs.readFileSync(lab.path('state/kube-system_kube-apiserver-node-1.log'), 'utf8');
      expect(podLog).toContain(
        `Error: failed to create kubelet client: open ${lab.path('pki/apiserver-kubelet-client.crt')}: no such file or directory`,
      );

      lab.write('pki/apiserver-kubelet-client.crt', 'not checked\n');
      lab.write('pki/apiserver-kubelet-client.key', 'not checked\n');
      const livez = await waitFor(
        () => httpsGet(securePort, '/livez').catch(() => undefined),
        'apiserver livez',
        15_000,
      );
      expect(livez).toEqual({ status: 200, body: 'ok' });
      const record = await podWithPid('kube-apiserver');
      expect(fs.readFileSync(`/proc/${record.pid}/comm`, 'utf8')).toBe('kube-apiserver\n');
      expect(cmdline(record.pid!)).toEqual([
        launcher,
        expect.stringMatching(/kube-apiserver\.mjs$/),
        ...flags,
      ]);
    },
  );
});
