import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { EditError, setKubeletClientCA } from '../../../src/edits/index.js';
import { changedLines, expectGolden, fixture } from './helpers.js';

const PKI_CA = '/etc/kubernetes/pki/ca.crt';

/** authentication.x509.clientCAFile as the kubelet would read it (case-sensitive keys). */
function clientCA(text: string, format: 'yaml' | 'json'): unknown {
  const config = (format === 'json' ? JSON.parse(text) : parseDocument(text).toJS()) as {
    authentication?: { x509?: { clientCAFile?: unknown } };
  };
  return config.authentication?.x509?.clientCAFile;
}

function expectValid(text: string, format: 'yaml' | 'json', ca: string) {
  if (format === 'yaml') expect(parseDocument(text).errors).toEqual([]);
  expect(clientCA(text, format)).toBe(ca);
}

function expectIdempotent(text: string, ca: string, format: 'yaml' | 'json') {
  const once = setKubeletClientCA(text, ca, format).content;
  const twice = setKubeletClientCA(once, ca, format);
  expect(twice.changed).toBe(false);
  expect(twice.content).toBe(once);
}

describe('already-correct configs come back byte for byte', () => {
  it.each([
    ['kubeadm/config.yaml', PKI_CA, 'yaml'],
    ['kubespray/kubelet-config.yaml', '/etc/kubernetes/ssl/ca.crt', 'yaml'],
    ['kops/kubelet.conf', '/srv/kubernetes/ca.crt', 'yaml'],
    ['rke2/00-rke2-defaults.conf', '/var/lib/rancher/rke2/agent/client-ca.crt', 'yaml'],
    ['eks-al2/kubelet-config.json', PKI_CA, 'json'],
    ['eks-al2023/config.json', PKI_CA, 'json'],
  ] as const)('%s', (path, ca, format) => {
    const text = fixture(path);
    const out = setKubeletClientCA(text, ca, format);
    expect(out.changed).toBe(false);
    expect(out.content).toBe(text);
  });
});

describe('golden edits of the fixtures (YAML)', () => {
  it('kubeadm/config.commented.yaml: adds x509 after the commented-out block, every comment kept', () => {
    const text = fixture('kubeadm/config.commented.yaml');
    const out = setKubeletClientCA(text, PKI_CA, 'yaml').content;
    expectGolden('kubeadm/config.commented.yaml', out);
    expectValid(out, 'yaml', PKI_CA);
    expect(changedLines(text, out)).toEqual({
      removed: [],
      added: ['  x509:', '    clientCAFile: /etc/kubernetes/pki/ca.crt'],
    });
    for (const comment of text.split('\n').filter((l) => l.includes('#'))) expect(out).toContain(comment);
    expectIdempotent(text, PKI_CA, 'yaml');
  });

  it('kops/2025-flags-and-config/kubelet.conf: `x509: {}` becomes a block, as kOps writes it when set', () => {
    const text = fixture('kops/2025-flags-and-config/kubelet.conf');
    const out = setKubeletClientCA(text, '/srv/kubernetes/ca.crt', 'yaml').content;
    expectGolden('kops/2025-flags-and-config/kubelet.conf', out);
    expectValid(out, 'yaml', '/srv/kubernetes/ca.crt');
    expect(changedLines(text, out)).toEqual({
      removed: ['  x509: {}'],
      added: ['  x509:', '    clientCAFile: /srv/kubernetes/ca.crt'],
    });
    // Same shape as the current kOps file that has the field set.
    expect(out).toContain(fixture('kops/kubelet.conf').split('\n').slice(6, 8).join('\n'));
    expectIdempotent(text, '/srv/kubernetes/ca.crt', 'yaml');
  });

  it('bottlerocket standalone config (leading ---, no x509): appends x509 to authentication', () => {
    const text = fixture('bottlerocket/standalone-mode/config');
    const out = setKubeletClientCA(text, PKI_CA, 'yaml').content;
    expectGolden('bottlerocket/standalone-mode/config', out);
    expectValid(out, 'yaml', PKI_CA);
    expect(changedLines(text, out).removed).toEqual([]);
    expect(changedLines(text, out).added).toHaveLength(2);
    expectIdempotent(text, PKI_CA, 'yaml');
  });

  it('kubespray/kubelet-config.yaml with another CA: one line changes, `key : value` and `True` untouched', () => {
    const text = fixture('kubespray/kubelet-config.yaml');
    const out = setKubeletClientCA(text, PKI_CA, 'yaml').content;
    expectGolden('kubespray/kubelet-config.yaml.other-ca', out);
    expectValid(out, 'yaml', PKI_CA);
    expect(changedLines(text, out)).toEqual({
      removed: ['    clientCAFile: /etc/kubernetes/ssl/ca.crt'],
      added: ['    clientCAFile: /etc/kubernetes/pki/ca.crt'],
    });
    expect(out).toContain('containerRuntimeEndpoint : unix:///var/run/containerd/containerd.sock\n');
    expect(out).toContain('failSwapOn: True\n');
  });

  it('kubeadm/config.yaml without its x509 block: puts it back exactly as kubeadm wrote it', () => {
    const original = fixture('kubeadm/config.yaml');
    const text = original.replace('  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n', '');
    expect(setKubeletClientCA(text, PKI_CA, 'yaml').content).toBe(original);
  });

  it('kubeadm/config.yaml without authentication: adds it in sorted position (the keys are sorted)', () => {
    const original = fixture('kubeadm/config.yaml');
    const text = original.replace(/^authentication:\n(?: .*\n)+/m, '');
    const out = setKubeletClientCA(text, PKI_CA, 'yaml').content;
    expectGolden('kubeadm/config.yaml.no-authentication', out);
    expect(out.split('\n').slice(0, 6)).toEqual([
      'address: 0.0.0.0',
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'authentication:',
      '  x509:',
      '    clientCAFile: /etc/kubernetes/pki/ca.crt',
      'authorization:',
    ]);
  });
});

