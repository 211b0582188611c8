// Every real-world kubelet configuration in shared/fixtures must load in the simulator and
// yield the client CA the fixture's provenance says it has.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, LabDir, httpsGet, makeCerts, readConfigz, startKubelet } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
const fixture = (rel: string) => path.join(FIXTURES, rel);

let lab: LabDir;
let certs: Certs;

beforeAll(() => {
  lab = new LabDir();
  certs = makeCerts(lab.path('pki'));
  fs.mkdirSync(lab.path('manifests'));
});
afterAll(() => lab.cleanup());

// The CA paths do not exist on the test host, so reaching the CA check proves the value was read.
describe.each([
  ['kubeadm/config.yaml', ['--config', fixture('kubeadm/config.yaml')], '/etc/kubernetes/pki/ca.crt'],
  [
    'eks-al2/kubelet-config.json',
    ['--config', fixture('eks-al2/kubelet-config.json')],
    '/etc/kubernetes/pki/ca.crt',
  ],
  [
    'eks-al2023 config.json + config.json.d',
    ['--config', fixture('eks-al2023/config.json'), '--config-dir', fixture('eks-al2023/config.json.d')],
    '/etc/kubernetes/pki/ca.crt',
  ],
  ['kops/kubelet.conf', ['--config', fixture('kops/kubelet.conf')], '/srv/kubernetes/ca.crt'],
  [
    'kubespray/kubelet-config.yaml',
    ['--config', fixture('kubespray/kubelet-config.yaml')],
    '/etc/kubernetes/ssl/ca.crt',
  ],
  ['rke2 --config-dir only', ['--config-dir', fixture('rke2')], '/var/lib/rancher/rke2/agent/client-ca.crt'],
])('%s', (_name, args, caPath) => {
  it.skipIf(fs.existsSync(caPath))(`sets clientCAFile ${caPath}`, async () => {
    const proc = lab.run('kubelet', ['--root-dir', lab.path('root'), ...args]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr).toContain(
      `unable to load client CA file ${caPath}: open ${caPath}: no such file or directory`,
    );
  });
});

describe('fixtures without a client CA start', () => {
  it.each(['kubeadm/config.commented.yaml', 'kops/2025-flags-and-config/kubelet.conf'])(
    '%s: a valid client certificate is not used, the caller stays anonymous and is refused',
    async (rel) => {
      const kubelet = await startKubelet(lab, [
        '--config',
        fixture(rel),
        '--pod-manifest-path',
        lab.path('manifests'),
      ]);
      expect((await httpsGet(kubelet.port, '/pods', certs.client)).status).toBe(401);
      await kubelet.proc.stop();
    },
  );

  it('bottlerocket standalone: anonymous, AlwaysAllow, no x509 block', async () => {
    const kubelet = await startKubelet(lab, [
      '--config',
      fixture('bottlerocket/standalone-mode/config'),
      '--pod-manifest-path',
      lab.path('manifests'),
    ]);
    const effective = await readConfigz(kubelet.port); // anonymous
    expect(effective.authorization.mode).toBe('AlwaysAllow');
    expect(effective.authentication.x509).toEqual({});
    await kubelet.proc.stop();
  });
});
