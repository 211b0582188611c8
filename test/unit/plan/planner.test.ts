import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runControls, DEFAULT_CONTROLS } from '../../../src/controls/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import type { Playbook } from '../../../src/playbook/types.js';
import { sha256, type Templates } from '../../../src/plan/change.js';
import { planNode } from '../../../src/plan/planner.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture, rke2Agent, type FakeNode } from '../support/fake-node.js';

const templates: Templates = {
  dropInYaml: readFileSync(new URL('../../../templates/kubelet.dropin.yaml', import.meta.url), 'utf8'),
  dropInJson: readFileSync(new URL('../../../templates/kubelet.dropin.json', import.meta.url), 'utf8'),
  systemdEnv: readFileSync(new URL('../../../templates/kubelet-env.dropin.conf', import.meta.url), 'utf8'),
  systemdExecStart: readFileSync(
    new URL('../../../templates/kubelet-execstart.dropin.conf', import.meta.url),
    'utf8',
  ),
};
const playbooks = loadBuiltinPlaybooks();
const pb = (name: string) => playbooks.find((p) => p.name === name)!;

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

function plan(node: FakeNode, playbook: Playbook, issueCerts = false) {
  const model = nodeModel(fakeFacts(node));
  const now = new Date();
  const results = runControls('n1', model, DEFAULT_CONTROLS, now);
  return planNode(
    { node: 'n1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:x' },
    model,
    results,
    playbook,
    { node: 'n1', templates, issueCerts },
    now,
  );
}

const PKI = '/etc/kubernetes/pki';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const unfixedManifest = () =>
  fixture('kubeadm/kube-apiserver.yaml').replace(/^.*--kubelet-client-.*\n/gm, '');
const argsOf = (manifest: string) => {
  const pod = parse(manifest) as { spec: { containers: { command: string[] }[] } };
  return pod.spec.containers[0]!.command;
};

const kubeadmCp = (over: Partial<FakeNode> = {}): FakeNode => ({
  processes: [
    { pid: 10, comm: 'kube-apiserver', argv: argsOf(unfixedManifest()) },
    { pid: 20, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'] },
  ],
  files: {
    [MANIFEST]: unfixedManifest(),
    '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.commented.yaml'),
    [`${PKI}/ca.crt`]: pki.caCrt,
    [`${PKI}/apiserver-kubelet-client.crt`]: pki.clientCrt,
  },
  keys: [`${PKI}/apiserver-kubelet-client.key`],
  pairs: [
    {
      cert: `${PKI}/apiserver-kubelet-client.crt`,
      key: `${PKI}/apiserver-kubelet-client.key`,
      result: 'match',
    },
  ],
  ...over,
});

describe('plan on a kubeadm control plane failing both controls', () => {
  it('plans the manifest flags and the kubelet config edit, with hashes, diffs and restarts', () => {
    const p = plan(kubeadmCp(), pb('kubeadm'));
    expect(p.status).toBe('change');
    expect(p.blocked).toEqual([]);
    const [manifest, config] = p.changes;
    expect(manifest).toMatchObject({
      control: 'apiserver-kubelet-client-cert',
      path: MANIFEST,
      action: 'modify',
      before: { sha256: sha256(unfixedManifest()) },
      restart: 'static-pod:kube-apiserver',
      durable: true,
    });
    expect(argsOf(manifest!.after.content)).toContain(
      `--kubelet-client-certificate=${PKI}/apiserver-kubelet-client.crt`,
    );
    expect(manifest!.diff).toContain(`--- a/n1${MANIFEST}`);
    expect(manifest!.diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      `+    - --kubelet-client-certificate=${PKI}/apiserver-kubelet-client.crt`,
      `+    - --kubelet-client-key=${PKI}/apiserver-kubelet-client.key`,
    ]);
    expect(config).toMatchObject({
      control: 'kubelet-client-ca',
      path: '/var/lib/kubelet/config.yaml',
      restart: 'kubelet',
    });
    expect(
      (parse(config!.after.content) as { authentication: { x509: { clientCAFile: string } } }).authentication
        .x509.clientCAFile,
    ).toBe(`${PKI}/ca.crt`);
  });

  it('blocks the apiserver fix when the pair is missing, with the kubeadm way out; the node is blocked, the kubelet fix kept for review', () => {
    const node = kubeadmCp({ keys: [] });
    const p = plan(node, pb('kubeadm'));
    expect(p.blocked).toEqual([
      {
        control: 'apiserver-kubelet-client-cert',
        reason: `key ${PKI}/apiserver-kubelet-client.key does not exist`,
        fix: 'kubeadm init phase certs apiserver-kubelet-client, or plan with --issue-certs to sign one on the node with the cluster CA',
      },
    ]);
    expect(p.changes.map((c) => c.control)).toEqual(['kubelet-client-ca']);
    // A failed preflight changes nothing: apply skips a blocked node, so it is never half fixed.
    expect(p.status).toBe('blocked');
  });

  it('blocks a pair the kube-apiserver pod does not mount: it would not start (custom certificatesDir)', () => {
    const node = kubeadmCp();
    // Every flag and the only certificate mount use /srv/k8s-pki; the playbook's pair is in /etc/kubernetes/pki.
    node.files![MANIFEST] = unfixedManifest().replaceAll('/etc/kubernetes/pki', '/srv/k8s-pki');
    const p = plan(node, pb('kubeadm'));
    const blocked = p.blocked.find((b) => b.control === 'apiserver-kubelet-client-cert');
    expect(blocked?.reason).toMatch(
      /does not mount \/etc\/kubernetes\/pki\/apiserver-kubelet-client.crt and .*key at the same path \(its hostPath mounts: .*\/srv\/k8s-pki/,
    );
    expect(p.changes.map((c) => c.path)).not.toContain(MANIFEST);
  });

  it("blocks when the client CA does not sign the apiserver's kubelet client certificate", () => {
    const node = kubeadmCp();
    node.files![`${PKI}/apiserver-kubelet-client.crt`] = pki.foreignClientCrt;
    const p = plan(node, pb('kubeadm'));
    expect(p.status).toBe('blocked');
    expect(p.blocked.map((b) => b.control).sort()).toEqual([
      'apiserver-kubelet-client-cert',
      'kubelet-client-ca',
    ]);
    expect(p.blocked.find((b) => b.control === 'kubelet-client-ca')?.reason).toMatch(/401/);
  });

  it('a compliant node plans nothing', () => {
    const fixed = fixture('kubeadm/kube-apiserver.yaml');
    const p = plan(
      kubeadmCp({
        processes: [
          { pid: 10, comm: 'kube-apiserver', argv: argsOf(fixed) },
          { pid: 20, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'] },
        ],
        files: {
          [MANIFEST]: fixed,
          '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.yaml'),
          [`${PKI}/ca.crt`]: pki.caCrt,
          [`${PKI}/apiserver-kubelet-client.crt`]: pki.clientCrt,
        },
      }),
      pb('kubeadm'),
    );
    expect(p).toMatchObject({ status: 'compliant', changes: [], blocked: [] });
  });
});

