// Layouts beyond the lab's first ones (issue 11, node-facts §9): how each is detected, audited and
// planned, on the files in test/unit/fixtures (see PROVENANCE.md there).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLS, runControls } from '../../../src/controls/index.js';
import { kubeletHealth } from '../../../src/facts/kubelet-health.js';
import { nodeModel } from '../../../src/facts/model.js';
import { loadBuiltinPlaybooks, playbookFor } from '../../../src/playbook/load.js';
import type { Templates } from '../../../src/plan/change.js';
import { planNode } from '../../../src/plan/planner.js';
import { makePki, type TestPki } from '../support/certs.js';
import { sourced } from '../support/evidence.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

const local = (rel: string) => readFileSync(new URL(`../fixtures/${rel}`, import.meta.url), 'utf8');
const template = (name: string) =>
  readFileSync(new URL(`../../../templates/${name}`, import.meta.url), 'utf8');
const templates: Templates = {
  dropInYaml: template('kubelet.dropin.yaml'),
  dropInJson: template('kubelet.dropin.json'),
  systemdEnv: template('kubelet-env.dropin.conf'),
  systemdExecStart: template('kubelet-execstart.dropin.conf'),
};
const playbooks = loadBuiltinPlaybooks();

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

function audit(node: FakeNode) {
  const model = nodeModel(fakeFacts(node));
  const now = new Date();
  const results = runControls('n1', model, DEFAULT_CONTROLS, now).map(sourced);
  const kubelet = results.find((r) => r.control === 'kubelet-client-ca')!;
  const plan = planNode(
    { node: 'n1', host: '10.0.0.1', port: 22, hostKey: null },
    model,
    results,
    playbookFor(model.layout, {}, playbooks),
    { node: 'n1', templates },
    now,
  );
  return { model, results, kubelet, plan };
}

const AKS_CONFIG = '/etc/default/kubeletconfig.json';
const aks = (config = local('aks/kubeletconfig.json')): FakeNode => ({
  processes: [
    {
      pid: 41,
      comm: 'kubelet',
      argv: [
        '/usr/local/bin/kubelet',
        '--enable-server',
        '--node-labels=agentpool=nodepool1',
        '--v=2',
        '--config',
        AKS_CONFIG,
        '--kubeconfig',
        '/var/lib/kubelet/kubeconfig',
        '--cloud-provider=external',
      ],
    },
  ],
  kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: local('aks/kubelet.service') }],
  files: {
    '/etc/default/kubelet': local('aks/kubelet'),
    [AKS_CONFIG]: config,
    '/etc/kubernetes/certs/ca.crt': pki.caCrt,
  },
});

const GKE_CONFIG = '/home/kubernetes/kubelet-config.yaml';
const GKE_CA = '/etc/srv/kubernetes/pki/ca-certificates.crt';
const gke = (env = local('gke/kubelet')): FakeNode => ({
  kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: local('gke/kubelet.service') }],
  files: {
    '/etc/default/kubelet': env,
    [GKE_CONFIG]: local('gke/kubelet-config.yaml'),
    [GKE_CA]: pki.caCrt,
  },
});

describe('AKS (AgentBaker)', () => {
  it('is detected, reads --config given after a space, passes with the AKS CA path', () => {
    const { model, kubelet, results } = audit(aks());
    expect(model.layout).toBe('aks');
    expect(model.kubelet.config?.path).toBe(AKS_CONFIG);
    expect(kubelet.status).toBe('pass');
    expect(kubelet.reason).toBe(
      `client CA /etc/kubernetes/certs/ca.crt from authentication.x509.clientCAFile in ${AKS_CONFIG}`,
    );
    // Azure runs the control plane.
    expect(results.find((r) => r.control === 'apiserver-kubelet-client-cert')).toMatchObject({
      status: 'skip',
      reason: 'AKS: the control plane is managed by Azure; there is no kube-apiserver on this node to check',
    });
  });

  it('without the x509 block: plans the JSON edit in place, its 4-space style kept, AKS CA path', () => {
    const broken = local('aks/kubeletconfig.json').replace(
      /\n {8}"x509": \{\n {12}"clientCAFile": "\/etc\/kubernetes\/certs\/ca.crt"\n {8}\},/,
      '',
    );
    expect(broken).not.toContain('x509');
    const { kubelet, plan } = audit(aks(broken));
    expect(kubelet.status).toBe('fail');
    expect(plan.status).toBe('change');
    expect(plan.playbook).toBe('aks');
    const c = plan.changes[0]!;
    expect(c).toMatchObject({ path: AKS_CONFIG, action: 'modify', restart: 'kubelet', durable: true });
    expect(JSON.parse(c.after.content).authentication.x509).toEqual({
      clientCAFile: '/etc/kubernetes/certs/ca.crt',
    });
    expect(c.diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      // The key goes after the last one of "authentication", which gains the comma JSON needs.
      '-        "anonymous": {}',
      '+        "anonymous": {},',
      '+        "x509": {',
      '+            "clientCAFile": "/etc/kubernetes/certs/ca.crt"',
      '+        }',
    ]);
  });
});

