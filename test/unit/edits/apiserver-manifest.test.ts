import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { EditError, setApiserverFlags } from '../../../src/edits/index.js';
import { changedLines, dropLines, expectGolden, fixture, linesWith } from './helpers.js';

const CERT = 'kubelet-client-certificate';
const KEY = 'kubelet-client-key';

const flagsFor = (
  dir: string,
  cert = 'apiserver-kubelet-client.crt',
  key = 'apiserver-kubelet-client.key',
) => [
  { name: CERT, value: `${dir}/${cert}` },
  { name: KEY, value: `${dir}/${key}` },
];
const KUBEADM = flagsFor('/etc/kubernetes/pki');
const MINIKUBE = flagsFor('/var/lib/minikube/certs');
const KOPS = flagsFor('/srv/kubernetes/kube-apiserver', 'kubelet-api.crt', 'kubelet-api.key');
const KUBESPRAY_OLD = flagsFor('/etc/kubernetes/ssl', 'node-node1.pem', 'node-node1-key.pem');
const KUBESPRAY_NEW = flagsFor(
  '/etc/kubernetes/ssl',
  'apiserver-kubelet-client.pem',
  'apiserver-kubelet-client-key.pem',
);

/** The kube-apiserver container's command+args as the kubelet would run them. */
function argv(text: string): string[] {
  const pod = parseDocument(text).toJS() as {
    spec: { containers: { name: string; command?: string[]; args?: string[] }[] };
  };
  const c = pod.spec.containers.find((x) => x.name === 'kube-apiserver');
  return [...(c?.command ?? []), ...(c?.args ?? [])];
}

/** The value the apiserver uses for a flag: the last `--f=v` (or `--f v`). */
function effective(text: string, name: string): string | undefined {
  const words = argv(text);
  let value: string | undefined;
  words.forEach((w, i) => {
    if (w.startsWith(`--${name}=`)) value = w.slice(name.length + 3);
    else if (w === `--${name}`) value = words[i + 1];
  });
  return value;
}

function expectFixed(text: string, flags: { name: string; value: string }[]) {
  for (const f of flags) expect(effective(text, f.name)).toBe(f.value);
}