describe("hostile files: a parse failure is the node's error naming the file, never a crash", () => {
  // Nine anchors, each nine aliases of the one before: 9^9 values once expanded.
  const aliasBomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    ...'bcdefghi'.split('').map((k, i) => {
      const prev = 'abcdefghi'[i]!;
      return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`;
    }),
    '',
  ].join('\n');
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}\n`;

  it.each([
    ['an alias bomb', aliasBomb, 'Excessive alias count'],
    ['brackets nested 100000 deep', deep(100_000), 'nests [ and { more than 256 deep'],
  ])('%s in the static pod directory: audit error and a blocked plan, naming the file', (_, text, why) => {
    const bad = '/etc/kubernetes/manifests/zz-bomb.yaml';
    const node = kubeadmCp();
    node.files = { ...node.files, [bad]: text };
    const model = nodeModel(fakeFacts(node));
    const results = runControls('n1', model, DEFAULT_CONTROLS, new Date());
    const apiserver = results.find((r) => r.control === 'apiserver-kubelet-client-cert')!;
    expect(apiserver.status).toBe('error');
    expect(apiserver.reason).toContain(`${bad} does not parse`);
    expect(apiserver.reason).toContain(why);
    expect(plan(node, pb('kubeadm')).status).toBe('blocked');
  });

  it.each([
    ['an alias bomb', aliasBomb, 'Excessive alias count'],
    ['brackets nested 100000 deep', deep(100_000), 'nests [ and { more than 256 deep'],
  ])('%s as the kubelet config: audit error naming the file, plan blocked', (_, text, why) => {
    const node = kubeadmCp();
    node.files = { ...node.files, '/var/lib/kubelet/config.yaml': text };
    const results = runControls('n1', nodeModel(fakeFacts(node)), DEFAULT_CONTROLS, new Date());
    const kubelet = results.find((r) => r.control === 'kubelet-client-ca')!;
    expect(kubelet.status).toBe('error');
    expect(kubelet.reason).toContain('/var/lib/kubelet/config.yaml does not parse');
    expect(kubelet.reason).toContain(why);
    expect(plan(node, pb('kubeadm')).status).toBe('blocked');
  });

  // The yaml library would build a Set or a Buffer, where the kubelet's reader (JSON underneath)
  // sees something else: read as nothing, not as a value the kubelet does not have.
  it.each([
    ['a !!set under x509', 'authentication: {x509: !!set {a}}', 'the YAML tag !!set'],
    [
      'a !!binary client CA',
      'authentication: {x509: {clientCAFile: !!binary aGVsbG8=}}',
      'the YAML tag !!binary',
    ],
    [
      'a custom tag',
      'authentication: {x509: {clientCAFile: !ca /etc/kubernetes/pki/ca.crt}}',
      'the YAML tag !ca',
    ],
    [
      'a mapping key that is a list',
      '? [a, b]\n: c\nauthentication: {x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}}',
      'a mapping key is not a plain value',
    ],
  ])('%s in the kubelet config: audit error naming the file, plan blocked, no crash', (_, extra, why) => {
    const node = kubeadmCp();
    const text = `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n${extra}\n`;
    node.files = { ...node.files, '/var/lib/kubelet/config.yaml': text };
    const results = runControls('n1', nodeModel(fakeFacts(node)), DEFAULT_CONTROLS, new Date());
    const kubelet = results.find((r) => r.control === 'kubelet-client-ca')!;
    expect(kubelet.status).toBe('error');
    expect(kubelet.reason).toContain('/var/lib/kubelet/config.yaml does not parse');
    expect(kubelet.reason).toContain(why);
    expect(plan(node, pb('kubeadm')).status).toBe('blocked');
  });
});

describe('systemd escapes in the kubelet unit are undone before the unit is compared with the kubelet', () => {
  const withUnit = (
    execStart: string,
    argv: string[],
    config: string,
    extra: Partial<FakeNode> = {},
  ): FakeNode => ({
    processes: [{ pid: 20, comm: 'kubelet', argv }],
    kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: `[Unit]\n[Service]\n${execStart}\n` }],
    files: {
      [config]: fixture('kubeadm/config.commented.yaml'),
      [`${PKI}/ca.crt`]: pki.caCrt,
    },
    ...extra,
  });

  it('a --config path holding $ (written $$ in the unit) is planned, not blocked', () => {
    const config = '/etc/kube$let/config.yaml';
    const p = plan(
      withUnit(
        'ExecStart=/usr/bin/kubelet --config=/etc/kube$$let/config.yaml',
        ['/usr/bin/kubelet', `--config=${config}`],
        config,
      ),
      pb('kubeadm'),
    );
    expect(p.blocked).toEqual([]);
    expect(p.status).toBe('change');
    expect(p.changes.map((c) => c.path)).toEqual([config]);
  });

  it.each([
    [
      '%% for a percent sign',
      'ExecStart=/usr/bin/kubelet --config=/etc/kube%%let/config.yaml',
      '/etc/kube%let/config.yaml',
    ],
    [
      '%N and %p: the unit name without its suffix',
      'ExecStart=/usr/bin/kubelet --config=/etc/%N/%p.yaml',
      '/etc/kubelet/kubelet.yaml',
    ],
    [
      '%n: the full unit name',
      'ExecStart=/usr/bin/kubelet --config=/etc/k8s/%n.yaml',
      '/etc/k8s/kubelet.service.yaml',
    ],
    [
      "%S, %E and %t: the system manager's directories",
      'ExecStart=/usr/bin/kubelet --config=%S/kubelet/config.yaml --cert-dir=%t/kubelet --v=2',
      '/var/lib/kubelet/config.yaml',
    ],
    ["%h: root's home", 'ExecStart=/usr/bin/kubelet --config=%h/kubelet.yaml', '/root/kubelet.yaml'],
    ['\\x41, a C escape', 'ExecStart=/usr/bin/kubelet --config=/etc/\\x41/config.yaml', '/etc/A/config.yaml'],
    [
      '\\t inside double quotes',
      'ExecStart=/usr/bin/kubelet "--config=/etc/a\\tb/config.yaml"',
      '/etc/a\tb/config.yaml',
    ],
    [
      '\\\\ for a backslash',
      'ExecStart=/usr/bin/kubelet --config=/etc/a\\\\b/config.yaml',
      '/etc/a\\b/config.yaml',
    ],
    [
      '$$ inside ${VAR}-expanded text stays as the variable says',
      'Environment="CFG=/etc/k$$/config.yaml"\nExecStart=/usr/bin/kubelet --config=${CFG}',
      '/etc/k$$/config.yaml',
    ],
  ])('%s: read as the kubelet runs it, and planned', (_, execStart, config) => {
    const argv = ['/usr/bin/kubelet', `--config=${config}`];
    if (execStart.includes('--cert-dir')) argv.push('--cert-dir=/run/kubelet', '--v=2');
    const p = plan(withUnit(execStart, argv, config), pb('kubeadm'));
    expect(p.blocked).toEqual([]);
    expect(p.changes.map((c) => c.path)).toEqual([config]);
  });
});

