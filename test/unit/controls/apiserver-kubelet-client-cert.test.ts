import { beforeAll, describe, expect, it } from 'vitest';
import { apiserverKubeletClientCert } from '../../../src/controls/apiserver-kubelet-client-cert/index.js';
import { manifestFlags } from '../../../src/facts/apiserver.js';
import { lastFlag } from '../../../src/facts/flags.js';
import { nodeModel } from '../../../src/facts/model.js';
import { makePki, type TestPki } from '../support/certs.js';
import { sourced } from '../support/evidence.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
// Every result checked here also obeys the evidence rule (support/evidence.ts).
const check = (node: FakeNode, at = new Date()) =>
  sourced(apiserverKubeletClientCert.check(nodeModel(fakeFacts(node)), at));

const both = (path: string, text: string) => {
  const m = manifestFlags(path, text);
  return {
    cert: m && lastFlag(m.flags, 'kubelet-client-certificate')?.value,
    key: m && lastFlag(m.flags, 'kubelet-client-key')?.value,
  };
};

describe('manifests from ../shared/fixtures (PROVENANCE column A)', () => {
  it.each([
    ['kubeadm/kube-apiserver.yaml', '/etc/kubernetes/pki/apiserver-kubelet-client.crt'],
    ['minikube/kube-apiserver-mirror-pod.yaml', '/var/lib/minikube/certs/apiserver-kubelet-client.crt'],
    ['kops/kube-apiserver.manifest', '/srv/kubernetes/kube-apiserver/kubelet-api.crt'],
    ['kubespray/v2.8-non-kubeadm/kube-apiserver.manifest', '/etc/kubernetes/ssl/node-node1.pem'],
  ])('%s: both flags found (pass)', (file, cert) => {
    const r = both('/m', fixture(file));
    expect(r.cert).toBe(cert);
    expect(r.key).toBeTruthy();
  });

  it('minikube dump without the flags: neither found (fail)', () => {
    expect(both('/m', fixture('minikube/kube-apiserver-mirror-pod-no-kubelet-client.yaml'))).toEqual({
      cert: undefined,
      key: undefined,
    });
  });

  it('minikube dump with the cert only: key missing (fail)', () => {
    const r = both('/m', fixture('minikube/kube-apiserver-mirror-pod-cert-only.yaml'));
    expect(r.cert).toBe('/path/to/file');
    expect(r.key).toBeUndefined();
  });

  it('a manifest without a kube-apiserver container is not taken for one', () => {
    expect(manifestFlags('/m', fixture('lab-extra/kubeadm/etcd.yaml'))).toBeUndefined();
  });
});

const CERT = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
const KEY = '/etc/kubernetes/pki/apiserver-kubelet-client.key';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const kubeadmArgs = () => {
  const m = manifestFlags(MANIFEST, fixture('kubeadm/kube-apiserver.yaml'));
  return ['kube-apiserver', ...(m?.flags.map((f) => `--${f.name}=${f.value}`) ?? [])];
};
const cp = (over: Partial<FakeNode> = {}, files: Record<string, string> = {}): FakeNode => ({
  processes: [{ pid: 812, comm: 'kube-apiserver', argv: kubeadmArgs() }],
  files: {
    [MANIFEST]: fixture('kubeadm/kube-apiserver.yaml'),
    [CERT]: pki.clientCrt,
    '/etc/kubernetes/pki/ca.crt': pki.caCrt,
    ...files,
  },
  keys: [KEY],
  pairs: [{ cert: CERT, key: KEY, result: 'match' }],
  ...over,
});

