// The kubelet simulator's servers and client authentication (node-facts §4).
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Certs,
  LabDir,
  type RunningKubelet,
  cmdline,
  httpGet,
  httpsGet,
  makeCerts,
  startKubelet,
  waitFor,
} from './helpers.js';

const HEAD = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';

let lab: LabDir;
let certs: Certs;

beforeAll(() => {
  lab = new LabDir();
  certs = makeCerts(lab.path('pki'));
});
afterAll(() => lab.cleanup());

function kubeadmLike(name: string, anonymous: boolean, caFile = certs.ca): string {
  return lab.write(
    `${name}.yaml`,
    `${HEAD}authentication:\n  anonymous:\n    enabled: ${anonymous}\n  x509:\n    clientCAFile: ${caFile}\nauthorization:\n  mode: Webhook\n`,
  );
}

describe('kubelet with a client CA, anonymous off, Webhook authz (kubeadm)', () => {
  let kubelet: RunningKubelet;
  beforeAll(async () => {
    kubelet = await startKubelet(lab, ['--config', kubeadmLike('kubeadm', false)]);
  });
  afterAll(() => kubelet.proc.stop());

  it('is found as "kubelet" with its flags in /proc/PID/cmdline', () => {
    expect(fs.readFileSync(`/proc/${kubelet.proc.pid}/comm`, 'utf8')).toBe('kubelet\n');
    expect(cmdline(kubelet.proc.pid)).toContain('--config');
    expect(kubelet.proc.stderr).toContain('"Started kubelet"');
  });

  it('answers healthz over plain HTTP', async () => {
    expect(await httpGet(kubelet.healthzPort, '/healthz')).toEqual({ status: 200, body: 'ok' });
  });

  it('serves a client certificate signed by the CA', async () => {
    for (const p of ['/pods', '/healthz', '/configz']) {
      expect((await httpsGet(kubelet.port, p, certs.client)).status).toBe(200);
    }
  });

  it('refuses an untrusted certificate, a certificate without clientAuth, and no certificate with 401', async () => {
    expect((await httpsGet(kubelet.port, '/pods', certs.untrusted)).status).toBe(401);
    expect((await httpsGet(kubelet.port, '/pods', certs.serverOnly)).status).toBe(401);
    expect(await httpsGet(kubelet.port, '/pods')).toEqual({ status: 401, body: 'Unauthorized' });
  });
});

describe('kubelet with a client CA, anonymous on, Webhook authz', () => {
  let kubelet: RunningKubelet;
  beforeAll(async () => {
    kubelet = await startKubelet(lab, ['--config', kubeadmLike('anonymous', true)]);
  });
  afterAll(() => kubelet.proc.stop());

  it('gives an anonymous caller 403, an untrusted certificate still 401, a trusted one 200', async () => {
    const anonymous = await httpsGet(kubelet.port, '/pods');
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain('user=system:anonymous');
    expect((await httpsGet(kubelet.port, '/pods', certs.untrusted)).status).toBe(401);
    expect((await httpsGet(kubelet.port, '/pods', certs.client)).status).toBe(200);
  });
});

describe('kubelet without a client CA (legacy defaults: anonymous, AlwaysAllow)', () => {
  it('ignores client certificates: everyone is anonymous and allowed', async () => {
    const kubelet = await startKubelet(lab, []);
    expect((await httpsGet(kubelet.port, '/pods', certs.untrusted)).status).toBe(200);
    expect((await httpsGet(kubelet.port, '/pods')).status).toBe(200);
    await kubelet.proc.stop();
  });
});

describe('client CA reload', () => {
  it('uses new content at the same path without a restart', async () => {
    const caFile = lab.path('pki', 'rotating-ca.crt');
    fs.copyFileSync(certs.ca, caFile);
    const kubelet = await startKubelet(lab, ['--config', kubeadmLike('rotating', false, caFile)]);
    expect((await httpsGet(kubelet.port, '/pods', certs.client)).status).toBe(200);
    fs.copyFileSync(certs.ca2, caFile);
    await waitFor(
      async () => (await httpsGet(kubelet.port, '/pods', certs.client)).status === 401 || undefined,
      'new CA',
    );
    await kubelet.proc.stop();
  });
});