describe('plan on kubelet layouts', () => {
  const al2023 = (withDropInDir: boolean): FakeNode => {
    const env = fixture('eks-al2023/environment');
    return {
      kubeletUnit: [
        { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2023/kubelet.service') },
      ],
      files: {
        '/etc/eks/kubelet/environment': withDropInDir
          ? env
          : env.replace(' --config-dir=/etc/kubernetes/kubelet/config.json.d', ''),
        '/etc/kubernetes/kubelet/config.json': fixture('eks-al2023/config.json').replace(
          /\s*"clientCAFile": "[^"]*"/,
          '',
        ),
        '/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf': fixture(
          'eks-al2023/config.json.d/40-nodeadm.conf',
        ),
        [`${PKI}/ca.crt`]: pki.caCrt,
      },
    };
  };

  it("AL2023 with --config-dir: a new JSON drop-in, sorted after nodeadm's", () => {
    const p = plan(al2023(true), pb('eks'));
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]).toMatchObject({
      path: '/etc/kubernetes/kubelet/config.json.d/90-kubemend-kubelet.conf',
      action: 'create',
      before: null,
      restart: 'kubelet',
      durable: true,
    });
    expect(JSON.parse(p.changes[0]!.after.content)).toMatchObject({
      authentication: { x509: { clientCAFile: `${PKI}/ca.crt` } },
    });
    expect(p.changes[0]!.diff).toContain('--- /dev/null');
  });

  it("a nodeadm drop-in that empties clientCAFile is left alone: kubemend's own drop-in sorts after it", () => {
    const node = al2023(true);
    node.files!['/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf'] =
      '{\n    "apiVersion": "kubelet.config.k8s.io/v1beta1",\n    "kind": "KubeletConfiguration",\n    "authentication": { "x509": { "clientCAFile": "" } }\n}\n';
    const p = plan(node, pb('eks'));
    expect(p.changes.map((c) => [c.action, c.path])).toEqual([
      ['create', '/etc/kubernetes/kubelet/config.json.d/90-kubemend-kubelet.conf'],
    ]);
  });

  it("a drop-in sorting after kubemend's that deletes clientCAFile (null) is fixed in place", () => {
    const node = al2023(true);
    node.files!['/etc/kubernetes/kubelet/config.json.d/99-local.conf'] =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: null\n';
    const p = plan(node, pb('eks'));
    expect(p.changes.map((c) => [c.action, c.path])).toEqual([
      ['modify', '/etc/kubernetes/kubelet/config.json.d/99-local.conf'],
    ]);
    expect(parse(p.changes[0]!.after.content)).toMatchObject({
      authentication: { x509: { clientCAFile: `${PKI}/ca.crt` } },
    });
  });

  it("a drop-in spelling clientCaFile beats kubemend's clientCAFile whatever the file order: it is fixed in place", () => {
    const node = al2023(true);
    node.files!['/etc/kubernetes/kubelet/config.json.d/10-user.conf'] =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCaFile: /etc/kubernetes/pki/nowhere.crt\n';
    const p = plan(node, pb('eks'));
    expect(p.changes.map((c) => [c.action, c.path])).toEqual([
      ['modify', '/etc/kubernetes/kubelet/config.json.d/10-user.conf'],
    ]);
    expect(p.changes[0]!.after.content).toContain(`    clientCAFile: ${PKI}/ca.crt\n`);
    expect(p.changes[0]!.after.content).not.toContain('clientCaFile');
  });

  it('a change that would not win is blocked, never planned: the planned files are read back as the kubelet would', () => {
    const node = al2023(true);
    const head =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n';
    node.files!['/etc/kubernetes/kubelet/config.json.d/10-a.conf'] = `${head}    clientCaFile: /a.crt\n`;
    node.files!['/etc/kubernetes/kubelet/config.json.d/20-b.conf'] = `${head}    clientcafile: /b.crt\n`;
    // clientcafile (20-b) wins today; renamed to clientCAFile it would lose to 10-a's clientCaFile.
    const p = plan(node, pb('eks'));
    expect(p.status).toBe('blocked');
    expect(p.changes).toEqual([]);
    expect(p.blocked[0]?.reason).toBe(
      `the change kubemend found (/etc/kubernetes/kubelet/config.json.d/20-b.conf) would not give the kubelet ${PKI}/ca.crt: authentication.x509.clientCaFile = "/a.crt" from /etc/kubernetes/kubelet/config.json.d/10-a.conf would still win`,
    );
  });

  it("a user drop-in that sorts after kubemend's and empties clientCAFile is fixed in place", () => {
    const node = al2023(true);
    node.files!['/etc/kubernetes/kubelet/config.json.d/99-user.conf'] =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: ""\n';
    const p = plan(node, pb('eks'));
    expect(p.changes.map((c) => [c.action, c.path])).toEqual([
      ['modify', '/etc/kubernetes/kubelet/config.json.d/99-user.conf'],
    ]);
  });

  it('AL2023 without --config-dir: edits config.json now, and says nodeadm will undo it at boot', () => {
    const p = plan(al2023(false), pb('eks'));
    expect(p.changes[0]).toMatchObject({
      path: '/etc/kubernetes/kubelet/config.json',
      action: 'modify',
      durable: false,
    });
    expect(p.changes[0]!.notes.join()).toMatch(/NodeConfig/);
  });

  it('AL2023 with an empty --client-ca-file in NODEADM_KUBELET_ARGS: fixed now, not durable, says where it lasts', () => {
    const node = al2023(false);
    const env = node.files!['/etc/eks/kubelet/environment']!;
    node.files!['/etc/eks/kubelet/environment'] = `${env.trimEnd()} --client-ca-file=\n`;
    const p = plan(node, pb('eks'));
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]).toMatchObject({ path: '/etc/eks/kubelet/environment', durable: false });
    expect(p.changes[0]!.notes.join()).toMatch(/spec\.kubelet\.flags/);
    expect(p.changes[0]!.after.content).toContain(`--client-ca-file=${PKI}/ca.crt`);
  });

  it('kubeadm: the config.yaml edit is durable: false, since kubeadm upgrade and join write it from the kubelet-config ConfigMap', () => {
    const node = kubeadmCp();
    node.files!['/var/lib/kubelet/kubeadm-flags.env'] = fixture('kubeadm/kubeadm-flags.env');
    const config = plan(node, pb('kubeadm')).changes.find((c) => c.control === 'kubelet-client-ca')!;
    expect(config).toMatchObject({ path: '/var/lib/kubelet/config.yaml', durable: false });
    expect(config.notes.join(' ')).toMatch(
      /kubelet-config ConfigMap.*kubectl -n kube-system edit cm kubelet-config/,
    );
  });

  it('kubespray: kubelet-config.yaml is rendered again on every playbook run: durable: false, the template named', () => {
    const p = plan(
      {
        kubeletUnit: [
          {
            path: '/etc/systemd/system/kubelet.service',
            text: fixture('lab-extra/units/kubespray-kubelet.service'),
          },
        ],
        files: {
          '/etc/kubernetes/kubelet.env': fixture('kubespray/kubelet.env'),
          '/etc/kubernetes/kubelet-config.yaml': fixture('kubespray/kubelet-config.yaml').replace(
            /^ {2}x509:\n {4}clientCAFile: .*\n/m,
            '',
          ),
          '/etc/kubernetes/ssl/ca.crt': pki.caCrt,
        },
      },
      pb('kubespray'),
    );
    expect(p.changes.map((c) => [c.path, c.durable])).toEqual([
      ['/etc/kubernetes/kubelet-config.yaml', false],
    ]);
    expect(p.changes[0]!.notes.join(' ')).toMatch(/every playbook run.*kube_cert_dir/);
  });

  it('EKS AL2: bootstrap.sh edits kubelet-config.json once, at first boot: the edit is durable', () => {
    const p = plan(
      {
        kubeletUnit: [
          { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2/kubelet.service') },
        ],
        files: {
          '/etc/kubernetes/kubelet/kubelet-config.json': fixture('eks-al2/kubelet-config.json').replace(
            /,\s*"x509": \{\s*"clientCAFile": "[^"]*"\s*\}/,
            '',
          ),
          [`${PKI}/ca.crt`]: pki.caCrt,
        },
      },
      pb('eks'),
    );
    expect(p.changes.map((c) => [c.path, c.durable, c.notes])).toEqual([
      ['/etc/kubernetes/kubelet/kubelet-config.json', true, []],
    ]);
  });

  it('kOps 2025 with an empty --client-ca-file flag: fixes the flag in /etc/sysconfig/kubelet', () => {
    const p = plan(
      {
        kubeletUnit: [
          {
            path: '/lib/systemd/system/kubelet.service',
            text: fixture('lab-extra/units/kops-kubelet.service'),
          },
        ],
        files: {
          '/etc/sysconfig/kubelet': fixture('kops/2025-flags-and-config/kubelet').replace(
            '--client-ca-file=/srv/kubernetes/ca.crt',
            '--client-ca-file=',
          ),
          '/var/lib/kubelet/kubelet.conf': fixture('kops/2025-flags-and-config/kubelet.conf'),
          '/srv/kubernetes/ca.crt': pki.caCrt,
        },
      },
      { ...pb('generic'), kubelet: { ...pb('generic').kubelet, clientCAFile: '/srv/kubernetes/ca.crt' } },
    );
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]).toMatchObject({ path: '/etc/sysconfig/kubelet', restart: 'kubelet' });
    expect(p.changes[0]!.after.content).toContain('--client-ca-file=/srv/kubernetes/ca.crt');
  });

  it('kubeadm 1.5 flags only: a systemd drop-in sets $KUBELET_EXTRA_ARGS, with a daemon-reload', () => {
    const p = plan(
      {
        kubeletUnit: [
          {
            path: '/lib/systemd/system/kubelet.service',
            text: fixture('lab-extra/units/kubeadm-kubelet.service'),
          },
          {
            path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
            text: fixture('kubeadm/legacy-v1.5/10-kubeadm.conf'),
          },
        ],
        files: { [`${PKI}/ca.crt`]: pki.caCrt },
      },
      pb('kubeadm'),
    );
    expect(p.changes[0]).toMatchObject({
      path: '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf',
      action: 'create',
      restart: 'kubelet+daemon-reload',
    });
    expect(p.changes[0]!.after.content).toContain(
      `Environment="KUBELET_EXTRA_ARGS=--client-ca-file=${PKI}/ca.crt"`,
    );
  });

  it('the CA bundle the fix points at is missing: blocked, with the way out', () => {
    const node = al2023(true);
    delete node.files![`${PKI}/ca.crt`];
    const p = plan(node, pb('eks'));
    expect(p.status).toBe('blocked');
    expect(p.blocked[0]?.reason).toBe(`client CA bundle ${PKI}/ca.crt does not exist on the node`);
  });
});

