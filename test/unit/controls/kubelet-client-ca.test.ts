import { beforeAll, describe, expect, it } from 'vitest';
import { kubeletClientCa } from '../../../src/controls/kubelet-client-ca/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import { fakeFacts, fixture, rke2Agent, type FakeNode } from '../support/fake-node.js';
import { makePki, type TestPki } from '../support/certs.js';
import { sourced } from '../support/evidence.js';

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
const now = new Date();
// Every result checked here also obeys the evidence rule (support/evidence.ts).
const check = (node: FakeNode) => sourced(kubeletClientCa.check(nodeModel(fakeFacts(node)), now));

const kubeadmUnit = (...dropIns: { path: string; text: string }[]) => [
  {
    path: '/usr/lib/systemd/system/kubelet.service',
    text: fixture('lab-extra/units/kubeadm-kubelet.service'),
  },
  {
    path: '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf',
    text: fixture('kubeadm/10-kubeadm.conf'),
  },
  ...dropIns,
];

describe('kubelet-client-ca on the PROVENANCE node bundles', () => {
  it('kubeadm worker (10-kubeadm.conf + kubeadm-flags.env + config.yaml): pass through the config file', () => {
    const r = check({
      kubeletUnit: kubeadmUnit(),
      files: {
        '/var/lib/kubelet/kubeadm-flags.env': fixture('kubeadm/kubeadm-flags.env'),
        '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.yaml'),
        '/etc/kubernetes/pki/ca.crt': pki.caCrt,
      },
    });
    expect(r.status).toBe('pass');
    expect(r.evidence).toContainEqual({
      source: '/var/lib/kubelet/config.yaml',
      key: 'authentication.x509.clientCAFile',
      value: '/etc/kubernetes/pki/ca.crt',
    });
    expect(r.warnings.join()).toMatch(/not running/);
  });

  it('kubeadm external-etcd node: the 20- drop-in resets ExecStart, so --config is gone: fail', () => {
    const r = check({
      kubeletUnit: kubeadmUnit({
        path: '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf',
        text: fixture('kubeadm/etcd-only/20-etcd-service-manager.conf'),
      }),
      files: {
        '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.yaml'),
        '/etc/kubernetes/pki/ca.crt': pki.caCrt,
      },
    });
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/neither --client-ca-file nor authentication.x509.clientCAFile is set/);
    // Not running: the command line is read from the unit, and the evidence names the line.
    expect(r.evidence.slice(0, 1)).toEqual([
      {
        source: '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf',
        key: 'ExecStart (line 4)',
        value:
          '/usr/bin/kubelet --address=127.0.0.1 --pod-manifest-path=/etc/kubernetes/manifests --cgroup-driver=systemd',
      },
    ]);
    // Running: /proc/PID/cmdline too.
    const running = check({
      processes: [
        {
          pid: 77,
          comm: 'kubelet',
          argv: [
            '/usr/bin/kubelet',
            '--address=127.0.0.1',
            '--pod-manifest-path=/etc/kubernetes/manifests',
            '--cgroup-driver=systemd',
          ],
        },
      ],
      kubeletUnit: kubeadmUnit({
        path: '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf',
        text: fixture('kubeadm/etcd-only/20-etcd-service-manager.conf'),
      }),
      files: { '/etc/kubernetes/pki/ca.crt': pki.caCrt },
    });
    expect(running.status).toBe('fail');
    expect(running.evidence.map((e) => `${e.source} ${e.key}`)).toEqual([
      '/proc/77/cmdline process',
      '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf ExecStart (line 4)',
      '/proc/77/cmdline authentication.anonymous.enabled (kubelet default without --config)',
      '/proc/77/cmdline authorization.mode (kubelet default without --config)',
    ]);
    // Without --config the kubelet runs on the legacy defaults: the open door is named.
    expect(running.warnings.join(' ')).toMatch(
      /anonymous requests are enabled \(the legacy default of a kubelet without --config\) and authorization is AlwaysAllow .*CIS 4\.2\.1.*CIS 4\.2\.2/,
    );
  });

  it('kubeadm 1.8 flags in Environment=: pass through the flag, naming the drop-in', () => {
    const r = check({
      kubeletUnit: [
        {
          path: '/lib/systemd/system/kubelet.service',
          text: fixture('lab-extra/units/kubeadm-kubelet.service'),
        },
        {
          path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
          text: fixture('kubeadm/legacy-v1.8/10-kubeadm.conf'),
        },
      ],
      files: { '/etc/kubernetes/pki/ca.crt': pki.caCrt },
    });
    expect(r.status).toBe('pass');
    expect(r.reason).toContain(
      '--client-ca-file flag (set in /etc/systemd/system/kubelet.service.d/10-kubeadm.conf via $KUBELET_AUTHZ_ARGS)',
    );
  });

  it('kubeadm 1.5: no flag and no config: fail', () => {
    const r = check({
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
    });
    expect(r.status).toBe('fail');
  });

  it('commented-out x509 block: fail', () => {
    const r = check({
      processes: [
        { pid: 42, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'] },
      ],
      files: { '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.commented.yaml') },
    });
    expect(r.status).toBe('fail');
    expect(r.evidence).toContainEqual({
      source: '/proc/42/cmdline',
      key: '--config',
      value: '/var/lib/kubelet/config.yaml',
    });
  });

  it('EKS AL2 (unit + 10-kubelet-args.conf + kubelet-config.json, space-separated --config): pass', () => {
    const r = check({
      kubeletUnit: [
        { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2/kubelet.service') },
        {
          path: '/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf',
          text: fixture('eks-al2/kubelet.service.d/10-kubelet-args.conf'),
        },
      ],
      files: {
        '/etc/kubernetes/kubelet/kubelet-config.json': fixture('eks-al2/kubelet-config.json'),
        '/etc/kubernetes/pki/ca.crt': pki.caCrt,
      },
    });
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('/etc/kubernetes/kubelet/kubelet-config.json');
  });

  const al2023 = (dropIn: string, extra: Record<string, string> = {}): FakeNode => ({
    kubeletUnit: [
      { path: '/etc/systemd/system/kubelet.service', text: fixture('eks-al2023/kubelet.service') },
    ],
    files: {
      '/etc/eks/kubelet/environment': fixture('eks-al2023/environment'),
      '/etc/kubernetes/kubelet/config.json': fixture('eks-al2023/config.json'),
      '/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf': dropIn,
      '/etc/kubernetes/pki/ca.crt': pki.caCrt,
      ...extra,
    },
  });

  it('EKS AL2023 with --config-dir: the drop-in keeps clientCAFile from config.json: pass', () => {
    const r = check(al2023(fixture('eks-al2023/config.json.d/40-nodeadm.conf')));
    expect(r.status).toBe('pass');
    expect(r.evidence.map((e) => e.source)).toContain(
      '/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf',
    );
  });

  it('a later drop-in that empties clientCAFile wins over config.json: fail naming the drop-in', () => {
    const r = check(
      al2023(fixture('eks-al2023/config.json.d/40-nodeadm.conf'), {
        '/etc/kubernetes/kubelet/config.json.d/50-user.conf':
          'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: ""\n',
        // not a .conf file: the kubelet skips it
        '/etc/kubernetes/kubelet/config.json.d/60-user.conf.bak':
          'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n',
      }),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('drop-in /etc/kubernetes/kubelet/config.json.d/50-user.conf is empty');
  });

  // filepath.WalkDir: the subdirectory 50/ is walked where its name sorts, before 50-a.conf.
  it("drop-ins apply in the kubelet's walk order: 50/x.conf before 50-a.conf, so 50-a.conf wins", () => {
    const empty =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: ""\n';
    const good =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n';
    const dir = '/etc/kubernetes/kubelet/config.json.d';
    const ok = check(
      al2023(fixture('eks-al2023/config.json.d/40-nodeadm.conf'), {
        [`${dir}/50/x.conf`]: empty,
        [`${dir}/50-a.conf`]: good,
      }),
    );
    expect(ok.status).toBe('pass');
    expect(ok.reason).toContain(`${dir}/50-a.conf`);
    const bad = check(
      al2023(fixture('eks-al2023/config.json.d/40-nodeadm.conf'), {
        [`${dir}/50/x.conf`]: good,
        [`${dir}/50-a.conf`]: empty,
      }),
    );
    expect(bad.status).toBe('fail');
    expect(bad.reason).toContain(`${dir}/50-a.conf`);
  });

  it('a drop-in whose authentication block is all commented out (null) deletes it, as a merge patch does: fail', () => {
    const r = check(
      al2023(fixture('eks-al2023/config.json.d/40-nodeadm.conf'), {
        '/etc/kubernetes/kubelet/config.json.d/50-user.conf':
          'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n#  x509:\n#    clientCAFile: /etc/kubernetes/pki/ca.crt\n',
      }),
    );
    expect(r.status).toBe('fail');
  });

  it('kOps 2025: config has x509: {} but the --client-ca-file flag wins: pass', () => {
    const r = check({
      kubeletUnit: [
        {
          path: '/lib/systemd/system/kubelet.service',
          text: fixture('lab-extra/units/kops-kubelet.service'),
        },
      ],
      files: {
        '/etc/sysconfig/kubelet': fixture('kops/2025-flags-and-config/kubelet'),
        '/var/lib/kubelet/kubelet.conf': fixture('kops/2025-flags-and-config/kubelet.conf'),
        '/srv/kubernetes/ca.crt': pki.caCrt,
      },
    });
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('--client-ca-file flag');
  });

  it('kOps legacy flags only, no CA: fail', () => {
    const r = check({
      kubeletUnit: [
        {
          path: '/lib/systemd/system/kubelet.service',
          text: fixture('lab-extra/units/kops-kubelet.service'),
        },
      ],
      files: { '/etc/sysconfig/kubelet': fixture('kops/legacy-2019/kubelet') },
    });
    expect(r.status).toBe('fail');
  });

  it('kubespray: follows --config to /etc/kubernetes/kubelet-config.yaml, not the unused /var/lib/kubelet/config.yaml', () => {
    const r = check({
      kubeletUnit: [
        {
          path: '/etc/systemd/system/kubelet.service',
          text: fixture('lab-extra/units/kubespray-kubelet.service'),
        },
      ],
      files: {
        '/etc/kubernetes/kubelet.env': fixture('kubespray/kubelet.env'),
        '/etc/kubernetes/kubelet-config.yaml': fixture('kubespray/kubelet-config.yaml'),
        '/var/lib/kubelet/config.yaml': fixture('kubeadm/config.commented.yaml'),
        '/etc/kubernetes/ssl/ca.crt': pki.caCrt,
      },
    });
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('/etc/kubernetes/kubelet-config.yaml');
  });

  it('Bottlerocket standalone config (no x509 block): fail', () => {
    const r = check({
      processes: [
        { pid: 7, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config', '/etc/kubernetes/kubelet/config'] },
      ],
      files: { '/etc/kubernetes/kubelet/config': fixture('bottlerocket/standalone-mode/config') },
    });
    expect(r.status).toBe('fail');
  });

  it('RKE2: --config-dir only, no --config (PROVENANCE: pass); k3s and microk8s: not supported (skip)', () => {
    const rke2 = check(rke2Agent({ '/var/lib/rancher/rke2/agent/client-ca.crt': pki.caCrt }));
    expect(rke2.status).toBe('pass');
    expect(rke2.reason).toContain('/var/lib/rancher/rke2/agent/etc/kubelet.conf.d/00-rke2-defaults.conf');
    const k3s = check({
      processes: [{ pid: 3, comm: 'k3s-server', argv: ['/usr/local/bin/k3s', 'server'] }],
      files: { '/etc/rancher/k3s/config.yaml': fixture('k3s/config.yaml') },
    });
    expect(k3s.status).toBe('skip');
    expect(k3s.reason).toMatch(/k3s nodes are not supported: .*kubelet-arg/);
    const microk8s = check({
      processes: [{ pid: 4, comm: 'kubelite', argv: ['/snap/microk8s/current/kubelite'] }],
    });
    expect(microk8s.status).toBe('skip');
    expect(microk8s.reason).toMatch(/microk8s nodes are not supported: .*args/);
  });
});

describe('kubelet-client-ca decisions', () => {
  const running = (
    config: string,
    files: Record<string, string> = {},
    extraArgs: string[] = [],
  ): FakeNode => ({
    processes: [
      {
        pid: 100,
        comm: 'kubelet',
        argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml', ...extraArgs],
      },
    ],
    files: { '/var/lib/kubelet/config.yaml': config, ...files },
  });
  const cfg = (x509: string) =>
    `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n${x509}\n`;

  it('no kubelet data at all: skip, not pass', () => {
    const r = check({});
    expect(r.status).toBe('skip');
    expect(r.reason).toMatch(/no kubelet/);
  });

  it('wrong-case clientCaFile fails with a hint that the kubelet ignores it', () => {
    const r = check(
      running(cfg('    clientCaFile: /etc/kubernetes/pki/ca.crt'), { '/etc/kubernetes/pki/ca.crt': 'x' }),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('"authentication.x509.clientCaFile", which the kubelet silently ignores');
  });

  describe('--config-dir drop-ins, as the kubelet reads them (node-facts §1.3)', () => {
    const DIR = '/etc/kubernetes/kubelet.conf.d';
    const HEAD = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';
    const dropIn = (x509: string) => `${HEAD}authentication:\n  x509:\n${x509}\n`;
    const node = (dropIns: Record<string, string>, cwd = '/', withConfig = true): FakeNode => ({
      processes: [
        {
          pid: 200,
          comm: 'kubelet',
          cwd,
          argv: [
            '/usr/bin/kubelet',
            ...(withConfig ? ['--config=/var/lib/kubelet/config.yaml'] : []),
            `--config-dir=${DIR}`,
          ],
        },
      ],
      files: {
        '/var/lib/kubelet/config.yaml': cfg('    clientCAFile: /etc/kubernetes/pki/ca.crt'),
        ...Object.fromEntries(Object.entries(dropIns).map(([name, text]) => [`${DIR}/${name}`, text])),
        '/etc/kubernetes/pki/ca.crt': pki.caCrt,
        '/srv/ca.crt': pki.caCrt,
        '/var/lib/kubelet/pki/ca.crt': pki.caCrt,
      },
    });

    it("a relative clientCAFile in a drop-in is opened against the kubelet's working directory, not the config's", () => {
      const r = check(node({ '50-ca.conf': dropIn('    clientCAFile: pki/ca.crt') }, '/srv/kubelet'));
      // /srv/kubelet/pki/ca.crt does not exist; /var/lib/kubelet/pki/ca.crt (beside the config) would have.
      expect(r.status).toBe('fail');
      expect(r.reason).toContain('client CA file /srv/kubelet/pki/ca.crt');
      expect(check(node({ '50-ca.conf': dropIn('    clientCAFile: srv/ca.crt') })).reason).toContain(
        'client CA /srv/ca.crt from authentication.x509.clientCAFile in drop-in /etc/kubernetes/kubelet.conf.d/50-ca.conf',
      );
    });

    it('clientCaFile in a drop-in takes effect (keys fold case there), with a warning about spellings', () => {
      const r = check(node({ '50-ca.conf': dropIn('    clientCaFile: /srv/ca.crt') }));
      expect(r.status).toBe('pass');
      expect(r.evidence).toContainEqual({
        source: `${DIR}/50-ca.conf`,
        key: 'authentication.x509.clientCaFile',
        value: '/srv/ca.crt',
      });
      expect(r.warnings.join(' ')).toMatch(/spells the key "authentication.x509.clientCaFile"/);
    });

    it('two spellings: the later in byte order wins, not the later file (clientCaFile > clientCAFile > ClientCAFile)', () => {
      const r = check(
        node({
          '10-a.conf': dropIn('    clientCaFile: /srv/ca.crt'),
          '90-b.conf': dropIn('    clientCAFile: /nowhere/ca.crt'),
        }),
      );
      expect(r.reason).toContain(
        `client CA /srv/ca.crt from authentication.x509.clientCaFile in drop-in ${DIR}/10-a.conf`,
      );
      const upper = check(
        node({
          '10-a.conf': dropIn('    clientCAFile: /srv/ca.crt'),
          '90-b.conf': dropIn('    ClientCAFile: /nowhere/ca.crt'),
        }),
      );
      expect(upper.reason).toContain(`from authentication.x509.clientCAFile in drop-in ${DIR}/10-a.conf`);
    });

    it('the --config file stays case-sensitive: its clientCaFile is ignored, drop-ins or not', () => {
      const r = check({
        ...node({}),
        files: {
          '/var/lib/kubelet/config.yaml': cfg('    clientCaFile: /etc/kubernetes/pki/ca.crt'),
          [`${DIR}/50-pods.conf`]: `${HEAD}maxPods: 100\n`,
          '/etc/kubernetes/pki/ca.crt': pki.caCrt,
        },
      });
      expect(r.status).toBe('fail');
      expect(r.reason).toContain('silently ignores');
    });

    it('--config-dir without --config: the drop-ins merge onto the legacy defaults (anonymous on, AlwaysAllow)', () => {
      const m = nodeModel(
        fakeFacts(node({ '50-ca.conf': dropIn('    clientCAFile: /srv/ca.crt') }, '/', false)),
      );
      expect(m.kubelet.clientCAFile?.value).toBe('/srv/ca.crt');
      expect(m.kubelet.settings).toMatchObject({
        defaults: 'legacy',
        anonymousEnabled: { value: true, layer: 'default' },
        authorizationMode: { value: 'AlwaysAllow', layer: 'default' },
        readOnlyPort: { value: 10255 },
      });
      const closed = nodeModel(
        fakeFacts(
          node(
            {
              '50-ca.conf': `${HEAD}authentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n`,
            },
            '/',
            false,
          ),
        ),
      );
      expect(closed.kubelet.settings).toMatchObject({
        anonymousEnabled: { value: false, layer: 'drop-in', source: `${DIR}/50-ca.conf` },
        authorizationMode: { value: 'Webhook', layer: 'drop-in' },
      });
    });
    it('a key twice in one drop-in is an error (the kubelet decodes drop-ins strictly and will not start); in --config it is not', () => {
      const twice = `${HEAD}authentication:\n  x509:\n    clientCAFile: /srv/ca.crt\n    clientCAFile: /srv/ca.crt\n`;
      const r = check(node({ '50-ca.conf': twice }));
      expect(r.status).toBe('error');
      expect(r.reason).toContain(`${DIR}/50-ca.conf has a key twice`);
      expect(r.reason).toContain('the kubelet decodes a drop-in strictly and refuses to start');
      // The same in the --config file: decoded leniently after a strict failure, the kubelet runs.
      const inConfig = node({ '50-ca.conf': HEAD });
      inConfig.files!['/var/lib/kubelet/config.yaml'] = twice;
      expect(check(inConfig).status).toBe('pass');
    });

    it('a drop-in kubemend cannot read whole is an error, not a pass: the kubelet merges it all the same', () => {
      const facts = fakeFacts(node({ '50-ca.conf': dropIn('    clientCAFile: /srv/ca.crt') }));
      const unreadable = `${DIR}/60-secret.conf`;
      facts.files.set(unreadable, { path: unreadable, status: 'unreadable' });
      const r = sourced(kubeletClientCa.check(nodeModel(facts), now));
      expect(r.status).toBe('error');
      expect(r.reason).toContain(
        `drop-in ${unreadable} is not readable by this user, and the kubelet merges it`,
      );

      const big = fakeFacts(node({ '70-big.conf': dropIn('    clientCAFile: /srv/ca.crt') }));
      const f = big.files.get(`${DIR}/70-big.conf`)!;
      big.files.set(f.path, { ...f, truncated: true, size: 9_000_000 });
      const t = sourced(kubeletClientCa.check(nodeModel(big), now));
      expect(t.status).toBe('error');
      expect(t.reason).toContain(`drop-in ${DIR}/70-big.conf is larger than kubemend reads (9000000 bytes)`);
    });

    it('a client CA of the wrong type is an error (a decode error stops the kubelet), in a drop-in or in --config', () => {
      const r = check(node({ '50-ca.conf': dropIn('    clientCAFile: 5') }));
      expect(r.status).toBe('error');
      expect(r.reason).toBe(
        `${DIR}/50-ca.conf sets authentication.x509.clientCAFile to 5, not a string: the kubelet refuses to start`,
      );
      const inConfig = node({ '50-ca.conf': HEAD });
      inConfig.files!['/var/lib/kubelet/config.yaml'] = cfg('    clientCAFile: [a, b]');
      expect(check(inConfig).reason).toContain(
        'sets authentication.x509.clientCAFile to ["a","b"], not a string',
      );
    });
  });

  it('a client CA with anonymous on and AlwaysAllow still passes 3.2.3, with a warning naming CIS 4.2.1 and 4.2.2', () => {
    const open = `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\nauthorization:\n  mode: AlwaysAllow\n`;
    const r = check(running(open, { '/etc/kubernetes/pki/ca.crt': pki.caCrt }));
    expect(r.status).toBe('pass');
    expect(r.warnings.join(' ')).toContain(
      "anonymous requests are enabled (authentication.anonymous.enabled in /var/lib/kubelet/config.yaml) and authorization is AlwaysAllow (authorization.mode in /var/lib/kubelet/config.yaml): anyone who reaches the kubelet's port 10250 is served",
    );
    expect(r.warnings.join(' ')).toMatch(
      /CIS 4\.2\.1: set --anonymous-auth=false .*CIS 4\.2\.2: set --authorization-mode=Webhook/,
    );
    // A flag closes it: --anonymous-auth=false beats the file.
    const closed = check(
      running(open, { '/etc/kubernetes/pki/ca.crt': pki.caCrt }, ['--anonymous-auth=false']),
    );
    expect(closed.warnings.join(' ')).not.toContain('anonymous requests are enabled');
    // With --config, the v1beta1 defaults (anonymous off, Webhook): no warning.
    const defaults = check(
      running(cfg('    clientCAFile: /etc/kubernetes/pki/ca.crt'), {
        '/etc/kubernetes/pki/ca.crt': pki.caCrt,
      }),
    );
    expect(defaults.warnings.join(' ')).not.toContain('anonymous requests are enabled');
  });

  it('CA file missing: fail, naming the file and where it was set', () => {
    const r = check(running(cfg('    clientCAFile: /etc/kubernetes/pki/ca.crt')));
    expect(r.status).toBe('fail');
    expect(r.reason).toBe(
      'client CA file /etc/kubernetes/pki/ca.crt (from authentication.x509.clientCAFile in /var/lib/kubelet/config.yaml) does not exist; the kubelet will not start with it',
    );
  });

  it('CA file without a PEM certificate: fail', () => {
    const r = check(running(cfg('    clientCAFile: /ca.crt'), { '/ca.crt': 'not a cert\n' }));
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/holds no PEM certificate/);
  });

  it('YAML as the kubelet decodes it: a trailing --- is harmless, merge keys merge', () => {
    const trailing = check(running(`${cfg('    clientCAFile: /ca.crt')}---\n`, { '/ca.crt': pki.caCrt }));
    expect(trailing.status).toBe('pass');
    const merged = check(
      running(
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nx-ca: &ca\n  clientCAFile: /ca.crt\nauthentication:\n  x509:\n    <<: *ca\n',
        { '/ca.crt': pki.caCrt },
      ),
    );
    expect(merged.status).toBe('pass');
  });

  it("a stopped kubelet: a relative --config resolves against its unit's WorkingDirectory", () => {
    const r = check({
      kubeletUnit: [
        {
          path: '/etc/systemd/system/kubelet.service',
          text: '[Service]\nWorkingDirectory=/var/lib/kubelet\nExecStart=/usr/bin/kubelet --config=config.yaml\n',
        },
      ],
      files: { '/var/lib/kubelet/config.yaml': cfg('    clientCAFile: /ca.crt'), '/ca.crt': pki.caCrt },
    });
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('/var/lib/kubelet/config.yaml');
  });

  it('a config without apiVersion is an error: the kubelet does not start with it', () => {
    const noApiVersion = cfg('    clientCAFile: /ca.crt').replace(
      'apiVersion: kubelet.config.k8s.io/v1beta1\n',
      '',
    );
    const r = check(running(noApiVersion, { '/ca.crt': pki.caCrt }));
    expect(r.status).toBe('error');
    expect(r.reason).toMatch(/config.yaml has no apiVersion/);
  });

  it('relative clientCAFile resolves against the config file directory', () => {
    const r = check(
      running(cfg('    clientCAFile: pki/ca.crt'), { '/var/lib/kubelet/pki/ca.crt': pki.caCrt }),
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('/var/lib/kubelet/pki/ca.crt');
  });

  it('an empty --client-ca-file flag beats a good config file', () => {
    const r = check(
      running(cfg('    clientCAFile: /ca.crt'), { '/ca.crt': pki.caCrt }, ['--client-ca-file=']),
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('the --client-ca-file flag is empty');
  });

  it('config file named by --config is missing: error, not pass or fail', () => {
    const r = check({
      processes: [{ pid: 5, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config', '/nope.yaml'] }],
    });
    expect(r.status).toBe('error');
    expect(r.reason).toContain('/nope.yaml (from --config) does not exist');
  });

  it('JSON config with a syntax error: error naming the file', () => {
    const r = check(running('{ "kind": "KubeletConfiguration", '));
    expect(r.status).toBe('error');
    expect(r.reason).toContain('/var/lib/kubelet/config.yaml does not parse');
  });
});

describe('kOps kubelet.conf on its own', () => {
  it('a KubeletConfiguration YAML with a .conf name and zero-value serialisation: pass', () => {
    const r = kubeletClientCa.check(
      nodeModel(
        fakeFacts({
          processes: [
            {
              pid: 3,
              comm: 'kubelet',
              argv: ['/usr/local/bin/kubelet', '--config=/var/lib/kubelet/kubelet.conf'],
            },
          ],
          files: {
            '/var/lib/kubelet/kubelet.conf': fixture('kops/kubelet.conf'),
            '/srv/kubernetes/ca.crt': pki.caCrt,
          },
        }),
      ),
      now,
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toBe(
      'client CA /srv/kubernetes/ca.crt from authentication.x509.clientCAFile in /var/lib/kubelet/kubelet.conf',
    );
  });
});
