import { describe, expect, it } from 'vitest';
import {
  checkPlaybookChoices,
  loadBuiltinPlaybooks,
  parsePlaybook,
  playbookFor,
  withParams,
} from '../../../src/playbook/load.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { UsageError } from '../../../src/errors.js';

describe('playbooks', () => {
  it('ships kubeadm, eks, kubespray and generic, each valid, chosen by layout', () => {
    const builtins = loadBuiltinPlaybooks();
    expect(builtins.map((p) => p.name).sort()).toEqual([
      'aks',
      'eks',
      'flatcar',
      'generic',
      'gke',
      'kubeadm',
      'kubespray',
    ]);
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
      dropInName: '90-kubemend-kubelet.conf',
    });
    expect(() => withParams(kubeadm, { kubelet: { clientCAFile: 'ca.crt' } }, 'cp-1')).toThrow(
      /params for cp-1/,
    );
  });

  it('an apiserver part of params is left out on a playbook without one (EKS), so it fits every layout', () => {
    const eks = loadBuiltinPlaybooks().find((p) => p.name === 'eks')!;
    const params = { apiserver: { kubeletClientCertificate: '/etc/kubernetes/pki/x.crt' } };
    expect(withParams(eks, params, 'cp').apiserver).toBeUndefined();
    const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
    expect(withParams(kubeadm, params, 'cp').apiserver).toMatchObject({
      kubeletClientCertificate: '/etc/kubernetes/pki/x.crt',
      kubeletClientKey: '/etc/kubernetes/pki/apiserver-kubelet-client.key',
    });
  });

  describe('checkPlaybookChoices: before any node is touched', () => {
    const node = (over: Partial<NodeTarget>): NodeTarget => ({
      name: 'cp',
      host: '10.0.0.1',
      port: 22,
      user: 'root',
      become: 'none',
      proxyJump: [],
      knownHostsFile: '/dev/null',
      groups: [],
      params: {},
      source: { file: 'inventory.yaml', line: 3 },
      ...over,
    });
    const problems = (f: () => void): string[] => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return [(e as UsageError).message, ...(e as UsageError).details];
      }
      return [];
    };

    it('accepts partial params that fit every layout', () => {
      const params = { apiserver: { kubeletClientCertificate: '/etc/kubernetes/pki/x.crt' } };
      expect(problems(() => checkPlaybookChoices([node({ params })], undefined))).toEqual([]);
      expect(problems(() => checkPlaybookChoices([node({ params })], 'kubeadm'))).toEqual([]);
    });

    it('names the node and where its params were written when they fit no playbook', () => {
      const out = problems(() =>
        checkPlaybookChoices(
          [node({ params: { kubelet: { bogus: 1 } }, paramsAt: 'inventory.yaml:7' })],
          undefined,
        ),
      );
      expect(out.join('\n')).toMatch(/params for node cp \(inventory.yaml:7\) do not fit playbook/);
      expect(out.join('\n')).toMatch(/bogus/);
    });

    it('refuses a -p file that does not exist or does not validate', () => {
      expect(problems(() => checkPlaybookChoices([node({})], '/nonexistent/pb.yaml')).join('\n')).toMatch(
        /nonexistent\/pb.yaml/,
      );
    });
  });
});