describe('plan on kubelets configured only on their command line', () => {
  const PKG_UNIT = '/usr/lib/systemd/system/kubelet.service';
  const ETCD_DROPIN = '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf';
  const ETCD_ARGV = [
    '/usr/bin/kubelet',
    '--address=127.0.0.1',
    '--pod-manifest-path=/etc/kubernetes/manifests',
    '--cgroup-driver=systemd',
  ];
  /** kubeadm's external-etcd node: packaged unit and 10-kubeadm.conf, the guide's 20- drop-in in /etc. */
  const etcdNode = (argv = ETCD_ARGV): FakeNode => ({
    processes: [{ pid: 31, comm: 'kubelet', argv }],
    kubeletUnit: [
      { path: PKG_UNIT, text: fixture('lab-extra/units/kubeadm-kubelet.service') },
      {
        path: '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf',
        text: fixture('kubeadm/10-kubeadm.conf'),
      },
      { path: ETCD_DROPIN, text: fixture('kubeadm/etcd-only/20-etcd-service-manager.conf') },
    ],
    files: { [`${PKI}/ca.crt`]: pki.caCrt },
  });

  it("external-etcd node: --client-ca-file is added to the 20- drop-in's ExecStart line in place, one line, with the reason", () => {
    const p = plan(etcdNode(), pb('kubeadm'));
    expect(p.status).toBe('change');
    expect(p.changes).toHaveLength(1);
    const c = p.changes[0]!;
    expect(c).toMatchObject({ path: ETCD_DROPIN, action: 'modify', restart: 'kubelet+daemon-reload' });
    expect(c.diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-ExecStart=/usr/bin/kubelet --address=127.0.0.1 --pod-manifest-path=/etc/kubernetes/manifests --cgroup-driver=systemd',
      `+ExecStart=/usr/bin/kubelet --address=127.0.0.1 --pod-manifest-path=/etc/kubernetes/manifests --cgroup-driver=systemd --client-ca-file=${PKI}/ca.crt`,
    ]);
    expect(c.notes.join(' ')).toMatch(
      /line 4\).*edited in place: it is the admin's own unit configuration under \/etc\/systemd/,
    );
    // The flags-only kubelet keeps the legacy defaults: the notes say what else must change.
    expect(c.notes.at(-1)).toMatch(
      /^After this change the kubelet still serves anyone: anonymous requests are enabled .*CIS 4\.2\.1.*CIS 4\.2\.2.*kubemend changes these only when asked: --controls kubelet-anonymous-auth,kubelet-authorization-mode \(opt-in;.*\)\.$/,
    );
    expect(c.after.content).not.toMatch(/anonymous-auth|authorization-mode/);
  });

  it("a hand-written unit in /usr/lib (packaged): kubemend's own drop-in resets ExecStart= and carries the same command line plus the flag", () => {
    const unit =
      '[Service]\nExecStart=/usr/bin/kubelet \\\n  --address=127.0.0.1 \\\n  --cgroup-driver=systemd\nRestart=always\n';
    const p = plan(
      {
        processes: [
          {
            pid: 32,
            comm: 'kubelet',
            argv: ['/usr/bin/kubelet', '--address=127.0.0.1', '--cgroup-driver=systemd'],
          },
        ],
        kubeletUnit: [
          { path: PKG_UNIT, text: unit },
          {
            path: '/usr/lib/systemd/system/kubelet.service.d/95-vendor.conf',
            text: '[Service]\nRestart=always\n',
          },
        ],
        files: { [`${PKI}/ca.crt`]: pki.caCrt },
      },
      pb('kubeadm'),
    );
    const c = p.changes[0]!;
    // 90- would sort before the vendor's 95- drop-in: the next name that sorts last is taken.
    expect(c).toMatchObject({
      path: '/etc/systemd/system/kubelet.service.d/99-kubemend-kubelet.conf',
      action: 'create',
      restart: 'kubelet+daemon-reload',
    });
    expect(c.after.content).toMatch(
      /\[Service\]\nExecStart=\nExecStart=\/usr\/bin\/kubelet \\\n {2}--address=127.0.0.1 \\\n {2}--client-ca-file=\/etc\/kubernetes\/pki\/ca.crt \\\n {2}--cgroup-driver=systemd\n$/,
    );
    expect(c.notes.join(' ')).toMatch(
      /belongs to the OS packages: a package upgrade would overwrite an edit there/,
    );
    // The unit as systemd would load it now: the package's file, its drop-in, then kubemend's.
    const next = nodeModel(
      fakeFacts({
        kubeletUnit: [
          { path: PKG_UNIT, text: unit },
          { path: c.path, text: c.after.content },
        ],
        files: { [`${PKI}/ca.crt`]: pki.caCrt },
      }),
    );
    expect(next.kubelet.unitArgv.map((w) => w.text)).toEqual([
      '/usr/bin/kubelet',
      '--address=127.0.0.1',
      `--client-ca-file=${PKI}/ca.crt`,
      '--cgroup-driver=systemd',
    ]);
  });

  it('a unit generated into /run is not edited either: it is written again at boot, kubemend writes its own drop-in', () => {
    const unit = '[Service]\nExecStart=/usr/bin/kubelet --address=127.0.0.1\n';
    const p = plan(
      {
        processes: [{ pid: 33, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--address=127.0.0.1'] }],
        kubeletUnit: [{ path: '/run/systemd/system/kubelet.service', text: unit }],
        files: { [`${PKI}/ca.crt`]: pki.caCrt },
      },
      pb('kubeadm'),
    );
    expect(p.changes.map((c) => [c.path, c.action, c.restart])).toEqual([
      ['/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf', 'create', 'kubelet+daemon-reload'],
    ]);
    const content = p.changes[0]?.after.content ?? '';
    expect(content).toContain('#   /run/systemd/system/kubelet.service\n');
    expect(content).toMatch(
      new RegExp(
        `\\n\\[Service\\]\\nExecStart=\\nExecStart=/usr/bin/kubelet --address=127\\.0\\.0\\.1 --client-ca-file=${PKI}/ca\\.crt\\n$`,
      ),
    );
  });

  it('a wrong --client-ca-file written on the line is corrected there', () => {
    const node = etcdNode([...ETCD_ARGV, '--client-ca-file=/etc/kubernetes/pki/old-ca.crt']);
    const unit = node.kubeletUnit![2]!;
    unit.text = unit.text.replace(
      '--cgroup-driver=systemd',
      '--cgroup-driver=systemd --client-ca-file=/etc/kubernetes/pki/old-ca.crt',
    );
    node.files!['/etc/kubernetes/pki/old-ca.crt'] = 'not a certificate\n';
    const p = plan(node, pb('kubeadm'));
    expect(p.changes[0]?.path).toBe(ETCD_DROPIN);
    expect(p.changes[0]?.after.content).toContain(`--cgroup-driver=systemd --client-ca-file=${PKI}/ca.crt\n`);
    expect(p.changes[0]?.after.content).not.toContain('old-ca.crt');
  });

  it('a running kubelet whose arguments are not what its unit gives now is blocked: the line would not be what runs', () => {
    const p = plan(etcdNode(['/usr/bin/kubelet', '--address=127.0.0.1', '--v=4']), pb('kubeadm'));
    expect(p.status).toBe('blocked');
    expect(p.blocked[0]?.reason).toMatch(
      /pid 31\) was not started with the command line .*20-etcd-service-manager.conf gives now/,
    );
  });
});