describe('golden edits of the fixtures (JSON)', () => {
  it.each(['eks-al2/kubelet-config.json', 'eks-al2023/config.json'])(
    '%s without x509: puts it back byte for byte (indentation 2 vs 4 kept)',
    (path) => {
      const original = fixture(path);
      const text = original.replace(/,\n *"x509": \{\n *"clientCAFile": "[^"]*"\n *\}/, '');
      expect(text).not.toContain('x509');
      const out = setKubeletClientCA(text, PKI_CA, 'json');
      expect(out.content).toBe(original);
      // Three lines more; at most the `}` of webhook (which gains a comma) counts as changed.
      const { removed, added } = changedLines(text, out.content);
      expect(removed.length).toBeLessThanOrEqual(1);
      expect(added.length - removed.length).toBe(3);
    },
  );

  it('eks-al2/kubelet-config.json without authentication: appended at the end, one-line array untouched', () => {
    const text = fixture('eks-al2/kubelet-config.json').replace(
      / {2}"authentication": \{\n(?: {4}.*\n)+ {2}\},\n/,
      '',
    );
    expect(text).not.toContain('authentication');
    const out = setKubeletClientCA(text, PKI_CA, 'json').content;
    expectGolden('eks-al2/kubelet-config.json.no-authentication', out);
    expectValid(out, 'json', PKI_CA);
    const { removed, added } = changedLines(text, out);
    expect(removed).toEqual([expect.stringMatching(/^ {2}"tlsCipherSuites": \[.*\]$/)]);
    expect(added).toHaveLength(6); // that line with a comma, then the five-line block
  });

  it('eks-al2023/config.json.d/40-nodeadm.conf (a JSON drop-in): gains authentication, 4-space style', () => {
    const text = fixture('eks-al2023/config.json.d/40-nodeadm.conf');
    const out = setKubeletClientCA(text, PKI_CA, 'json').content;
    expectGolden('eks-al2023/config.json.d/40-nodeadm.conf', out);
    expectValid(out, 'json', PKI_CA);
    expect(out).toContain('\n    "authentication": {\n        "x509": {\n            "clientCAFile"');
    expectIdempotent(text, PKI_CA, 'json');
  });

  it('eks-al2023/config.json with another CA: only the value line changes', () => {
    const text = fixture('eks-al2023/config.json');
    const out = setKubeletClientCA(text, '/etc/eks/other-ca.crt', 'json').content;
    expect(changedLines(text, out)).toEqual({
      removed: ['            "clientCAFile": "/etc/kubernetes/pki/ca.crt"'],
      added: ['            "clientCAFile": "/etc/eks/other-ca.crt"'],
    });
  });

  it('keeps a missing final newline missing', () => {
    const text = fixture('eks-al2023/config.json')
      .replace(/\n$/, '')
      .replace('"/etc/kubernetes/pki/ca.crt"', '""');
    const out = setKubeletClientCA(text, PKI_CA, 'json').content;
    expect(out.endsWith('}')).toBe(true);
    expect(out).toBe(fixture('eks-al2023/config.json').replace(/\n$/, ''));
  });

  it('a .yaml/.conf file that holds JSON is edited as JSON', () => {
    const text = fixture('eks-al2023/config.json.d/40-nodeadm.conf');
    expect(setKubeletClientCA(text, PKI_CA, 'yaml').content).toBe(
      setKubeletClientCA(text, PKI_CA, 'json').content,
    );
  });
});

describe('YAML shapes', () => {
  const head = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';

  it.each([
    ['clientCaFile', 'authentication:\n  x509:\n    clientCaFile: /etc/kubernetes/pki/ca.crt\n'],
    ['ClientCAFile', 'authentication:\n  x509:\n    ClientCAFile: /old.crt\n'],
    ['X509', 'authentication:\n  X509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n'],
    ['Authentication', 'Authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n'],
  ])('renames the wrong-case key %s in place', (_name, body) => {
    const text = head + body;
    const out = setKubeletClientCA(text, PKI_CA, 'yaml').content;
    expect(out).toBe(`${head}authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n`);
  });

  it.each([
    ['empty', '    clientCAFile:\n', '    clientCAFile: /etc/kubernetes/pki/ca.crt\n'],
    ['""', '    clientCAFile: ""\n', '    clientCAFile: "/etc/kubernetes/pki/ca.crt"\n'],
    ["''", "    clientCAFile: '' # set me\n", "    clientCAFile: '/etc/kubernetes/pki/ca.crt' # set me\n"],
    ['null', '    clientCAFile: null\n', '    clientCAFile: /etc/kubernetes/pki/ca.crt\n'],
  ])('replaces an %s value, keeping its quoting and comment', (_name, line, fixed) => {
    const text = `${head}authentication:\n  x509:\n${line}readOnlyPort: 0\n`;
    expect(setKubeletClientCA(text, PKI_CA, 'yaml').content).toBe(
      `${head}authentication:\n  x509:\n${fixed}readOnlyPort: 0\n`,
    );
  });

  it('fills `authentication:` with no value, in the file’s 4-space indentation', () => {
    const text = `${head}authentication:\nauthorization:\n    mode: Webhook\n`;
    expect(setKubeletClientCA(text, PKI_CA, 'yaml').content).toBe(
      `${head}authentication:\n    x509:\n        clientCAFile: /etc/kubernetes/pki/ca.crt\nauthorization:\n    mode: Webhook\n`,
    );
  });

  it('`authentication: {}` and `x509: ~` become blocks; trailing comments stay on their line', () => {
    expect(setKubeletClientCA(`${head}authentication: {}  # todo\n`, PKI_CA, 'yaml').content).toBe(
      `${head}authentication:  # todo\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n`,
    );
    expect(setKubeletClientCA(`${head}authentication:\n  x509: ~\n`, PKI_CA, 'yaml').content).toBe(
      `${head}authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n`,
    );
  });

  it('flow maps stay flow', () => {
    expect(
      setKubeletClientCA(`${head}authentication: {anonymous: {enabled: false}}\n`, PKI_CA, 'yaml').content,
    ).toBe(
      `${head}authentication: {anonymous: {enabled: false}, x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}}\n`,
    );
    expect(setKubeletClientCA(`${head}authentication: {x509: {}}\n`, PKI_CA, 'yaml').content).toBe(
      `${head}authentication: {x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}}\n`,
    );
  });

  it('a config without authentication and unsorted keys gets it at the end, CRLF and no final newline kept', () => {
    const text = 'kind: KubeletConfiguration\r\napiVersion: kubelet.config.k8s.io/v1beta1\r\nreadOnlyPort: 0';
    expect(setKubeletClientCA(text, PKI_CA, 'yaml').content).toBe(
      'kind: KubeletConfiguration\r\napiVersion: kubelet.config.k8s.io/v1beta1\r\nreadOnlyPort: 0\r\nauthentication:\r\n  x509:\r\n    clientCAFile: /etc/kubernetes/pki/ca.crt',
    );
  });

  it('paths YAML would misread are quoted', () => {
    const out = setKubeletClientCA(`${head}authentication:\n  x509: {}\n`, '/ca #1.crt', 'yaml').content;
    expectValid(out, 'yaml', '/ca #1.crt');
  });
});

describe('JSON shapes', () => {
  it('renames a wrong-case key and fills an empty object inline when the parent is one line', () => {
    const text = '{"kind": "KubeletConfiguration", "Authentication": {"x509": {}}}\n';
    expect(setKubeletClientCA(text, PKI_CA, 'json').content).toBe(
      '{"kind": "KubeletConfiguration", "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}}\n',
    );
  });

  it('replaces null and non-string values', () => {
    const text = '{\n  "authentication": {\n    "x509": {\n      "clientCAFile": null\n    }\n  }\n}';
    expect(setKubeletClientCA(text, PKI_CA, 'json').content).toBe(text.replace('null', `"${PKI_CA}"`));
  });

  it('expands an empty x509 object over lines in a multi-line file, CRLF kept', () => {
    const text = '{\r\n  "authentication": {\r\n    "x509": {}\r\n  }\r\n}\r\n';
    expect(setKubeletClientCA(text, PKI_CA, 'json').content).toBe(
      '{\r\n  "authentication": {\r\n    "x509": {\r\n      "clientCAFile": "/etc/kubernetes/pki/ca.crt"\r\n    }\r\n  }\r\n}\r\n',
    );
  });
});

describe('setKubeletClientCA refuses what it cannot edit safely', () => {
  it.each([
    [
      'authentication is a scalar',
      'kind: KubeletConfiguration\nauthentication: true\n',
      'yaml',
      /authentication .* is the scalar true, expected a mapping/,
    ],
    ['x509 is a list', 'authentication:\n  x509: [a]\n', 'yaml', /authentication\.x509 .* is a list/],
    [
      'clientCAFile is a map',
      'authentication:\n  x509:\n    clientCAFile: {a: 1}\n',
      'yaml',
      /expected a file path/,
    ],
    ['not YAML', 'authentication: [\n', 'yaml', /not valid YAML/],
    [
      'multi-document',
      'kind: KubeletConfiguration\n---\nkind: KubeletConfiguration\n',
      'yaml',
      /2 YAML documents/,
    ],
    ['empty', '', 'yaml', /empty/],
    ['a list', '- a\n', 'yaml', /not a mapping/],
    ['another kind', 'kind: KubeProxyConfiguration\n', 'yaml', /not a KubeletConfiguration/],
    ['not JSON', '{"a": 1,}', 'json', /not valid JSON: expected a "key" at line 1, column 9/],
    [
      'JSON authentication scalar',
      '{"authentication": "x"}',
      'json',
      /is the scalar "x", expected an object/,
    ],
    ['JSON array', '[]', 'json', /not a JSON object/],
  ] as const)('%s', (_name, text, format, message) => {
    expect(() => setKubeletClientCA(text, PKI_CA, format)).toThrow(EditError);
    expect(() => setKubeletClientCA(text, PKI_CA, format)).toThrow(message);
  });

  it('an empty or multi-line CA path', () => {
    expect(() => setKubeletClientCA('kind: KubeletConfiguration\n', '', 'yaml')).toThrow(EditError);
    expect(() => setKubeletClientCA('kind: KubeletConfiguration\n', 'a\nb', 'yaml')).toThrow(EditError);
  });
});
