/**
 * The kubelet reads its flags and its --config file in ways a naive reader does not: `_` in a flag
 * name is `-` (component-base's WordSepNormalizeFunc), a bool flag takes Go's ParseBool spellings
 * (`1`, `t`, `True`), and a key given twice or through a `<<` merge is read differently by the YAML
 * and JSON readers involved. Each of these once made a kubelet control pass while the kubelet still
 * served anonymous requests or allowed every request (an attacker review, reproduced here).
 */
import { describe, expect, it } from 'vitest';
import { CONTROLS, runControls } from '../../../src/controls/index.js';
import { setApiserverFlags, setFlagInEnvFile, setFlagOnExecStart } from '../../../src/edits/index.js';
import { goBool, goInt, parseFlags } from '../../../src/facts/flags.js';
import { nodeModel } from '../../../src/facts/model.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planNode } from '../../../src/plan/planner.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';
import { builtinTemplates } from '../support/templates.js';

const templates = builtinTemplates();
const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
const HEAD = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';
const CLOSED = `${HEAD}authentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n`;
const Y = '/var/lib/kubelet/config.yaml';

function kubelet(flags: string[], cfgPath = Y, cfg = CLOSED): FakeNode {
  return {
    processes: [
      {
        pid: 9,
        comm: 'kubelet',
        argv: [
          '/usr/bin/kubelet',
          `--config=${cfgPath}`,
          '--kubeconfig=/etc/kubernetes/kubelet.conf',
          ...flags,
        ],
      } as never,
    ],
    files: { [cfgPath]: cfg, '/etc/kubernetes/kubelet.conf': 'x' },
  };
}

function judge(node: FakeNode): Record<string, string> {
  const model = nodeModel(fakeFacts(node));
  const results = runControls(
    'w1',
    model,
    CONTROLS.filter((c) => c.id !== 'apiserver-kubelet-client-cert'),
    new Date(),
  );
  return Object.fromEntries(results.map((r) => [r.control, `${r.status}: ${r.reason}`]));
}

describe('flags as the kubelet and kube-apiserver parse them', () => {
  it('`_` in a name is `-`; Go ParseBool and ParseInt(s, 0, 64) spellings', () => {
    expect(
      parseFlags(['k', '--anonymous_auth=true', '--client_ca_file', '/x']).map((f) => [f.name, f.value]),
    ).toEqual([
      ['anonymous-auth', 'true'],
      ['client-ca-file', '/x'],
    ]);
    for (const v of ['1', 't', 'T', 'true', 'True', 'TRUE']) expect(goBool(v)).toBe(true);
    for (const v of ['0', 'f', 'F', 'false', 'False', 'FALSE']) expect(goBool(v)).toBe(false);
    for (const v of ['', 'yes', 'on', 'tRUE']) expect(goBool(v)).toBeUndefined();
    expect([goInt('10255'), goInt('0'), goInt('010'), goInt('0x2817'), goInt('0b11'), goInt('-1')]).toEqual([
      10255, 0, 8, 10263, 3, -1,
    ]);
    expect([goInt('1_000'), goInt('0x_10'), goInt('ten'), goInt('')]).toEqual([
      undefined,
      16,
      undefined,
      undefined,
    ]);
  });
});

describe('a kubelet flag spelled another way still wins over the files', () => {
  it('--anonymous_auth=true and --authorization_mode=AlwaysAllow fail 4.2.1 and 4.2.2 (the file says closed)', () => {
    const by = judge(kubelet(['--anonymous_auth=true', '--authorization_mode=AlwaysAllow']));
    expect(by['kubelet-anonymous-auth']).toMatch(/^fail: .*the --anonymous-auth flag/);
    expect(by['kubelet-authorization-mode']).toMatch(/^fail: authorization.mode is "AlwaysAllow"/);
  });

  it('--anonymous-auth=1, =t, =True, =TRUE are true; =0 is false', () => {
    for (const v of ['1', 't', 'True', 'TRUE'])
      expect(judge(kubelet([`--anonymous-auth=${v}`]))['kubelet-anonymous-auth']).toMatch(/^fail: /);
    expect(judge(kubelet(['--anonymous-auth=0']))['kubelet-anonymous-auth']).toMatch(/^pass: /);
  });

  it('a flag value kubemend cannot read is an error naming it, never a fall-through to the files', () => {
    const by = judge(kubelet(['--anonymous-auth=maybe']));
    expect(by['kubelet-anonymous-auth']).toMatch(/^error: .*--anonymous-auth="maybe"/);
  });

  it('--client_ca_file is the client CA flag', () => {
    const by = judge(kubelet(['--client_ca_file=/etc/kubernetes/pki/ca.crt']));
    expect(by['kubelet-client-ca']).not.toMatch(/no client CA/);
    expect(by['kubelet-client-ca']).toMatch(/--client-ca-file/);
  });

  it('a plan never proposes a file edit the flag overrides', () => {
    const node = kubelet(
      ['--anonymous-auth=1'],
      Y,
      `${HEAD}authentication:\n  anonymous:\n    enabled: true\n`,
    );
    const model = nodeModel(fakeFacts(node));
    const now = new Date();
    const results = runControls(
      'w1',
      model,
      CONTROLS.filter((c) => c.id === 'kubelet-anonymous-auth'),
      now,
    );
    const plan = planNode(
      { node: 'w1', host: '10.0.0.1', port: 22, hostKey: 'SHA256:x' },
      model,
      results,
      kubeadm,
      { node: 'w1', templates },
      now,
    );
    expect(plan.changes.filter((c) => c.path === Y)).toEqual([]);
  });
});