describe('plan on a kubelet that has its client CA and still serves anyone', () => {
  it('is compliant for 3.2.3, and the plan warns with CIS 4.2.1 and 4.2.2, changing nothing', () => {
    const etcd = fixture('kubeadm/etcd-only/20-etcd-service-manager.conf').replace(
      '--cgroup-driver=systemd',
      `--cgroup-driver=systemd --client-ca-file=${PKI}/ca.crt`,
    );
    const argv = [
      '/usr/bin/kubelet',
      '--address=127.0.0.1',
      '--pod-manifest-path=/etc/kubernetes/manifests',
      '--cgroup-driver=systemd',
      `--client-ca-file=${PKI}/ca.crt`,
    ];
    const p = plan(
      {
        processes: [{ pid: 31, comm: 'kubelet', argv }],
        kubeletUnit: [
          {
            path: '/usr/lib/systemd/system/kubelet.service',
            text: fixture('lab-extra/units/kubeadm-kubelet.service'),
          },
          { path: '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf', text: etcd },
        ],
        files: { [`${PKI}/ca.crt`]: pki.caCrt },
      },
      pb('kubeadm'),
    );
    expect(p.status).toBe('compliant');
    expect(p.changes).toEqual([]);
    expect(p.warnings).toEqual([
      expect.stringMatching(
        /^kubelet-client-ca: anonymous requests are enabled \(the legacy default of a kubelet without --config\) and authorization is AlwaysAllow .*CIS 4\.2\.1.*CIS 4\.2\.2.*--controls kubelet-anonymous-auth,kubelet-authorization-mode .*\)$/,
      ),
    ]);
  });
});