describe('setApiserverFlags on the real manifests (shared/fixtures)', () => {
  it.each([
    ['kubeadm/kube-apiserver.yaml', KUBEADM],
    ['kops/kube-apiserver.manifest', KOPS],
    ['kubespray/v2.8-non-kubeadm/kube-apiserver.manifest', KUBESPRAY_OLD],
    ['minikube/kube-apiserver-mirror-pod.yaml', MINIKUBE],
  ])('leaves the already-correct %s byte for byte', (path, flags) => {
    const text = fixture(path);
    const out = setApiserverFlags(text, flags);
    expect(out.changed).toBe(false);
    expect(out.content).toBe(text);
  });

  it.each([
    ['kubeadm/kube-apiserver.yaml', KUBEADM],
    ['kops/kube-apiserver.manifest', KOPS],
    ['minikube/kube-apiserver-mirror-pod.yaml', MINIKUBE],
  ])(
    'puts both flags back exactly where and how %s had them (sorted position, neighbour style)',
    (path, flags) => {
      const original = fixture(path);
      // The minikube dump writes these two as folded `>-` scalars over two lines each.
      const unfolded = original.replace(/ *- >-\r?\n *--kubelet-client-(certificate|key)=.*\r?\n/g, '');
      const stripped = dropLines(unfolded, `--${CERT}=`, `--${KEY}=`);
      expect(stripped).not.toContain(CERT);
      const out = setApiserverFlags(stripped, flags);
      expect(out.changed).toBe(true);
      expect(out.content).toBe(original);
    },
  );

  it('minikube dump without the flags: adds both in sorted position, double-quoted like the neighbours, CRLF kept', () => {
    const text = fixture('minikube/kube-apiserver-mirror-pod-no-kubelet-client.yaml');
    const out = setApiserverFlags(text, MINIKUBE);
    expectGolden('minikube/kube-apiserver-mirror-pod-no-kubelet-client.yaml', out.content);
    expectFixed(out.content, MINIKUBE);
    const { removed, added } = changedLines(text, out.content);
    expect(removed).toEqual([]);
    expect(added).toEqual([
      '    - "--kubelet-client-certificate=/var/lib/minikube/certs/apiserver-kubelet-client.crt"\r',
      '    - "--kubelet-client-key=/var/lib/minikube/certs/apiserver-kubelet-client.key"\r',
    ]);
    // The two-flags-in-one-string item is someone else's problem: it stays as it was.
    expect(out.content).toContain(
      '"--tls-private-key-file=/var/lib/minikube/certs/apiserver.key --token-auth-file=<file>"\r\n',
    );
  });

  it('minikube dump with a wrong cert and no key: corrects the cert in place, appends the key (list is unsorted)', () => {
    const text = fixture('minikube/kube-apiserver-mirror-pod-cert-only.yaml');
    const out = setApiserverFlags(text, MINIKUBE);
    expectGolden('minikube/kube-apiserver-mirror-pod-cert-only.yaml', out.content);
    expectFixed(out.content, MINIKUBE);
    const { removed, added } = changedLines(text, out.content);
    expect(removed).toEqual(['    - "--kubelet-client-certificate=/path/to/file"\r']);
    expect(added).toHaveLength(2);
    expect(linesWith(out.content, '--anonymous-auth=true')).toHaveLength(1);
  });

  it('kubespray v2.8 hyperkube manifest: corrects the values in place', () => {
    const text = fixture('kubespray/v2.8-non-kubeadm/kube-apiserver.manifest');
    const out = setApiserverFlags(text, KUBESPRAY_NEW);
    expectGolden('kubespray/v2.8-non-kubeadm/kube-apiserver.manifest', out.content);
    expectFixed(out.content, KUBESPRAY_NEW);
    const { removed, added } = changedLines(text, out.content);
    expect(removed).toEqual([
      '    - --kubelet-client-certificate=/etc/kubernetes/ssl/node-node1.pem',
      '    - --kubelet-client-key=/etc/kubernetes/ssl/node-node1-key.pem',
    ]);
    expect(added).toEqual([
      '    - --kubelet-client-certificate=/etc/kubernetes/ssl/apiserver-kubelet-client.pem',
      '    - --kubelet-client-key=/etc/kubernetes/ssl/apiserver-kubelet-client-key.pem',
    ]);
  });

  it('kubespray v2.8 without the flags: appends them after the last flag (the list is not sorted)', () => {
    const text = dropLines(
      fixture('kubespray/v2.8-non-kubeadm/kube-apiserver.manifest'),
      `--${CERT}=`,
      `--${KEY}=`,
    );
    const out = setApiserverFlags(text, KUBESPRAY_OLD).content;
    const words = argv(out);
    expect(words.slice(-3)).toEqual([
      '--proxy-client-key-file=/etc/kubernetes/ssl/front-proxy-client-key.pem',
      '--kubelet-client-certificate=/etc/kubernetes/ssl/node-node1.pem',
      '--kubelet-client-key=/etc/kubernetes/ssl/node-node1-key.pem',
    ]);
    expect(words.slice(0, 2)).toEqual(['/hyperkube', 'apiserver']);
  });

  it('kOps: a new flag goes into args (where the flags are), never into command: [/go-runner]', () => {
    const text = dropLines(fixture('kops/kube-apiserver.manifest'), `--${KEY}=`);
    const out = setApiserverFlags(text, [{ name: KEY, value: '/srv/k.key' }]).content;
    const pod = parseDocument(out).toJS() as {
      spec: { containers: { command: string[]; args: string[] }[] };
    };
    expect(pod.spec.containers[0]?.command).toEqual(['/go-runner']);
    const args = pod.spec.containers[0]?.args ?? [];
    expect(args.indexOf('--kubelet-client-key=/srv/k.key')).toBe(
      args.indexOf(`--${CERT}=/srv/kubernetes/kube-apiserver/kubelet-api.crt`) + 1,
    );
  });

  it('is idempotent: applying the edit twice equals applying it once', () => {
    for (const [path, flags] of [
      ['minikube/kube-apiserver-mirror-pod-no-kubelet-client.yaml', MINIKUBE],
      ['minikube/kube-apiserver-mirror-pod-cert-only.yaml', MINIKUBE],
      ['kubespray/v2.8-non-kubeadm/kube-apiserver.manifest', KUBESPRAY_NEW],
    ] as const) {
      const once = setApiserverFlags(fixture(path), flags).content;
      const twice = setApiserverFlags(once, flags);
      expect(twice.changed).toBe(false);
      expect(twice.content).toBe(once);
    }
  });
});