describe('apiserver-kubelet-client-cert on a control-plane node', () => {
  it('kubeadm control plane with a valid pair: pass, with evidence from the process and the manifest', () => {
    const r = check(cp());
    expect(r.status).toBe('pass');
    expect(r.evidence).toContainEqual({
      source: '/proc/812/cmdline',
      key: '--kubelet-client-certificate',
      value: CERT,
    });
    expect(r.evidence).toContainEqual({ source: MANIFEST, key: '--kubelet-client-key', value: KEY });
    expect(r.warnings).toEqual([]);
  });

  it('running process lacks the key flag: fail naming it', () => {
    const r = check(
      cp({
        processes: [
          {
            pid: 812,
            comm: 'kube-apiserver',
            argv: kubeadmArgs().filter((a) => !a.startsWith('--kubelet-client-key')),
          },
        ],
      }),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(
      /^--kubelet-client-key is not set on the running kube-apiserver \(the manifest .* has them/,
    );
  });

  it('manifest lacks the flags the process has: fail, the next restart would drop them', () => {
    const r = check(
      cp(
        {},
        { [MANIFEST]: fixture('kubeadm/kube-apiserver.yaml').replace(/^.*--kubelet-client-.*\n/gm, '') },
      ),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain(
      'lacks --kubelet-client-certificate and --kubelet-client-key: the next restart would drop them',
    );
  });

  it('empty flag value counts as not set', () => {
    const r = check(
      cp({
        processes: [
          { pid: 812, comm: 'kube-apiserver', argv: [...kubeadmArgs(), '--kubelet-client-certificate='] },
        ],
      }),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/^--kubelet-client-certificate is not set/);
  });

  it('cert file missing, key missing, pair mismatch: each fails with its own reason', () => {
    const noCert = cp();
    delete noCert.files?.[CERT];
    expect(check(noCert).reason).toBe(`certificate ${CERT} does not exist`);
    expect(check(cp({ keys: [] })).reason).toBe(`key ${KEY} does not exist`);
    expect(check(cp({ pairs: [{ cert: CERT, key: KEY, result: 'mismatch' }] })).reason).toBe(
      `key ${KEY} does not belong to certificate ${CERT}`,
    );
  });

  it('expired certificate: fail', () => {
    const later = new Date(Date.now() + 2 * 365 * 24 * 3600 * 1000);
    expect(check(cp(), later).reason).toMatch(/expired on/);
  });

  it('certificate only for server auth: fail', () => {
    expect(check(cp({}, { [CERT]: pki.serverOnlyCrt })).reason).toMatch(
      /not usable for client authentication/,
    );
  });

  it('no openssl on the node: pass, but says the pair was not verified', () => {
    const r = check(cp({ pairs: [{ cert: CERT, key: KEY, result: 'noopenssl' }] }));
    expect(r.status).toBe('pass');
    expect(r.warnings.join()).toContain('pair not verified');
  });

  it('cert not signed by the kubelet client CA on the node: warn', () => {
    const r = check({
      ...cp({}, { [CERT]: pki.foreignClientCrt }),
      kubeletUnit: undefined,
      processes: [
        { pid: 812, comm: 'kube-apiserver', argv: kubeadmArgs() },
        {
          pid: 90,
          comm: 'kubelet',
          argv: ['/usr/bin/kubelet', '--client-ca-file=/etc/kubernetes/pki/ca.crt'],
        },
      ],
    });
    expect(r.status).toBe('pass');
    expect(r.warnings.join()).toContain(
      'does not verify against the kubelet client CA /etc/kubernetes/pki/ca.crt',
    );
  });

  it('a .bak copy in the manifests folder wins and is reported', () => {
    const r = check(
      cp(
        {},
        {
          '/etc/kubernetes/manifests/kube-apiserver.yaml.bak': fixture('kubeadm/kube-apiserver.yaml').replace(
            /^.*--kubelet-client-.*\n/gm,
            '',
          ),
        },
      ),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('kube-apiserver.yaml.bak lacks');
    expect(r.warnings.join()).toContain(
      '/etc/kubernetes/manifests/kube-apiserver.yaml in the static pod directory also defines',
    );
  });

  it('no apiserver: skip; EKS worker: skip', () => {
    expect(check({}).status).toBe('skip');
    const eks = check({
      kubeletUnit: [
        { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2023/kubelet.service') },
      ],
      files: { '/etc/eks/kubelet/environment': fixture('eks-al2023/environment') },
    });
    expect(eks.status).toBe('skip');
    expect(eks.reason).toMatch(/^EKS/);
  });

  it('a kubelet with no staticPodPath runs no static pods: a stale manifest in the usual folder is not the apiserver', () => {
    const kubelet = (): Partial<FakeNode> => ({
      processes: [
        { pid: 812, comm: 'kube-apiserver', argv: kubeadmArgs() }, // run by systemd (the hard way)
        { pid: 900, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'] },
      ],
    });
    const config = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';
    const stale = fixture('kubeadm/kube-apiserver.yaml').replace(
      /^.*--kubelet-client-(certificate|key)=.*\n/gm,
      '',
    );
    const systemd = check(cp(kubelet(), { [MANIFEST]: stale, '/var/lib/kubelet/config.yaml': config }));
    expect(systemd.status).toBe('pass');
    expect(systemd.warnings.join()).toMatch(/no static pod manifest found/);
    // With staticPodPath set, the same file is the apiserver's manifest, and it lacks the flags.
    const withPods = `${config}staticPodPath: /etc/kubernetes/manifests\n`;
    const kubeadm = check(cp(kubelet(), { [MANIFEST]: stale, '/var/lib/kubelet/config.yaml': withPods }));
    expect(kubeadm.status).toBe('fail');
    expect(kubeadm.reason).toMatch(/next restart would drop them/);
  });

  it('another static pod that only mentions kube-apiserver (a watchdog) is not taken for its manifest', () => {
    const watchdog = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: apiserver-watchdog, namespace: kube-system }',
      'spec:',
      '  containers:',
      '  - name: watchdog',
      '    image: busybox',
      '    command: [sh, -c, "sleep 30; pgrep -x kube-apiserver || kill 1"]',
      '',
    ].join('\n');
    const r = check(cp({}, { '/etc/kubernetes/manifests/zz-apiserver-watchdog.yaml': watchdog }));
    expect(r.status).toBe('pass');
    expect(r.warnings).toEqual([]);
  });

  it('a staticPodPath that names one manifest file: that file is the manifest', () => {
    const file = '/etc/kubernetes/apiserver-pod.yaml';
    const config = `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: ${file}\n`;
    const node = cp(
      {
        processes: [
          { pid: 812, comm: 'kube-apiserver', argv: kubeadmArgs() },
          { pid: 900, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'] },
        ],
      },
      { [file]: fixture('kubeadm/kube-apiserver.yaml'), '/var/lib/kubelet/config.yaml': config },
    );
    delete node.files![MANIFEST];
    const r = check(node);
    expect(r.status).toBe('pass');
    expect(r.evidence).toContainEqual({
      source: file,
      key: 'manifest',
      value: 'defines the kube-apiserver pod',
    });
  });

  it('apiserver not running but manifest present: fail', () => {
    const r = check(cp({ processes: [] }));
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/no kube-apiserver process is running/);
  });
});