describe('a --config file whose keys the readers disagree on is an error, not a pass', () => {
  it('a << merge overlapping a written key, with another value', () => {
    const cfg = `${HEAD}authentication:\n  anonymous:\n    enabled: false\n  <<: {anonymous: {enabled: true}}\nauthorization:\n  mode: Webhook\n`;
    const by = judge(kubelet([], Y, cfg));
    expect(by['kubelet-anonymous-auth']).toMatch(
      /^error: \/var\/lib\/kubelet\/config.yaml: authentication.anonymous is given twice with different values/,
    );
  });

  it('the same object key twice in a JSON config (AL2023 config.json)', () => {
    const json = '/etc/kubernetes/kubelet/config.json';
    const cfg =
      '{"apiVersion":"kubelet.config.k8s.io/v1beta1","kind":"KubeletConfiguration","authentication":{"anonymous":{"enabled":true}},"authentication":{"webhook":{"enabled":true}}}';
    const by = judge(kubelet([], json, cfg));
    expect(by['kubelet-anonymous-auth']).toMatch(/^error: .*config.json: authentication is given twice/);
  });

  it('a merge that agrees with the written keys is read as usual', () => {
    const cfg = `${HEAD}base: &b {enabled: false}\nauthentication:\n  anonymous:\n    <<: *b\n    enabled: false\nauthorization:\n  mode: Webhook\n`;
    expect(judge(kubelet([], Y, cfg))['kubelet-anonymous-auth']).toMatch(/^pass: /);
  });
});

describe('the editors find a flag in its `_` spelling', () => {
  it('env file, ExecStart and the kube-apiserver manifest correct the flag where it is written', () => {
    const env = setFlagInEnvFile(
      'KUBELET_EXTRA_ARGS="--anonymous_auth=true --v=2"\n',
      'KUBELET_EXTRA_ARGS',
      'anonymous-auth',
      'false',
    );
    expect(env.content).toBe('KUBELET_EXTRA_ARGS="--anonymous-auth=false --v=2"\n');
    const unit = '[Service]\nExecStart=/usr/bin/kubelet --anonymous_auth=true --v=2\n';
    expect(setFlagOnExecStart(unit, 'anonymous-auth', 'false').content).toBe(
      '[Service]\nExecStart=/usr/bin/kubelet --anonymous-auth=false --v=2\n',
    );
    const manifest = fixture('kubeadm/kube-apiserver.yaml').replace(
      '--kubelet-client-certificate=',
      '--kubelet_client_certificate=',
    );
    expect(manifest).toContain('--kubelet_client_certificate=');
    const out = setApiserverFlags(manifest, [
      { name: 'kubelet-client-certificate', value: '/etc/kubernetes/pki/other.crt' },
    ]).content;
    expect(out).toContain('--kubelet-client-certificate=/etc/kubernetes/pki/other.crt');
    expect(out).not.toContain('--kubelet_client_certificate');
  });
});

describe('second review: what still read differently', () => {
  it('a merge of a merge that sets a written key another value is an error', () => {
    const cfg = `${HEAD}y: &y {enabled: true}\nx: &x {<<: *y}\nauthentication:\n  anonymous: {enabled: false, <<: *x}\nauthorization:\n  mode: Webhook\n`;
    expect(judge(kubelet([], Y, cfg))['kubelet-anonymous-auth']).toMatch(
      /^error: .*authentication.anonymous.enabled is given twice/,
    );
  });

  it('a setting right after a flag that takes the next word (an empty $ID) is not read as set', () => {
    const by = judge(
      kubelet(['--provider-id', '--anonymous-auth=false'], Y, `${HEAD}authorization:\n  mode: Webhook\n`),
    );
    expect(by['kubelet-anonymous-auth']).toMatch(/^error: .*"--provider-id" right before --anonymous-auth/);
  });

  it('--authentication-token-webhook alone is true (a bool flag of the kubelet), not an empty value', () => {
    const flags = parseFlags(['kubelet', '--authentication-token-webhook', '--authorization-mode=Webhook']);
    expect(flags.map((f) => [f.name, f.value])).toEqual([
      ['authentication-token-webhook', 'true'],
      ['authorization-mode', 'Webhook'],
    ]);
  });
});