describe('plan on config files the kubelet reads but kubemend must be careful with', () => {
  const worker = (config: string): FakeNode => ({
    processes: [{ pid: 5, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/etc/kubelet/config.yaml'] }],
    files: { '/etc/kubelet/config.yaml': config, [`${PKI}/ca.crt`]: pki.caCrt },
  });

  it('YAML in flow style (starts with "{", not JSON) is edited as YAML', () => {
    const p = plan(
      worker(
        '{apiVersion: kubelet.config.k8s.io/v1beta1, kind: KubeletConfiguration, authentication: {x509: {}}}\n',
      ),
      pb('kubeadm'),
    );
    expect(p.status).toBe('change');
    expect(parse(p.changes[0]!.after.content)).toMatchObject({
      authentication: { x509: { clientCAFile: `${PKI}/ca.crt` } },
    });
  });

  it('a kubelet that kubelet.service does not run (renamed unit, snap) is blocked: kubemend could not restart it', () => {
    const model = nodeModel(
      fakeFacts(worker('apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n')),
    );
    model.facts.units.set('kubelet', { name: 'kubelet', show: { LoadState: 'not-found' }, cat: '' });
    const now = new Date();
    const p = planNode(
      { node: 'n1', host: '10.0.0.1', port: 22, hostKey: null },
      model,
      runControls('n1', model, DEFAULT_CONTROLS, now),
      pb('kubeadm'),
      { node: 'n1', templates },
      now,
    );
    expect(p.status).toBe('blocked');
    expect(p.blocked[0]?.reason).toMatch(/pid 5\) is not run by kubelet.service \(not-found\)/);
  });

  it('flags only: a ${VAR} (one argument in systemd) is not where a flag can be added; an export line sets nothing', () => {
    const unit = (exec: string): FakeNode => ({
      kubeletUnit: [
        {
          path: '/lib/systemd/system/kubelet.service',
          text: `[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=${exec}\n`,
        },
      ],
      files: { '/etc/default/kubelet': 'export KUBELET_EXTRA_ARGS="--v=2"\n', [`${PKI}/ca.crt`]: pki.caCrt },
    });
    // ${VAR} cannot carry the flag: the command line itself gets it, through kubemend's own
    // drop-in (the unit is the package's).
    const braced = plan(unit('/usr/bin/kubelet ${KUBELET_EXTRA_ARGS}'), pb('kubeadm'));
    expect(braced.changes.map((c) => c.path)).toEqual([
      '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf',
    ]);
    expect(braced.changes[0]?.after.content).toMatch(
      /\nExecStart=\nExecStart=\/usr\/bin\/kubelet \$\{KUBELET_EXTRA_ARGS\} --client-ca-file=\/etc\/kubernetes\/pki\/ca.crt\n$/,
    );
    // kOps quotes it ("$DAEMON_ARGS"): still a word of its own, split by systemd.
    expect(plan(unit('/usr/bin/kubelet "$KUBELET_EXTRA_ARGS"'), pb('kubeadm')).status).toBe('change');
    const plain = plan(unit('/usr/bin/kubelet $KUBELET_EXTRA_ARGS'), pb('kubeadm'));
    expect(plain.changes[0]?.path).toBe('/etc/default/kubelet');
    expect(plain.changes[0]?.after.content).toBe(
      `export KUBELET_EXTRA_ARGS="--v=2"\nKUBELET_EXTRA_ARGS="--client-ca-file=${PKI}/ca.crt"\n`,
    );
  });

  it('a --config file with a key twice (different values) blocks that node, and only that control: readers differ on which counts', () => {
    const p = plan(
      worker(
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmaxPods: 100\nmaxPods: 110\n',
      ),
      pb('kubeadm'),
    );
    expect(p.status).toBe('blocked');
    expect(p.blocked).toEqual([
      expect.objectContaining({
        control: 'kubelet-client-ca',
        reason: expect.stringMatching(
          /\/etc\/kubelet\/config.yaml: maxPods is given twice with different values/,
        ),
      }),
    ]);
  });
});

describe('plan on RKE2', () => {
  it('edits nothing: RKE2 rewrites its drop-ins and manifests at start; blocked, with config.yaml as the way out', () => {
    // the CA file is missing: the control fails
    const p = plan(rke2Agent(), pb('generic'));
    expect(p).toMatchObject({ layout: 'rke2', status: 'blocked', changes: [] });
    expect(p.blocked).toEqual([
      expect.objectContaining({
        control: 'kubelet-client-ca',
        fix: expect.stringMatching(/rke2\/config\.yaml/),
      }),
    ]);
  });
});

describe('plan --issue-certs', () => {
  const missingPair = (over: Partial<FakeNode> = {}) => {
    const node = kubeadmCp({ keys: [`${PKI}/ca.key`], pairs: [], ...over });
    delete node.files![`${PKI}/apiserver-kubelet-client.crt`];
    return node;
  };

  it('plans a pair signed on the node by the cluster CA, then the manifest change', () => {
    const p = plan(missingPair(), pb('kubeadm'), true);
    expect(p.blocked).toEqual([]);
    expect(p.issue).toEqual([
      {
        control: 'apiserver-kubelet-client-cert',
        certificate: `${PKI}/apiserver-kubelet-client.crt`,
        key: `${PKI}/apiserver-kubelet-client.key`,
        caCertificate: `${PKI}/ca.crt`,
        caKey: `${PKI}/ca.key`,
        subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
        days: 365,
      },
    ]);
    expect(p.changes.map((c) => c.path)).toContain(MANIFEST);
  });

  it('without the option, the missing pair blocks and the way out mentions it', () => {
    const p = plan(missingPair(), pb('kubeadm'));
    expect(p.issue).toBeUndefined();
    expect(p.blocked[0]?.fix).toMatch(/--issue-certs/);
  });

  it('never overwrites key material, and needs the CA key on the node', () => {
    const keyOnly = plan(
      missingPair({ keys: [`${PKI}/ca.key`, `${PKI}/apiserver-kubelet-client.key`] }),
      pb('kubeadm'),
      true,
    );
    expect(keyOnly.blocked[0]?.reason).toMatch(/does not overwrite key material/);
    const noCaKey = plan(missingPair({ keys: [] }), pb('kubeadm'), true);
    expect(noCaKey.blocked[0]?.reason).toMatch(/cluster CA key .*ca\.key is missing/);
  });
});

describe('a node where more than one root process could be the kubelet or the kube-apiserver', () => {
  it('plans no change for that component, blocked naming the candidates, whatever the files say', () => {
    const node = kubeadmCp();
    const facts = fakeFacts({ ...node, processes: node.processes!.filter((p) => p.comm !== 'kubelet') });
    facts.ignored = [
      { pid: 1313, ruid: 0, euid: 0, comm: 'kubelet', why: 'ambiguous' },
      { pid: 399, ruid: 0, euid: 0, comm: 'kubelet', why: 'ambiguous' },
    ];
    const model = nodeModel(facts);
    const now = new Date();
    const results = runControls('n1', model, DEFAULT_CONTROLS, now);
    expect(results.find((r) => r.control === 'kubelet-client-ca')).toMatchObject({
      status: 'error',
      reason: expect.stringContaining('1313 named kubelet (uid 0), 399 named kubelet (uid 0)') as unknown,
    });
    const p = planNode(
      { node: 'n1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:x' },
      model,
      results,
      pb('kubeadm'),
      { node: 'n1', templates, issueCerts: false },
      now,
    );
    expect(p.changes.filter((c) => c.control === 'kubelet-client-ca')).toEqual([]);
    expect(p.blocked?.find((b) => b.control === 'kubelet-client-ca')?.reason).toContain(
      "more than one root process could be the node's kubelet",
    );
  });
});
