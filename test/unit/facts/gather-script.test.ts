import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../../src/facts/parse.js';
import { gatherScript, VALUES_FUNCTION } from '../../../src/node/gather-script.js';
import { fixture } from '../support/fake-node.js';

/** Runs the script's `values` function under dash (a strict POSIX sh), as a node would. */
const values = (text: string) =>
  execFileSync('dash', ['-c', `${VALUES_FUNCTION}\nvalues`], { input: text, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

describe('values: the settings the gather script follows, found in any text', () => {
  it('reads --flag=value, --flag value and NUL-separated argv', () => {
    expect(values('/usr/bin/kubelet\0--config\0/etc/k/c.json\0--config-dir=/etc/k/c.d\0')).toEqual([
      '--config\t/etc/k/c.json',
      '--config-dir\t/etc/k/c.d',
    ]);
  });

  it('reads YAML and JSON config keys, any case (clientCaFile is a finding too)', () => {
    expect(values(fixture('kubespray/kubelet-config.yaml'))).toContain(
      'clientcafile\t/etc/kubernetes/ssl/ca.crt',
    );
    expect(values(fixture('eks-al2023/config.json'))).toContain('clientcafile\t/etc/kubernetes/pki/ca.crt');
    expect(values('authentication:\n  x509:\n    clientCaFile: /x/ca.crt\n')).toEqual([
      'clientcafile\t/x/ca.crt',
    ]);
  });

  // The minikube dump has CRLF line endings on some lines: values must not end in \r.
  it('reads manifest flags in every form the fixtures use', () => {
    expect(values(fixture('kubeadm/kube-apiserver.yaml'))).toContain(
      '--kubelet-client-key\t/etc/kubernetes/pki/apiserver-kubelet-client.key',
    );

    expect(values(fixture('minikube/kube-apiserver-mirror-pod.yaml'))).toContain(
      '--kubelet-client-certificate\t/var/lib/minikube/certs/apiserver-kubelet-client.crt',
    );
    expect(values('    - --kubelet-client-certificate\n    - /two/item.crt\n')).toEqual([
      '--kubelet-client-certificate\t/two/item.crt',
    ]);
  });

  it('reads flags inside env files and systemd units', () => {
    expect(values(fixture('kubespray/kubelet.env'))).toContain(
      '--config\t/etc/kubernetes/kubelet-config.yaml',
    );
    expect(values(fixture('kubeadm/legacy-v1.8/10-kubeadm.conf'))).toContain(
      '--client-ca-file\t/etc/kubernetes/pki/ca.crt',
    );
    expect(values(fixture('kops/2025-flags-and-config/kubelet'))).toContain(
      '--config\t/var/lib/kubelet/kubelet.conf',
    );
  });
});

describe('the whole gather script', () => {
  it('runs under dash on a machine without Kubernetes, finishes, and finds nothing to report', () => {
    const out = execFileSync('dash', ['-c', gatherScript({ extraFiles: ['/etc/hostname'] })], {
      encoding: 'utf8',
    });
    const facts = parseFacts(out);
    expect(facts.complete).toBe(true);
    expect(facts.files.get('/var/lib/kubelet/config.yaml')?.status).toBe('missing');
    expect(facts.tools['openssl']).toBe(true);
    expect(facts.dirs.get('/etc/kubernetes/manifests')).toBeNull();
  });
});
