import { describe, expect, it } from 'vitest';
import type { UsageError } from '../../../src/errors.js';
import { loadBuiltinPlaybooks, parsePlaybook, playbookFor, withParams } from '../../../src/playbook/load.js';

describe('playbooks', () => {
  it('ships kubeadm, eks, kubespray and generic, each valid, chosen by layout', () => {
    const builtins = loadBuiltinPlaybooks();
    expect(builtins.map((p) => p.name).sort()).toEqual(['eks', 'generic', 'kubeadm', 'kubespray']);
    expect(playbookFor('kubespray', {}, builtins).kubelet.clientCAFile).toBe('/etc/kubernetes/ssl/ca.crt');
    expect(playbookFor('eks-al2023', {}, builtins).apiserver).toBeUndefined();
    expect(playbookFor(null, {}, builtins).name).toBe('generic');
    expect(playbookFor('eks-al2', { cli: 'kubeadm' }, builtins).name).toBe('kubeadm');
  });

  it('reports every problem with its line and a fix', () => {
    const text = [
      'name: mine', //                           1
      'kubelet:', //                             2
      '  clientCaFile: /etc/ca.crt', //          3
      'apiserver:', //                           4
      '  kubeletClientCertificate: relative.crt', // 5
      '  kubeletClientKey: /k.key', //           6
      'timeouts: { kubeletHealthySec: soon }', // 7
    ].join('\n');
    let error: UsageError | undefined;
    try {
      parsePlaybook('mine.yaml', text);
    } catch (e) {
      error = e as UsageError;
    }
    expect(error?.message).toBe('playbook mine.yaml has 4 problems');
    expect(error?.details).toEqual(
      expect.arrayContaining([
        'mine.yaml:3: unknown key "clientCaFile" in kubelet — did you mean "clientCAFile"? (keys are case-sensitive)',
        'mine.yaml:3: kubelet lacks "clientCAFile" — add clientCAFile',
        'mine.yaml:5: apiserver.kubeletClientCertificate must match pattern "^/" — give an absolute path on the node',
        'mine.yaml:7: timeouts.kubeletHealthySec must be integer — see playbooks/kubeadm.yaml for the format',
      ]),
    );
  });

  it('per-node params override the playbook and are validated too', () => {
    const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
    expect(withParams(kubeadm, { kubelet: { clientCAFile: '/srv/ca.crt' } }, 'cp-1').kubelet).toMatchObject({
      clientCAFile: '/srv/ca.crt',
      dropInName: '90-kubemend-client-ca.conf',
    });
    expect(() => withParams(kubeadm, { kubelet: { clientCAFile: 'ca.crt' } }, 'cp-1')).toThrow(
      /params for cp-1/,
    );
  });
});
