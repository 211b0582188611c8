import { describe, expect, it } from 'vitest';
import {
  setApiserverFlags,
  setFlagInEnvFile,
  setKubeletClientCA,
  unifiedDiff,
} from '../../../src/edits/index.js';
import { RAW_CONTROL } from '../support/hostile-text.js';
import { applyPatch, clientCADropIn, fixture } from './helpers.js';

const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const CA = '/etc/kubernetes/pki/ca.crt';

describe('unifiedDiff', () => {
  it('names files a/<node><path> and b/<node><path>, 3 lines of context', () => {
    const before = fixture('kops/2025-flags-and-config/kubelet.conf');
    const after = setKubeletClientCA(before, '/srv/kubernetes/ca.crt', 'yaml').content;
    expect(unifiedDiff('cp-1', '/var/lib/kubelet/kubelet.conf', before, after)).toBe(
      [
        '--- a/cp-1/var/lib/kubelet/kubelet.conf',
        '+++ b/cp-1/var/lib/kubelet/kubelet.conf',
        '@@ -3,7 +3,8 @@',
        '   anonymous: {}',
        '   webhook:',
        '     cacheTTL: 0s',
        '-  x509: {}',
        '+  x509:',
        '+    clientCAFile: /srv/kubernetes/ca.crt',
        ' authorization:',
        '   webhook:',
        '     cacheAuthorizedTTL: 0s',
        '',
      ].join('\n'),
    );
  });

  it('is empty when nothing changes', () => {
    const text = fixture('kubeadm/kube-apiserver.yaml');
    expect(unifiedDiff('cp-1', MANIFEST, text, text)).toBe('');
  });

  it('uses /dev/null for a created file', () => {
    const after = clientCADropIn(CA, 'yaml');
    const diff = unifiedDiff(
      'w-1',
      '/etc/kubernetes/kubelet/config.json.d/90-kubemend-client-ca.conf',
      null,
      after,
    );
    expect(diff.split('\n').slice(0, 3)).toEqual([
      '--- /dev/null',
      '+++ b/w-1/etc/kubernetes/kubelet/config.json.d/90-kubemend-client-ca.conf',
      `@@ -0,0 +1,${after.split('\n').length - 1} @@`,
    ]);
  });

  it('marks a missing final newline', () => {
    const before = fixture('eks-al2023/environment');
    const after = setFlagInEnvFile(before, 'NODEADM_KUBELET_ARGS', 'client-ca-file', CA).content;
    const diff = unifiedDiff('w-1', '/etc/eks/kubelet/environment', before, after);
    expect(diff.split('\n').filter((l) => l === '\\ No newline at end of file')).toHaveLength(2);
  });
});

describe('the patch applies with git apply and patch -p1', () => {
  const cases = () => {
    const minikube = fixture('minikube/kube-apiserver-mirror-pod-no-kubelet-client.yaml');
    const env = fixture('eks-al2023/environment');
    const commented = fixture('kubeadm/config.commented.yaml');
    const dropin = clientCADropIn(CA, 'json');
    return [
      {
        path: 'cp-1/etc/kubernetes/manifests/kube-apiserver.yaml',
        before: minikube,
        after: setApiserverFlags(minikube, [
          {
            name: 'kubelet-client-certificate',
            value: '/var/lib/minikube/certs/apiserver-kubelet-client.crt',
          },
          { name: 'kubelet-client-key', value: '/var/lib/minikube/certs/apiserver-kubelet-client.key' },
        ]).content,
      },
      {
        path: 'w-1/etc/eks/kubelet/environment',
        before: env,
        after: setFlagInEnvFile(env, 'NODEADM_KUBELET_ARGS', 'client-ca-file', CA).content,
      },
      {
        path: 'w-2/var/lib/kubelet/config.yaml',
        before: commented,
        after: setKubeletClientCA(commented, CA, 'yaml').content,
      },
      { path: 'w-1/etc/kubernetes/kubelet/config.json.d/90-kubemend.conf', before: null, after: dropin },
    ];
  };

  it.each(['git', 'patch'] as const)(
    '%s: CRLF manifest, no-final-newline env file, YAML edit and a created file in one patch',
    (tool) => {
      const all = cases();
      const patch = all
        .map((c) => {
          const [node, ...rest] = c.path.split('/');
          return unifiedDiff(node ?? '', `/${rest.join('/')}`, c.before, c.after);
        })
        .join('');
      const files = Object.fromEntries(
        all.filter((c) => c.before !== null).map((c) => [c.path, c.before as string]),
      );
      const result = applyPatch(
        files,
        patch,
        all.map((c) => c.path),
        tool,
      );
      for (const c of all) expect(result[c.path]).toBe(c.after);
    },
  );
});

describe('a path holding control characters in the patch', () => {
  // A directory a node's user named: an escape sequence, a newline that would start a fake diff line.
  const path = '/var/lib/kubelet/\x1b]0;pwned\x07\n+++ b/x/\\"q\u202e/config.yaml';
  const before = 'a: 1\n';
  const after = 'a: 2\n';

  it('is quoted in the header as git quotes it: no raw control character, no fake header line', () => {
    const diff = unifiedDiff('w-1', path, before, after);
    const header = '"a/w-1/var/lib/kubelet/\\033]0;pwned\\a\\n+++ b/x/\\\\\\"q\\342\\200\\256/config.yaml"';
    expect(diff.split('\n').slice(0, 2)).toEqual([`--- ${header}`, `+++ ${header.replace('"a/', '"b/')}`]);
    expect(diff).not.toMatch(RAW_CONTROL);
    // A created file keeps /dev/null; a plain path is not quoted.
    expect(unifiedDiff('w-1', path, null, after).split('\n')[0]).toBe('--- /dev/null');
    expect(unifiedDiff('w-1', '/etc/a b.yaml', before, after).split('\n')[0]).toBe('--- a/w-1/etc/a b.yaml');
  });

  it.each(['git', 'patch'] as const)('%s applies it to the file of that very name', (tool) => {
    const rel = `w-1${path}`;
    const result = applyPatch({ [rel]: before }, unifiedDiff('w-1', path, before, after), [rel], tool);
    expect(result[rel]).toBe(after);
  });
});
