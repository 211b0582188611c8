import { describe, expect, it } from 'vitest';
import { EditError, renderExecStartDropIn, setFlagOnExecStart } from '../../../src/edits/index.js';
import { expandExecStart, serviceModel } from '../../../src/facts/systemd.js';
import { changedLines, expectGolden, fixture, template } from './helpers.js';

const CA = '/etc/kubernetes/pki/ca.crt';
const FLAG = 'client-ca-file';

/** The kubelet's argv as systemd would run it from these unit files (in order). */
const argv = (...files: string[]) => {
  const model = serviceModel(files.map((text, i) => ({ path: `/f${i}.conf`, text })));
  return model.execStart ? expandExecStart(model.execStart, new Map()).map((w) => w.text) : [];
};

const HAND_UNIT = `[Unit]
Description=kubelet
[Service]
ExecStart=/usr/bin/kubelet \\
  --address=127.0.0.1 \\
  # a comment line inside the command: systemd skips it
  --node-labels="role=etcd,zone=a b" \\
  --cgroup-driver=systemd
Restart=always
`;

describe('setFlagOnExecStart', () => {
  it("kubeadm's external-etcd drop-in: the flag is appended to the winning ExecStart line, one line changes", () => {
    const text = fixture('kubeadm/etcd-only/20-etcd-service-manager.conf');
    const out = setFlagOnExecStart(text, FLAG, CA);
    expectGolden('kubeadm/etcd-only/20-etcd-service-manager.conf', out.content);
    const diff = changedLines(text, out.content);
    expect(diff.removed).toHaveLength(1);
    expect(diff.added).toEqual([`${diff.removed[0]} --${FLAG}=${CA}`]);
    expect(argv(out.content)).toEqual([...argv(text), `--${FLAG}=${CA}`]);
    expect(setFlagOnExecStart(out.content, FLAG, CA)).toEqual({ content: out.content, changed: false });
  });

  it('one flag per continued line: a line of its own in the same style; comment and quoting kept', () => {
    const out = setFlagOnExecStart(HAND_UNIT, FLAG, CA);
    const diff = changedLines(HAND_UNIT, out.content);
    expect(diff).toEqual({ removed: [], added: [`  --${FLAG}=${CA} \\`] });
    expect(argv(out.content)).toEqual([
      '/usr/bin/kubelet',
      '--address=127.0.0.1',
      '--node-labels=role=etcd,zone=a b',
      `--${FLAG}=${CA}`,
      '--cgroup-driver=systemd',
    ]);
  });

  it('a wrong --client-ca-file on the line is corrected where it is written (= form, quoted, and separate value)', () => {
    const eq = '[Service]\nExecStart=/usr/bin/kubelet --client-ca-file=/old/ca.crt --v=2\n';
    expect(setFlagOnExecStart(eq, FLAG, CA).content).toBe(
      `[Service]\nExecStart=/usr/bin/kubelet --client-ca-file=${CA} --v=2\n`,
    );
    const quoted = '[Service]\nExecStart=/usr/bin/kubelet "--client-ca-file=/my ca.crt"\n';
    expect(argv(setFlagOnExecStart(quoted, FLAG, CA).content)).toEqual([
      '/usr/bin/kubelet',
      `--${FLAG}=${CA}`,
    ]);
    const spaced = '[Service]\nExecStart=/usr/bin/kubelet --client-ca-file /old.crt \\\n  --v=2\n';
    expect(setFlagOnExecStart(spaced, FLAG, CA).content).toBe(
      `[Service]\nExecStart=/usr/bin/kubelet --client-ca-file ${CA} \\\n  --v=2\n`,
    );
  });

  it('only the ExecStart in force is edited: an earlier one reset by ExecStart= stays as it was', () => {
    const text =
      '[Service]\nExecStart=/usr/bin/kubelet --old\nExecStart=\nExecStart=/usr/bin/kubelet --v=2\n';
    expect(setFlagOnExecStart(text, FLAG, CA).content).toBe(
      `[Service]\nExecStart=/usr/bin/kubelet --old\nExecStart=\nExecStart=/usr/bin/kubelet --v=2 --${FLAG}=${CA}\n`,
    );
  });

  it('refuses what it cannot do exactly: no ExecStart, a reset only, a wrapper shell, two commands, a value that needs quoting', () => {
    expect(() => setFlagOnExecStart('[Service]\nRestart=always\n', FLAG, CA)).toThrow(EditError);
    expect(() => setFlagOnExecStart('[Service]\nExecStart=\n', FLAG, CA)).toThrow(/no ExecStart/);
    expect(() =>
      setFlagOnExecStart("[Service]\nExecStart=/bin/sh -c 'exec /usr/bin/kubelet --v=2'\n", FLAG, CA),
    ).not.toThrow(); // sh gets one more argument: the caller must check the command is the kubelet's
    expect(() => setFlagOnExecStart('[Service]\nExecStart=/usr/bin/kubelet ; /bin/true\n', FLAG, CA)).toThrow(
      /more than one command/,
    );
    expect(() => setFlagOnExecStart('[Service]\nExecStart=/usr/bin/kubelet\n', FLAG, '/a b/ca.crt')).toThrow(
      /needs quoting/,
    );
    // A shell reads a "|" line; a flag followed by a dash word gets that word as its value.
    expect(() => setFlagOnExecStart('[Service]\nExecStart=|/usr/bin/kubelet --v=2\n', FLAG, CA)).toThrow(
      /"\|" prefix/,
    );
    expect(() =>
      setFlagOnExecStart('[Service]\nExecStart=/usr/bin/kubelet --client-ca-file --v=2\n', FLAG, CA),
    ).toThrow(/followed by "--v=2", which the kubelet takes as its value/);
  });
});

