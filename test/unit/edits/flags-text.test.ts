import { describe, expect, it } from 'vitest';
import {
  EditError,
  renderSystemdEnvDropIn,
  setFlagInEnvFile,
  setFlagInUnitEnvironment,
} from '../../../src/edits/index.js';
import { parseEnvFile } from '../../../src/facts/envfile.js';
import { changedLines, expectGolden, fixture, template } from './helpers.js';

const CA = '/etc/kubernetes/pki/ca.crt';
const FLAG = 'client-ca-file';

/** The words the kubelet gets from `$VAR`, read by the project's own EnvironmentFile parser. */
const words = (text: string, variable: string) =>
  (parseEnvFile(text).get(variable) ?? '').split(/\s+/).filter(Boolean);

describe('setFlagInEnvFile on the real env files (shared/fixtures)', () => {
  it.each([
    ['kubeadm/kubeadm-flags.env', 'KUBELET_KUBEADM_ARGS', CA],
    ['kubespray/kubelet.env', 'KUBELET_ARGS', '/etc/kubernetes/ssl/ca.crt'],
    ['eks-al2023/environment', 'NODEADM_KUBELET_ARGS', CA],
    ['kops/legacy-2019/kubelet', 'DAEMON_ARGS', '/srv/kubernetes/ca.crt'],
    ['lab-extra/kops/kubelet-sysconfig', 'DAEMON_ARGS', '/srv/kubernetes/ca.crt'],
  ])('%s: appends --client-ca-file inside %s', (path, variable, ca) => {
    const text = fixture(path);
    const out = setFlagInEnvFile(text, variable, FLAG, ca);
    expect(out.changed).toBe(true);
    expectGolden(path, out.content);
    expect(words(out.content, variable)).toEqual([...words(text, variable), `--${FLAG}=${ca}`]);
    // Every other variable reads the same.
    const others = (t: string) => [...parseEnvFile(t)].filter(([k]) => k !== variable);
    expect(others(out.content)).toEqual(others(text));
    const again = setFlagInEnvFile(out.content, variable, FLAG, ca);
    expect(again.changed).toBe(false);
    expect(again.content).toBe(out.content);
  });

  it('kubeadm-flags.env: one line changes, the single quotes inside stay', () => {
    const text = fixture('kubeadm/kubeadm-flags.env');
    const out = setFlagInEnvFile(text, 'KUBELET_KUBEADM_ARGS', FLAG, CA).content;
    expect(changedLines(text, out)).toEqual({
      removed: [text.trimEnd()],
      added: [text.trimEnd().replace(/"$/, ` --client-ca-file=${CA}"`)],
    });
  });

  it('kubespray kubelet.env: a new continued line before the closing quote, in the same style', () => {
    const text = fixture('kubespray/kubelet.env');
    const out = setFlagInEnvFile(text, 'KUBELET_ARGS', FLAG, '/etc/kubernetes/ssl/ca.crt').content;
    expect(changedLines(text, out)).toEqual({
      removed: [],
      added: ['--client-ca-file=/etc/kubernetes/ssl/ca.crt \\'],
    });
  });

  it('AL2023 environment: unquoted, still no final newline', () => {
    const text = fixture('eks-al2023/environment');
    const out = setFlagInEnvFile(text, 'NODEADM_KUBELET_ARGS', FLAG, CA).content;
    expect(out).toBe(`${text} --client-ca-file=${CA}`);
  });

  it('kOps 2025 sysconfig already has the flag: no change; another CA replaces the value in place', () => {
    const text = fixture('kops/2025-flags-and-config/kubelet');
    const same = setFlagInEnvFile(text, 'DAEMON_ARGS', FLAG, '/srv/kubernetes/ca.crt');
    expect(same).toEqual({ content: text, changed: false });
    const out = setFlagInEnvFile(text, 'DAEMON_ARGS', `--${FLAG}`, '/srv/kubernetes/kubelet-ca.crt').content;
    expectGolden('kops/2025-flags-and-config/kubelet.other-ca', out);
    expect(out).toBe(
      text.replace(
        '--client-ca-file=/srv/kubernetes/ca.crt',
        '--client-ca-file=/srv/kubernetes/kubelet-ca.crt',
      ),
    );
  });

  it('a missing variable gets its own line, in the quoting of the file', () => {
    const kubeadm = fixture('kubeadm/kubeadm-flags.env');
    expect(setFlagInEnvFile(kubeadm, 'KUBELET_EXTRA_ARGS', FLAG, CA).content).toBe(
      `${kubeadm}KUBELET_EXTRA_ARGS="--client-ca-file=${CA}"\n`,
    );
    const al2023 = fixture('eks-al2023/environment');
    expect(setFlagInEnvFile(al2023, 'EXTRA', FLAG, CA).content).toBe(
      `${al2023}\nEXTRA=--client-ca-file=${CA}`,
    );
    expect(setFlagInEnvFile('', 'KUBELET_EXTRA_ARGS', FLAG, CA).content).toBe(
      `KUBELET_EXTRA_ARGS="--client-ca-file=${CA}"\n`,
    );
    expect(setFlagInEnvFile('# defaults\n', 'KUBELET_EXTRA_ARGS', FLAG, CA).content).toBe(
      `# defaults\nKUBELET_EXTRA_ARGS="--client-ca-file=${CA}"\n`,
    );
  });
});

describe('setFlagInEnvFile forms', () => {
  it.each([
    ['empty value', 'A="--x=1 --client-ca-file= --y=2"\n', `A="--x=1 --client-ca-file=${CA} --y=2"\n`],
    ['wrong value', "A='--client-ca-file=/old'\n", `A='--client-ca-file=${CA}'\n`],
    ['two-word form', 'A="--client-ca-file /old --v=2"\n', `A="--client-ca-file ${CA} --v=2"\n`],
    ['forgotten value', 'A="--client-ca-file --v=2"\n', `A="--client-ca-file=${CA} --v=2"\n`],
    [
      'duplicates, all corrected',
      'A="--client-ca-file=/a --client-ca-file=/b"\n',
      `A="--client-ca-file=${CA} --client-ca-file=${CA}"\n`,
    ],
    ['empty quoted', 'A=""\n', `A="--client-ca-file=${CA}"\n`],
    ['empty unquoted', 'A=\n', `A=--client-ca-file=${CA}\n`],
    // systemd ignores `export` lines: a real assignment is added, with the file's CRLF.
    [
      'export (ignored by systemd) and CRLF',
      'export A="--v=2"\r\nB=1\r\n',
      `export A="--v=2"\r\nB=1\r\nA=--client-ca-file=${CA}\r\n`,
    ],
    ['last assignment wins', 'A="--v=1"\nA="--v=2"\n', `A="--v=1"\nA="--v=2 --client-ca-file=${CA}"\n`],
    [
      'commented-out line ignored',
      '# A="--client-ca-file=/x"\nA="--v=2"\n',
      `# A="--client-ca-file=/x"\nA="--v=2 --client-ca-file=${CA}"\n`,
    ],
    [
      'quoted value with the flag',
      'A="--client-ca-file=\'/etc/kubernetes/pki/ca.crt\'"\n',
      'A="--client-ca-file=\'/etc/kubernetes/pki/ca.crt\'"\n',
    ],
  ])('%s', (_name, text, expected) => {
    expect(setFlagInEnvFile(text, 'A', FLAG, CA).content).toBe(expected);
  });

  it('a continued value whose last line holds a flag: continues it once more', () => {
    const text = 'A="--a=1 \\\n  --b=2"\nB=1\n';
    expect(setFlagInEnvFile(text, 'A', FLAG, CA).content).toBe(
      `A="--a=1 \\\n  --b=2 \\\n  --client-ca-file=${CA}"\nB=1\n`,
    );
  });

  it('refuses values that need quoting and bad names', () => {
    expect(() => setFlagInEnvFile('A=""\n', 'A', FLAG, '/with space')).toThrow(EditError);
    expect(() => setFlagInEnvFile('A=""\n', 'A', FLAG, '/a"b')).toThrow(EditError);
    expect(() => setFlagInEnvFile('A=""\n', '1A', FLAG, CA)).toThrow(EditError);
    expect(() => setFlagInEnvFile('A=""\n', 'A', '--bad flag', CA)).toThrow(EditError);
  });
});

describe('setFlagInUnitEnvironment', () => {
  it("EKS AL2 10-kubelet-args.conf: appends inside Environment='KUBELET_ARGS=…'", () => {
    const text = fixture('eks-al2/kubelet.service.d/10-kubelet-args.conf');
    const out = setFlagInUnitEnvironment(text, 'KUBELET_ARGS', FLAG, CA).content;
    expectGolden('eks-al2/kubelet.service.d/10-kubelet-args.conf', out);
    expect(out).toBe(
      text.replace("--cloud-provider=external'", `--cloud-provider=external --client-ca-file=${CA}'`),
    );
    expect(setFlagInUnitEnvironment(out, 'KUBELET_ARGS', FLAG, CA).changed).toBe(false);
  });

  it('kubeadm 10-kubeadm.conf: appends to KUBELET_CONFIG_ARGS, one line changes', () => {
    const text = fixture('kubeadm/10-kubeadm.conf');
    const out = setFlagInUnitEnvironment(text, 'KUBELET_CONFIG_ARGS', FLAG, CA).content;
    expectGolden('kubeadm/10-kubeadm.conf', out);
    expect(changedLines(text, out)).toEqual({
      removed: ['Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"'],
      added: [
        `Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml --client-ca-file=${CA}"`,
      ],
    });
  });

  it('kubeadm legacy v1.8: already set (no change); another CA corrects KUBELET_AUTHZ_ARGS in place', () => {
    const text = fixture('kubeadm/legacy-v1.8/10-kubeadm.conf');
    expect(setFlagInUnitEnvironment(text, 'KUBELET_AUTHZ_ARGS', FLAG, CA)).toEqual({
      content: text,
      changed: false,
    });
    const out = setFlagInUnitEnvironment(
      text,
      'KUBELET_AUTHZ_ARGS',
      FLAG,
      '/etc/kubernetes/pki/kubelet-ca.crt',
    ).content;
    expectGolden('kubeadm/legacy-v1.8/10-kubeadm.conf.other-ca', out);
    expect(changedLines(text, out).removed).toHaveLength(1);
  });

  it('kubeadm legacy v1.5: KUBELET_EXTRA_ARGS is referenced but never set → EditError (use the drop-in)', () => {
    const text = fixture('kubeadm/legacy-v1.5/10-kubeadm.conf');
    expect(() => setFlagInUnitEnvironment(text, 'KUBELET_EXTRA_ARGS', FLAG, CA)).toThrow(
      /no Environment= line in the \[Service\] section sets KUBELET_EXTRA_ARGS/,
    );
  });

  it.each([
    [
      'several assignments on one line',
      'Environment="A=--v=2" B=1\n',
      `Environment="A=--v=2 --client-ca-file=${CA}" B=1\n`,
    ],
    ['NAME="value" form', 'Environment=A="--v=2"\n', `Environment=A="--v=2 --client-ca-file=${CA}"\n`],
    [
      'unquoted value gets quoted once it has two words',
      'Environment=A=--v=2\n',
      `Environment="A=--v=2 --client-ca-file=${CA}"\n`,
    ],
    ['unquoted empty value', 'Environment=A=\n', `Environment=A=--client-ca-file=${CA}\n`],
    [
      'wrong value',
      'Environment="A=--client-ca-file=/x --v=2"\n',
      `Environment="A=--client-ca-file=${CA} --v=2"\n`,
    ],
    [
      'last line wins',
      'Environment="A=--v=1"\nEnvironment="A=--v=2"\n',
      `Environment="A=--v=1"\nEnvironment="A=--v=2 --client-ca-file=${CA}"\n`,
    ],
  ])('%s', (_name, body, expected) => {
    expect(setFlagInUnitEnvironment(`[Service]\n${body}`, 'A', FLAG, CA).content).toBe(
      `[Service]\n${expected}`,
    );
  });

  it('an empty Environment= resets what came before it', () => {
    expect(() =>
      setFlagInUnitEnvironment('[Service]\nEnvironment="A=1"\nEnvironment=\n', 'A', FLAG, CA),
    ).toThrow(EditError);
  });

  it('refuses a value without its closing quote', () => {
    expect(() => setFlagInUnitEnvironment('[Service]\nEnvironment="A=--v=2\n', 'A', FLAG, CA)).toThrow(
      /no closing "/,
    );
    expect(() => setFlagInEnvFile('A="--v=2\nB=1\n', 'B', FLAG, CA)).toThrow(/value of A has no closing "/);
  });

  it('ignores Environment= outside [Service] and in comments', () => {
    expect(() =>
      setFlagInUnitEnvironment('[Unit]\nEnvironment="A=1"\n[Service]\n#Environment="A=1"\n', 'A', FLAG, CA),
    ).toThrow(EditError);
  });
});

describe('renderSystemdEnvDropIn', () => {
  it('renders templates/kubelet-env.dropin.conf', () => {
    const out = renderSystemdEnvDropIn(
      template('kubelet-env.dropin.conf'),
      'KUBELET_EXTRA_ARGS',
      `--client-ca-file=${CA}`,
    );
    expectGolden('templates/kubelet-env.dropin.conf', out);
    expect(out).toContain(`[Service]\nEnvironment="KUBELET_EXTRA_ARGS=--client-ca-file=${CA}"\n`);
    expect(out).toMatch(/^# Written by kubemend/);
    // The rendered drop-in can itself be edited further.
    expect(setFlagInUnitEnvironment(out, 'KUBELET_EXTRA_ARGS', FLAG, CA).changed).toBe(false);
  });

  it('escapes what systemd would interpret inside Environment="…"', () => {
    const out = renderSystemdEnvDropIn(
      '[Service]\nEnvironment="{{variable}}={{value}}"\n',
      'X',
      'a "b" 100% c\\d',
    );
    expect(out).toBe('[Service]\nEnvironment="X=a \\"b\\" 100%% c\\\\d"\n');
  });

  it('refuses bad input', () => {
    const t = template('kubelet-env.dropin.conf');
    expect(() => renderSystemdEnvDropIn(t, 'BAD-NAME', 'x')).toThrow(EditError);
    expect(() => renderSystemdEnvDropIn(t, 'X', 'a\nb')).toThrow(EditError);
    expect(() => renderSystemdEnvDropIn('[Service]\n', 'X', 'x')).toThrow(/placeholders/);
    expect(() => renderSystemdEnvDropIn('[Unit]\nEnvironment="{{variable}}={{value}}"\n', 'X', 'x')).toThrow(
      /\[Service\]/,
    );
  });
});