describe('AKS flags only', () => {
  it('without --config: --client-ca-file goes into KUBELET_FLAGS of /etc/default/kubelet, one flag more', () => {
    const unit = local('aks/kubelet.service').replace(
      '        --config /etc/default/kubeletconfig.json \\\n',
      '',
    );
    expect(unit).not.toContain('--config ');
    const { kubelet, plan } = audit({
      kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: unit }],
      files: { '/etc/default/kubelet': local('aks/kubelet'), '/etc/kubernetes/certs/ca.crt': pki.caCrt },
    });
    expect(kubelet.status).toBe('fail');
    expect(plan.status).toBe('change');
    const c = plan.changes[0]!;
    expect(c).toMatchObject({ path: '/etc/default/kubelet', action: 'modify', restart: 'kubelet' });
    expect(c.after.content).toBe(
      local('aks/kubelet').replace(
        '--rotate-server-certificates=true\n',
        '--rotate-server-certificates=true --client-ca-file=/etc/kubernetes/certs/ca.crt\n',
      ),
    );
  });
});

describe('GKE / GCE (configure-helper.sh)', () => {
  it('is detected through KUBELET_OPTS, passes through /home/kubernetes/kubelet-config.yaml', () => {
    const { model, kubelet } = audit(gke());
    expect(model.layout).toBe('gke');
    expect(model.kubelet.config?.path).toBe(GKE_CONFIG);
    expect(kubelet.status).toBe('pass');
    expect(kubelet.evidence).toContainEqual({
      source: '/etc/systemd/system/kubelet.service',
      key: 'ExecStart (line 10)',
      value: '/home/kubernetes/bin/kubelet $KUBELET_OPTS',
    });
  });

  it('without the x509 block: plans the one-key YAML edit in /home/kubernetes/kubelet-config.yaml', () => {
    const node = gke();
    node.files![GKE_CONFIG] = local('gke/kubelet-config.yaml').replace(
      'authentication:\n  x509:\n    clientCAFile: /etc/srv/kubernetes/pki/ca-certificates.crt\n',
      '',
    );
    const { kubelet, plan } = audit(node);
    expect(kubelet.status).toBe('fail');
    expect(plan.status).toBe('change');
    expect(plan.changes).toHaveLength(1);
    const c = plan.changes[0]!;
    expect(c).toMatchObject({ path: GKE_CONFIG, action: 'modify', restart: 'kubelet' });
    expect(c.diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '+authentication:',
      '+  x509:',
      `+    clientCAFile: ${GKE_CA}`,
    ]);
  });

  it('flags only (no --config): the flag goes into KUBELET_OPTS in /etc/default/kubelet, quoting kept; the open door is noted', () => {
    const env = local('gke/kubelet').replace(' --config /home/kubernetes/kubelet-config.yaml', '');
    const { kubelet, plan } = audit(gke(env));
    expect(kubelet.status).toBe('fail');
    expect(kubelet.warnings.join(' ')).toMatch(/CIS 4\.2\.1.*CIS 4\.2\.2/);
    const c = plan.changes[0]!;
    expect(c).toMatchObject({ path: '/etc/default/kubelet', restart: 'kubelet' });
    expect(c.after.content).toBe(
      // The trailing space configure-helper leaves inside the quotes stays where it was.
      env.replace('containerd.service "', `containerd.service --client-ca-file=${GKE_CA} "`),
    );
    expect(c.notes.join(' ')).toMatch(/After this change the kubelet still serves anyone/);
  });
});