describe('setApiserverFlags forms and layouts', () => {
  const pod = (containers: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n${containers}`;

  it('corrects the value item of the two-item `--flag value` form', () => {
    const text = pod(
      '  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --kubelet-client-key\n    - /old.key  # rotated 2024\n    - --v=2\n',
    );
    const out = setApiserverFlags(text, [{ name: KEY, value: '/new.key' }]).content;
    expect(changedLines(text, out)).toEqual({
      removed: ['    - /old.key  # rotated 2024'],
      added: ['    - /new.key  # rotated 2024'],
    });
  });

  it('gives a `--flag` whose value was forgotten its value inline', () => {
    const text = pod(
      '  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --kubelet-client-key\n    - --v=2\n',
    );
    const out = setApiserverFlags(text, [{ name: KEY, value: '/k.key' }]).content;
    expect(argv(out)).toEqual(['kube-apiserver', '--kubelet-client-key=/k.key', '--v=2']);
  });

  it('duplicates: corrects every wrong occurrence (the last one wins, the first is what people read)', () => {
    const text = pod(
      '  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --kubelet-client-key=/a.key\n    - --v=2\n    - --kubelet-client-key=/b.key\n    - --kubelet-client-key=/right.key\n',
    );
    const out = setApiserverFlags(text, [{ name: KEY, value: '/right.key' }]).content;
    expect(argv(out)).toEqual([
      'kube-apiserver',
      '--kubelet-client-key=/right.key',
      '--v=2',
      '--kubelet-client-key=/right.key',
      '--kubelet-client-key=/right.key',
    ]);
    expect(changedLines(text, out).removed).toEqual([
      '    - --kubelet-client-key=/a.key',
      '    - --kubelet-client-key=/b.key',
    ]);
  });

  it('edits only the kube-apiserver container, even when a sidecar has the same flag', () => {
    const text = pod(
      '  - name: sidecar\n    command: [proxy, --kubelet-client-key=/x]\n  - name: api\n    command:\n    - /usr/local/bin/kube-apiserver\n    - --a=1\n',
    );
    const out = setApiserverFlags(text, [{ name: KEY, value: '/k.key' }]).content;
    expect(out).toContain('command: [proxy, --kubelet-client-key=/x]\n');
    expect(out).toContain('    - --a=1\n    - --kubelet-client-key=/k.key\n');
  });

  it('flow sequences stay flow, with the new item in sorted position', () => {
    const text = pod('  - name: kube-apiserver\n    command: [kube-apiserver, --a=1, --z=2]\n');
    const out = setApiserverFlags(text, [{ name: KEY, value: '/k,1.key' }]).content;
    // A comma cannot sit in a plain flow scalar, so this one is quoted.
    expect(out).toContain('command: [kube-apiserver, --a=1, "--kubelet-client-key=/k,1.key", --z=2]\n');
    expectFixed(out, [{ name: KEY, value: '/k,1.key' }]);
  });

  it('JSON static pods stay JSON', () => {
    const text =
      '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "kube-apiserver"},\n  "spec": {\n    "containers": [\n      {\n        "name": "kube-apiserver",\n        "command": [\n          "kube-apiserver",\n          "--a=1"\n        ]\n      }\n    ]\n  }\n}\n';
    const out = setApiserverFlags(text, [{ name: KEY, value: '/k.key' }]).content;
    expect(JSON.parse(out).spec.containers[0].command).toEqual([
      'kube-apiserver',
      '--a=1',
      '--kubelet-client-key=/k.key',
    ]);
    expect(changedLines(text, out)).toEqual({
      removed: ['          "--a=1"'],
      added: ['          "--a=1",', '          "--kubelet-client-key=/k.key"'],
    });
  });

  it('mixed line endings: each line keeps its own, a new line copies the one it follows', () => {
    const text = pod(
      '  - name: kube-apiserver\r\n    command:\r\n    - kube-apiserver\r\n    - --a=1\n    - --b=1\r\n    - --z=1\n',
    );
    const out = setApiserverFlags(text, [
      { name: 'aa', value: '1' },
      { name: 'c', value: '1' },
    ]).content;
    expect(out.endsWith('    - --a=1\n    - --aa=1\n    - --b=1\r\n    - --c=1\r\n    - --z=1\n')).toBe(true);
  });

  it('a file without a final newline keeps not having one', () => {
    const text = pod('  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --a=1');
    const out = setApiserverFlags(text, [{ name: KEY, value: '/k.key' }]).content;
    expect(out.endsWith('    - --a=1\n    - --kubelet-client-key=/k.key')).toBe(true);
  });

  it('values that YAML would misread are quoted', () => {
    const text = pod('  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --a=1\n');
    const out = setApiserverFlags(text, [{ name: 'x', value: 'a #b' }]).content;
    expect(out).toContain('    - "--x=a #b"\n');
    expect(effective(out, 'x')).toBe('a #b');
  });
});

describe('setApiserverFlags refuses what it cannot edit safely', () => {
  it.each([
    ['lab-extra/kubeadm/etcd.yaml', /has no kube-apiserver container \(containers: etcd\)/],
    ['lab-extra/kubeadm/kube-scheduler.yaml', /has no kube-apiserver container/],
    ['kthw/kube-apiserver.service', /not valid YAML|not a Pod/],
  ])('%s', (path, message) => {
    expect(() => setApiserverFlags(fixture(path), KUBEADM)).toThrow(EditError);
    expect(() => setApiserverFlags(fixture(path), KUBEADM)).toThrow(message);
  });

  it.each([
    ['not YAML', 'spec: [\n', /not valid YAML/],
    ['multi-document', 'kind: Pod\n---\nkind: Pod\n', /2 YAML documents/],
    ['empty', '', /empty/],
    ['not a Pod', 'kind: Deployment\nspec: {}\n', /is a Deployment, not a Pod/],
    [
      'a shell wrapper',
      'kind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [sh, -c, "exec kube-apiserver --a=1"]\n',
      /through a shell/,
    ],
  ])('%s', (_name, text, message) => {
    expect(() => setApiserverFlags(text, KUBEADM)).toThrow(EditError);
    expect(() => setApiserverFlags(text, KUBEADM)).toThrow(message);
  });

  it('EditError.inFile puts the path in front', () => {
    try {
      setApiserverFlags(fixture('lab-extra/kubeadm/etcd.yaml'), KUBEADM);
    } catch (e) {
      expect((e as EditError).inFile('/etc/kubernetes/manifests/etcd.yaml').message).toBe(
        '/etc/kubernetes/manifests/etcd.yaml: the manifest has no kube-apiserver container (containers: etcd)',
      );
      return;
    }
    throw new Error('expected an EditError');
  });
});
