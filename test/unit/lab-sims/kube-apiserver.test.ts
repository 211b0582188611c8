// The kube-apiserver simulator (node-facts §3): it refuses to start without its kubelet client
// files and otherwise answers the health endpoints.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDir, SimProcess, cmdline, freePort, httpsGet, waitForReply } from './helpers.js';

let lab: LabDir;
beforeAll(() => {
  lab = new LabDir();
});
afterAll(() => lab.cleanup());

describe('kube-apiserver simulator', () => {
  it('exits 1 when the kubelet client key is missing, naming the file', async () => {
    const cert = lab.write('pki/client.crt', 'x\n');
    const key = lab.path('pki/client.key');
    const proc = lab.run('kube-apiserver', [
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      `--kubelet-client-certificate=${cert}`,
      `--kubelet-client-key=${key}`,
    ]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr).toContain(
      `Error: failed to create kubelet client: open ${key}: no such file or directory`,
    );
  });

  it('answers /livez, /readyz, /healthz and /version without credentials; refuses other paths', async () => {
    const port = await freePort();
    const started = Date.now();
    const proc = lab.run('kube-apiserver', ['--bind-address', '127.0.0.1', '--secure-port', String(port)]);
    await waitForReply(() => httpsGet(port, '/livez'), 'livez');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500); // startup delay
    for (const p of ['/livez', '/readyz', '/healthz', '/livez/ping']) {
      expect(await httpsGet(port, p)).toEqual({ status: 200, body: 'ok' });
    }
    expect(JSON.parse((await httpsGet(port, '/version')).body).gitVersion).toBe('v1.30.0-kubemend-sim');
    expect((await httpsGet(port, '/api/v1/nodes')).status).toBe(403);
    await proc.stop();
    expect(await proc.exited).toBe(0);
  });

  it('starts with only one of the two flags (UNVERIFIED upstream) when that file exists', async () => {
    const port = await freePort();
    const cert = lab.write('pki/only.crt', 'x\n');
    const proc = lab.run('kube-apiserver', [
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--kubelet-client-certificate=${cert}`,
    ]);
    expect((await waitForReply(() => httpsGet(port, '/livez'), 'livez')).status).toBe(200);
    await proc.stop();
  });

  it('is found by name with the launcher path, the sim and the flags in its cmdline', async () => {
    const launcher = lab.launcher('kube-apiserver');
    const port = await freePort();
    const flags = ['--bind-address=127.0.0.1', `--secure-port=${port}`, '--anonymous-auth=false'];
    const proc = new SimProcess(spawn(launcher, flags, { stdio: ['ignore', 'ignore', 'pipe'] }));
    try {
      await waitForReply(() => httpsGet(port, '/livez'), 'livez');
      expect(fs.readFileSync(`/proc/${proc.pid}/comm`, 'utf8')).toBe('kube-apiserver\n');
      expect(cmdline(proc.pid)).toEqual([
        launcher,
        expect.stringMatching(/\/kube-apiserver\.mjs$/),
        ...flags,
      ]);
    } finally {
      await proc.stop();
    }
  });
});