// GKE / GCE nodes are configured at every boot: kube-node-installation.service runs configure.sh,
// which downloads kubelet-config.yaml from the instance metadata, and kube-node-configuration.service
// runs configure-helper.sh, whose start-kubelet writes /etc/default/kubelet and kubelet.service.
describe('GKE / GCE: an edit lasts until the next boot, and the plan says so', () => {
  const noX509 = () => {
    const node = gke();
    node.files![GKE_CONFIG] = local('gke/kubelet-config.yaml').replace(
      'authentication:\n  x509:\n    clientCAFile: /etc/srv/kubernetes/pki/ca-certificates.crt\n',
      '',
    );
    return node;
  };

  it('the kubelet-config.yaml edit is durable: false, the note names the metadata download and the node pool', () => {
    const c = audit(noX509()).plan.changes[0]!;
    expect(c).toMatchObject({ path: GKE_CONFIG, durable: false });
    const note = c.notes.join(' ');
    expect(note).toMatch(
      /configure\.sh fetches \/home\/kubernetes\/kubelet-config\.yaml from the instance metadata/,
    );
    expect(note).toMatch(/lasts until the next reboot/);
    expect(note).toMatch(/node pool's kubelet configuration/);
    expect(note).toMatch(/gcloud container node-pools update --system-config-from-file/);
  });

  it('the KUBELET_OPTS edit in /etc/default/kubelet is durable: false (configure-helper.sh writes it at boot)', () => {
    const env = local('gke/kubelet').replace(' --config /home/kubernetes/kubelet-config.yaml', '');
    const c = audit(gke(env)).plan.changes[0]!;
    expect(c).toMatchObject({ path: '/etc/default/kubelet', durable: false });
    expect(c.notes.join(' ')).toMatch(/configure-helper\.sh writes \/etc\/default\/kubelet/);
  });

  it('on Container-Optimized OS the note adds that /etc is a tmpfs', () => {
    const node = noX509();
    node.files!['/etc/os-release'] = 'NAME="Container-Optimized OS"\nID=cos\n';
    const c = audit(node).plan.changes[0]!;
    expect(c.durable).toBe(false);
    expect(c.notes.join(' ')).toMatch(/On Container-Optimized OS \/etc is a tmpfs/);
  });

  it('AKS: AgentBaker writes kubeletconfig.json only when it provisions the node (CSE), so the edit is durable', () => {
    const broken = local('aks/kubeletconfig.json').replace(
      /\n {8}"x509": \{\n {12}"clientCAFile": "[^"]*"\n {8}\},/,
      '',
    );
    expect(audit(aks(broken)).plan.changes.map((c) => [c.path, c.durable, c.notes])).toEqual([
      [AKS_CONFIG, true, []],
    ]);
  });
});

describe('Flatcar / Typhoon', () => {
  const flatcar = (): FakeNode => {
    const node: FakeNode = {
      processes: [
        {
          pid: 900,
          comm: 'kubelet',
          argv: [
            '/usr/local/bin/kubelet',
            '--bootstrap-kubeconfig=/etc/kubernetes/kubeconfig',
            '--config=/etc/kubernetes/kubelet.yaml',
          ],
        },
      ],
      kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: local('flatcar/kubelet.service') }],
      files: {
        '/etc/os-release': 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\n',
        '/etc/kubernetes/kubelet.yaml': local('flatcar/kubelet.yaml'),
        '/etc/kubernetes/ca.crt': pki.caCrt,
      },
    };
    return node;
  };

  it('passes, and says the CA file is rewritten by ExecStartPre at every start', () => {
    const { model, kubelet, plan } = audit(flatcar());
    expect(model.layout).toBe('flatcar');
    expect(kubelet.status).toBe('pass');
    expect(kubelet.warnings.join(' ')).toContain(
      'the client CA file /etc/kubernetes/ca.crt is written by an ExecStartPre= of kubelet.service (/etc/systemd/system/kubelet.service) when the kubelet starts',
    );
    expect(kubelet.evidence).toContainEqual(
      expect.objectContaining({ key: 'ExecStartPre', source: '/etc/systemd/system/kubelet.service' }),
    );
    expect(plan.status).toBe('compliant');
  });

  it('without a client CA: the plan sets it, and its notes say the CA file is rewritten by ExecStartPre at every start', () => {
    const node = flatcar();
    const config = node.files!['/etc/kubernetes/kubelet.yaml']!;
    node.files!['/etc/kubernetes/kubelet.yaml'] = config.replace(/^ {2}x509:\n {4}clientCAFile: .*\n/m, '');
    expect(node.files!['/etc/kubernetes/kubelet.yaml']).not.toBe(config);
    const { kubelet, plan } = audit(node);
    expect(kubelet.status).toBe('fail');
    expect(plan.changes.map((c) => c.path)).toEqual(['/etc/kubernetes/kubelet.yaml']);
    expect(plan.changes[0]?.after.content).toContain('clientCAFile: /etc/kubernetes/ca.crt');
    expect(plan.changes[0]?.notes).toContainEqual(
      expect.stringMatching(
        /^The client CA \/etc\/kubernetes\/ca\.crt is written by an ExecStartPre= of kubelet\.service \(\/etc\/systemd\/system\/kubelet\.service\) when the kubelet starts/,
      ),
    );
  });

  it('health: no healthz (healthzPort 0), prove it on 10250; MainPID is docker, the kubelet is found by comm and --config', () => {
    const node = flatcar();
    const model = nodeModel(fakeFacts(node));
    model.facts.units.get('kubelet')!.show['MainPID'] = '850';
    expect(kubeletHealth(model)).toEqual({
      healthzUrl: null,
      securePort: { address: '127.0.0.1', port: 10250 },
      readOnlyPort: null,
      mainPidIsKubelet: false,
      process: { comm: 'kubelet', argvIncludes: ['--config=/etc/kubernetes/kubelet.yaml'] },
      notes: [
        'healthzPort is 0 (healthzPort in /etc/kubernetes/kubelet.yaml): the kubelet has no healthz server; prove health on its API port instead',
        "kubelet.service's MainPID 850 is not the kubelet (pid 900): it runs it through docker",
      ],
    });
  });

  it('health elsewhere: the healthz URL the config names, the read-only port when on, MainPID the kubelet', () => {
    const { model } = audit(gke());
    expect(kubeletHealth(model)).toMatchObject({
      healthzUrl: 'http://127.0.0.1:10248/healthz',
      readOnlyPort: { address: '127.0.0.1', port: 10255 },
      mainPidIsKubelet: true,
      process: { argvIncludes: ['--config', GKE_CONFIG] },
    });
    const custom = nodeModel(
      fakeFacts({
        processes: [
          {
            pid: 5,
            comm: 'kubelet',
            argv: [
              '/usr/bin/kubelet',
              '--healthz-port=10400',
              '--healthz-bind-address=0.0.0.0',
              '--address=10.1.2.3',
            ],
          },
        ],
      }),
    );
    custom.facts.units.get('kubelet')!.show['MainPID'] = '5';
    expect(kubeletHealth(custom)).toMatchObject({
      healthzUrl: 'http://127.0.0.1:10400/healthz',
      securePort: { address: '10.1.2.3', port: 10250 },
      readOnlyPort: { port: 10255 }, // no --config: legacy default read-only port
      mainPidIsKubelet: true,
      process: { comm: 'kubelet', argvIncludes: [] },
    });
  });

  it('health probes go only to an IP address and a real port: anything else in the config is not followed', () => {
    const health = (...flags: string[]) =>
      kubeletHealth(
        nodeModel(
          fakeFacts({ processes: [{ pid: 5, comm: 'kubelet', argv: ['/usr/bin/kubelet', ...flags] }] }),
        ),
      );
    expect(health('--healthz-bind-address=gw.example/x?', '--address=evil.example/#')).toMatchObject({
      healthzUrl: 'http://127.0.0.1:10248/healthz',
      securePort: { address: '127.0.0.1', port: 10250 },
    });
    expect(health('--healthz-bind-address=fd00::5', '--address=[fd00::6]', '--port=99999')).toMatchObject({
      healthzUrl: 'http://[fd00::5]:10248/healthz',
      securePort: { address: '[fd00::6]', port: 10250 },
    });
  });
});

