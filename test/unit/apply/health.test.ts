import { describe, expect, it } from 'vitest';
import { apiserverLivezUrl, carriesFlags, kubeletHealthzUrl } from '../../../src/apply/health.js';
import { parseFlags } from '../../../src/facts/flags.js';
import { nodeModel } from '../../../src/facts/model.js';
import { fakeFacts } from '../support/fake-node.js';

const kubeletWith = (config: string, args: string[] = []) =>
  nodeModel(
    fakeFacts({
      processes: [
        {
          pid: 10,
          comm: 'kubelet',
          argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml', ...args],
        },
      ],
      files: {
        '/var/lib/kubelet/config.yaml': `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n${config}`,
      },
    }),
  );

describe('where the health gates ask (node-facts §7)', () => {
  it('kubelet healthz: 127.0.0.1:10248 by default; the config, then flags, move it; port 0 turns it off', () => {
    expect(kubeletHealthzUrl(kubeletWith(''))).toBe('http://127.0.0.1:10248/healthz');
    expect(kubeletHealthzUrl(kubeletWith('healthzBindAddress: 10.0.0.5\nhealthzPort: 10249\n'))).toBe(
      'http://10.0.0.5:10249/healthz',
    );
    expect(kubeletHealthzUrl(kubeletWith('healthzPort: 10249\n', ['--healthz-port=10300']))).toBe(
      'http://127.0.0.1:10300/healthz',
    );
    expect(kubeletHealthzUrl(kubeletWith('healthzBindAddress: 0.0.0.0\n'))).toBe(
      'http://127.0.0.1:10248/healthz',
    );
    expect(kubeletHealthzUrl(kubeletWith('healthzPort: 0\n'))).toBeNull();
  });

  it('an IPv6 bind address goes in brackets', () => {
    expect(kubeletHealthzUrl(kubeletWith('healthzBindAddress: "::1"\n'))).toBe('http://[::1]:10248/healthz');
    expect(apiserverLivezUrl(parseFlags(['kube-apiserver', '--bind-address=fd00::10']))).toBe(
      'https://[fd00::10]:6443/livez',
    );
  });

  it('apiserver livez: --secure-port on --bind-address, loopback when it listens everywhere', () => {
    expect(apiserverLivezUrl(parseFlags(['kube-apiserver']))).toBe('https://127.0.0.1:6443/livez');
    expect(
      apiserverLivezUrl(parseFlags(['kube-apiserver', '--secure-port=8443', '--bind-address=0.0.0.0'])),
    ).toBe('https://127.0.0.1:8443/livez');
    // Bound to the node's IP it does not answer on 127.0.0.1: asking there would roll back a good change.
    expect(apiserverLivezUrl(parseFlags(['kube-apiserver', '--bind-address=10.0.0.10']))).toBe(
      'https://10.0.0.10:6443/livez',
    );
  });
});

describe('the apiserver gate reads flags as the apiserver does', () => {
  const want = ['--kubelet-client-certificate=/srv/a.crt', '--kubelet-client-key=/srv/a.key'];
  it('accepts --name=value and the two-item --name value form', () => {
    expect(carriesFlags(['kube-apiserver', ...want], want)).toBe(true);
    expect(
      carriesFlags(
        [
          'kube-apiserver',
          '--kubelet-client-certificate',
          '/srv/a.crt',
          '--kubelet-client-key',
          '/srv/a.key',
        ],
        want,
      ),
    ).toBe(true);
  });
  it('refuses a missing flag or another value; the last one given counts', () => {
    expect(carriesFlags(['kube-apiserver', want[0]!], want)).toBe(false);
    expect(carriesFlags(['kube-apiserver', ...want, '--kubelet-client-key=/other.key'], want)).toBe(false);
  });
});
