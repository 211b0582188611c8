import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../../src/facts/envfile.js';
import { parseFlags, lastFlag } from '../../../src/facts/flags.js';
import {
  expandExecStart,
  serviceEnvironment,
  serviceModel,
  splitSystemctlCat,
  splitWords,
} from '../../../src/facts/systemd.js';
import { fixture } from '../support/fake-node.js';

describe('environment files', () => {
  it('kubespray kubelet.env: a double-quoted value continued with backslashes', () => {
    const env = parseEnvFile(fixture('kubespray/kubelet.env'));
    expect(env.get('KUBELET_ARGS')?.split(' ').filter(Boolean)).toEqual([
      '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
      '--config=/etc/kubernetes/kubelet-config.yaml',
      '--kubeconfig=/etc/kubernetes/kubelet.conf',
      '--runtime-cgroups=/system.slice/containerd.service',
    ]);
    expect(env.get('KUBELET_CLOUDPROVIDER')).toBe('');
  });

  it('kubeadm-flags.env keeps single quotes inside double quotes', () => {
    expect(parseEnvFile(fixture('kubeadm/kubeadm-flags.env')).get('KUBELET_KUBEADM_ARGS')).toContain(
      "--node-labels='ingress-ready=true'",
    );
  });

  it('AL2023 environment: unquoted, no trailing newline', () => {
    expect(parseEnvFile(fixture('eks-al2023/environment')).get('NODEADM_KUBELET_ARGS')).toContain(
      '--config-dir=/etc/kubernetes/kubelet/config.json.d',
    );
  });
});

describe('systemd escapes, as systemd reads them (one small unit per form)', () => {
  const run = (service: string, files: Record<string, string> = {}) => {
    const model = serviceModel([
      { path: '/etc/systemd/system/kubelet.service', text: `[Service]\n${service}\n` },
    ]);
    return expandExecStart(
      model.execStart!,
      serviceEnvironment(model, (p) => files[p]),
      '/etc/systemd/system/kubelet.service',
    ).map((w) => w.text);
  };

  it.each([
    ['$$ is a dollar sign', 'ExecStart=/k --a=x$$y', ['/k', '--a=x$y']],
    [
      '$NAME inside a word is not a variable',
      'Environment=NAME=v\nExecStart=/k --a=x$NAME',
      ['/k', '--a=x$NAME'],
    ],
    ['${NAME} inside a word is its value', 'Environment=NAME=v\nExecStart=/k --a=x${NAME}', ['/k', '--a=xv']],
    [
      '$NAME alone: its words, quotes grouping',
      'Environment="ARGS=--a=1 \\"--b=2 3\\""\nExecStart=/k $ARGS',
      ['/k', '--a=1', '--b=2 3'],
    ],
    ['%% is a percent sign', 'ExecStart=/k --a=50%%', ['/k', '--a=50%']],
    [
      '%n %N %p %i: the unit name',
      'ExecStart=/k %n %N %p x%i',
      ['/k', 'kubelet.service', 'kubelet', 'kubelet', 'x'],
    ],
    [
      "%h %t %S %C %L %E %T %V: the system manager's directories",
      'ExecStart=/k %h %t %S %C %L %E %T %V',
      ['/k', '/root', '/run', '/var/lib', '/var/cache', '/var/log', '/etc', '/tmp', '/var/tmp'],
    ],
    [
      "%H (the node's host name) stays as written",
      'ExecStart=/k --hostname-override=%H',
      ['/k', '--hostname-override=%H'],
    ],
    [
      '\\x41 \\101 \\u00e9: hex, octal and unicode escapes',
      'ExecStart=/k \\x41 \\101 \\u00e9',
      ['/k', 'A', 'A', 'é'],
    ],
    [
      '\\t \\n \\s \\\\ inside and outside quotes',
      'ExecStart=/k "a\\tb" c\\nd e\\sf g\\\\h',
      ['/k', 'a\tb', 'c\nd', 'e f', 'g\\h'],
    ],
    [
      'an unknown escape keeps its backslash (systemd warns and reads the word relaxed)',
      'ExecStart=/k --pattern=a\\.b',
      ['/k', '--pattern=a\\.b'],
    ],
    [
      'Environment= values are unescaped too (%% and C escapes)',
      'Environment="P=/etc/50%%/\\x41"\nExecStart=/k --config=${P}',
      ['/k', '--config=/etc/50%/A'],
    ],
  ])('%s', (_, service, want) => {
    expect(run(service)).toEqual(want);
  });

  it.each([
    ['unquoted: a backslash takes the next character', 'A=x\\ y\\$z', 'x y$z'],
    ['double quotes: \\" \\\\ \\` \\$ are escapes, other backslashes stay', 'A="a\\$b \\n c"', 'a$b \\n c'],
    ['single quotes: nothing is an escape', "A='a\\$b'", 'a\\$b'],
  ])('EnvironmentFile: %s', (_, line, want) => {
    expect(parseEnvFile(`${line}\n`).get('A')).toBe(want);
  });

  it('an EnvironmentFile= path with a specifier is the file systemd reads', () => {
    expect(
      run('EnvironmentFile=%E/default/%N\nExecStart=/k $KUBELET_ARGS', {
        '/etc/default/kubelet': 'KUBELET_ARGS=--v=2\n',
      }),
    ).toEqual(['/k', '--v=2']);
  });
});