describe('distributions kubemend audits but never edits over SSH', () => {
  const blockedWith = (node: FakeNode, layout: string, fix: RegExp) => {
    const { model, kubelet, plan } = audit(node);
    expect(model.layout).toBe(layout);
    expect(kubelet.status).toBe('fail');
    // The audit says it too, with the same way out; the plan says it once, as the block.
    expect(kubelet.warnings.at(-1)).toMatch(/^not fixable over SSH: /);
    expect(kubelet.warnings.at(-1)).toMatch(fix);
    expect(plan.status).toBe('blocked');
    expect(plan.changes).toEqual([]);
    expect(plan.blocked[0]?.fix).toMatch(fix);
    expect((plan.warnings ?? []).join(' ')).not.toContain('not fixable over SSH');
    return plan;
  };

  it('k0s: its config is rewritten at every start; the way out is the k0s worker profile', () => {
    const config = local('k0s/kubelet-config.yaml');
    const k0s = (text: string): FakeNode => ({
      processes: [
        { pid: 70, comm: 'k0s', argv: ['/usr/local/bin/k0s', 'worker'] },
        {
          pid: 71,
          comm: 'kubelet',
          argv: ['/var/lib/k0s/bin/kubelet', '--config=/var/lib/k0s/kubelet-config.yaml'],
        },
      ],
      files: { '/var/lib/k0s/kubelet-config.yaml': text, '/var/lib/k0s/pki/ca.crt': pki.caCrt },
    });
    expect(audit(k0s(config)).kubelet.status).toBe('pass');
    const plan = blockedWith(
      k0s(config.replace(/ {2}x509:\n.*\n/, '')),
      'k0s',
      /workerProfiles|kubelet-extra-args/,
    );
    expect(plan.blocked[0]?.reason).toMatch(/rewrites|writes \/var\/lib\/k0s\/kubelet-config.yaml again/);
  });

  it('OpenShift: the machine-config daemon owns the files; the way out is a KubeletConfig CR', () => {
    blockedWith(
      {
        processes: [
          { pid: 80, comm: 'kubelet', argv: ['/usr/bin/kubelet', '--config=/etc/kubernetes/kubelet.conf'] },
        ],
        kubeletUnit: [
          { path: '/etc/systemd/system/kubelet.service', text: local('openshift/kubelet.service') },
        ],
        files: {
          '/etc/os-release': 'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\n',
          '/etc/kubernetes/kubelet.conf':
            '{"kind":"KubeletConfiguration","apiVersion":"kubelet.config.k8s.io/v1beta1","authentication":{"x509":{}}}\n',
        },
      },
      'openshift',
      /KubeletConfig custom resource/,
    );
  });

  it('RKE1: a kubelet in a Docker container, no unit; passes as RKE runs it, and a failure is blocked with cluster.yml and rke up as the way out', () => {
    const argv = local('rke1/kubelet.cmdline').trimEnd().split('\n');
    const rke1 = (words: string[]): FakeNode => ({
      processes: [{ pid: 90, comm: 'kubelet', argv: words }],
      files: { '/etc/kubernetes/ssl/kube-ca.pem': pki.caCrt },
    });
    const { model, kubelet, plan } = audit(rke1(argv));
    expect(model.layout).toBe('rke1');
    expect(kubelet.status).toBe('pass');
    expect(kubelet.reason).toBe('client CA /etc/kubernetes/ssl/kube-ca.pem from the --client-ca-file flag');
    expect(plan.status).toBe('compliant');
    // With the client CA flag taken away (an extra_args override of an empty value, say): never edited.
    const emptied = argv.map((w) => (w.startsWith('--client-ca-file=') ? '--client-ca-file=' : w));
    blockedWith(rke1(emptied), 'rke1', /cluster\.yml.*rke up/);
  });

  it('Bottlerocket (standalone mode): fails with the open door named, never edited; the way out is the settings API', () => {
    const node: FakeNode = {
      processes: [
        {
          pid: 95,
          comm: 'kubelet',
          argv: ['/usr/bin/kubelet', '--config', '/etc/kubernetes/kubelet/config'],
        },
      ],
      files: {
        '/etc/os-release': 'NAME=Bottlerocket\nID=bottlerocket\n',
        '/etc/kubernetes/kubelet/config': fixture('bottlerocket/standalone-mode/config'),
      },
    };
    blockedWith(node, 'bottlerocket', /settings API/);
    expect(audit(node).kubelet.warnings.join(' ')).toMatch(
      /anonymous requests are enabled \(authentication.anonymous.enabled in \/etc\/kubernetes\/kubelet\/config\)/,
    );
  });
});