describe('values systemd would read otherwise are escaped the way systemd reads them back', () => {
  it.each([
    ['/etc/pki/ca$1.crt', '--client-ca-file=/etc/pki/ca$$1.crt'],
    ['/etc/pki/ca%n.crt', '--client-ca-file=/etc/pki/ca%%n.crt'],
    ['/etc/pki/a\\b.crt', '--client-ca-file=/etc/pki/a\\\\b.crt'],
  ])('%s is written %s, and the unit then runs the kubelet with that very path', (value, written) => {
    const out = setFlagOnExecStart('[Service]\nExecStart=/usr/bin/kubelet --v=2\n', FLAG, value).content;
    expect(out).toBe(`[Service]\nExecStart=/usr/bin/kubelet --v=2 ${written}\n`);
    expect(argv(out)).toEqual(['/usr/bin/kubelet', '--v=2', `--${FLAG}=${value}`]);
  });

  it('a flag already written with $$ is recognised as the same value: nothing to change', () => {
    const text = '[Service]\nExecStart=/usr/bin/kubelet --client-ca-file=/etc/pki/ca$$1.crt\n';
    expect(setFlagOnExecStart(text, FLAG, '/etc/pki/ca$1.crt').content).toBe(text);
  });
});

describe('renderExecStartDropIn', () => {
  it('resets ExecStart= and repeats the command line of the packaged unit with the flag, continuation lines and all', () => {
    const out = renderExecStartDropIn(
      template('kubelet-execstart.dropin.conf'),
      HAND_UNIT,
      '/usr/lib/systemd/system/kubelet.service',
      FLAG,
      CA,
    );
    expectGolden('templates/kubelet-execstart.dropin.conf', out);
    // The unit, then kubemend's drop-in: systemd runs the same command with the flag added.
    expect(argv(HAND_UNIT, out)).toEqual(argv(setFlagOnExecStart(HAND_UNIT, FLAG, CA).content));
    expect(argv(HAND_UNIT, out)).toContain(`--${FLAG}=${CA}`);
  });

  it('refuses a template without the reset, and a source path that is not one line', () => {
    expect(() =>
      renderExecStartDropIn('[Service]\nExecStart={{execStart}}\n', HAND_UNIT, '/u.service', FLAG, CA),
    ).toThrow(/reset/);
    expect(() =>
      renderExecStartDropIn(
        template('kubelet-execstart.dropin.conf'),
        HAND_UNIT,
        '/u\nExecStart=/bin/evil',
        FLAG,
        CA,
      ),
    ).toThrow(EditError);
  });
});