describe('systemd units', () => {
  const cat = (files: [string, string][]) => files.map(([p, t]) => `# ${p}\n${t}`).join('\n');

  it('splits systemctl cat output into its files', () => {
    const files = splitSystemctlCat(
      cat([
        ['/usr/lib/systemd/system/kubelet.service', fixture('lab-extra/units/kubeadm-kubelet.service')],
        ['/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf', fixture('kubeadm/10-kubeadm.conf')],
      ]),
    );
    expect(files.map((f) => f.path)).toEqual([
      '/usr/lib/systemd/system/kubelet.service',
      '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf',
    ]);
  });

  it('expands $VAR into words and ${VAR} into one word, with the file that set each', () => {
    const model = serviceModel([
      {
        path: '/u.service',
        text: '[Service]\nEnvironment="A=--x=1 --y=2" "B=--z=3 4"\nEnvironmentFile=-/env\nExecStart=/bin/k $A ${B} $MISSING --w\n',
      },
    ]);
    const env = serviceEnvironment(model, (p) => (p === '/env' ? 'A="--x=9"\n' : undefined));
    const words = expandExecStart(model.execStart!, env);
    expect(words.map((w) => w.text)).toEqual(['/bin/k', '--x=9', '--z=3 4', '--w']);
    expect(words[1]).toMatchObject({ source: '/env', variable: 'A' });
    expect(words[2]).toMatchObject({ source: '/u.service', variable: 'B' });
  });

  it('an empty ExecStart= in a later drop-in resets it (kubeadm external etcd)', () => {
    const model = serviceModel([
      { path: '/a.service', text: fixture('lab-extra/units/kubeadm-kubelet.service') },
      { path: '/d/10-kubeadm.conf', text: fixture('kubeadm/10-kubeadm.conf') },
      { path: '/d/20-etcd.conf', text: fixture('kubeadm/etcd-only/20-etcd-service-manager.conf') },
    ]);
    expect(model.execStart?.source).toBe('/d/20-etcd.conf');
    expect(model.execStart?.line).not.toContain('--config');
  });

  it('joins backslash-continued ExecStart lines (Kubernetes the Hard Way unit)', () => {
    const model = serviceModel([{ path: '/k.service', text: fixture('kthw/kube-apiserver.service') }]);
    const flags = parseFlags(splitWords(model.execStart?.line ?? ''));
    expect(lastFlag(flags, 'kubelet-client-certificate')?.value).toBe(
      '/var/lib/kubernetes/kube-api-server.crt',
    );
  });

  it('skips comment lines as systemd does: a trailing backslash on one continues nothing, one inside a directive is dropped', () => {
    const model = serviceModel([
      {
        path: '/k.service',
        text: '[Service]\n# the old line was \\\nExecStart=/usr/bin/kubelet \\\n  --v=2 \\\n# a note \\\n  --config=/c.yaml\n',
      },
    ]);
    expect(model.execStart).toMatchObject({ lineNumber: 3 });
    expect(splitWords(model.execStart?.line ?? '')).toEqual([
      '/usr/bin/kubelet',
      '--v=2',
      '--config=/c.yaml',
    ]);
  });
});

describe('flags', () => {
  it('reads both forms, booleans without a value, and keeps the last of a repeated flag', () => {
    const flags = parseFlags([
      '/usr/bin/kubelet',
      '/usr/local/lib/launcher.mjs',
      '--config',
      '/c.yaml',
      '--anonymous-auth',
      '--v=2',
      '--config=/d.yaml',
    ]);
    expect(lastFlag(flags, 'config')?.value).toBe('/d.yaml');
    expect(lastFlag(flags, 'anonymous-auth')?.value).toBe('true');
    expect(flags.map((f) => f.name)).toEqual(['config', 'anonymous-auth', 'v', 'config']);
  });
});
