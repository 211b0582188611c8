import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFacts } from '../../../src/node/gather-parse.js';
import { gatherArgs, VALUES_FUNCTION } from '../../../src/node/gather-script.js';
import { scriptText } from '../../../src/node/remote.js';

/** Runs the gather script under dash, with its arguments, as a node would. */
const gather = (opts: Parameters<typeof gatherArgs>[0]) =>
  execFileSync('dash', ['-c', scriptText('gather'), 'kubemend-gather', ...gatherArgs(opts)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
import { collectFacts } from '../../../src/node/gather.js';
import { fixture } from '../support/fake-node.js';

/** Runs the script's `values` function under dash (a strict POSIX sh), as a node would. */
const values = (text: string, ...args: string[]) =>
  execFileSync('dash', ['-c', `MAX=262144\n${VALUES_FUNCTION}\nvalues "$@"`, 'values', ...args], {
    input: text,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);

describe('values: the settings the gather script follows, found in any text', () => {
  // The script turns the NULs of /proc/<pid>/cmdline into newlines before this.
  it('reads --flag=value and --flag value, one argument a line', () => {
    expect(values('/usr/bin/kubelet\n--config\n/etc/k/c.json\n--config-dir=/etc/k/c.d\n')).toEqual([
      '--config\t/etc/k/c.json',
      '--config-dir\t/etc/k/c.d',
    ]);
  });

  it('reads YAML and JSON config keys, any case (clientCaFile is a finding too)', () => {
    expect(values(fixture('kubespray/kubelet-config.yaml'))).toContain(
      'clientcafile\t/etc/kubernetes/ssl/ca.crt',
    );
    expect(values(fixture('eks-al2023/config.json'))).toContain('clientcafile\t/etc/kubernetes/pki/ca.crt');
    expect(values('authentication:\n  x509:\n    clientCaFile: /x/ca.crt\n')).toEqual([
      'clientcafile\t/x/ca.crt',
    ]);
  });

  // The minikube dump has CRLF line endings on some lines: values must not end in \r.
  it('reads manifest flags in every form the fixtures use', () => {
    expect(values(fixture('kubeadm/kube-apiserver.yaml'))).toContain(
      '--kubelet-client-key\t/etc/kubernetes/pki/apiserver-kubelet-client.key',
    );

    expect(values(fixture('minikube/kube-apiserver-mirror-pod.yaml'))).toContain(
      '--kubelet-client-certificate\t/var/lib/minikube/certs/apiserver-kubelet-client.crt',
    );
    expect(values('    - --kubelet-client-certificate\n    - /two/item.crt\n')).toEqual([
      '--kubelet-client-certificate\t/two/item.crt',
    ]);
  });

  it('reads flags inside env files and systemd units', () => {
    expect(values(fixture('kubespray/kubelet.env'))).toContain(
      '--config\t/etc/kubernetes/kubelet-config.yaml',
    );
    expect(values(fixture('kubeadm/legacy-v1.8/10-kubeadm.conf'))).toContain(
      '--client-ca-file\t/etc/kubernetes/pki/ca.crt',
    );
    expect(values(fixture('kops/2025-flags-and-config/kubelet'))).toContain(
      '--config\t/var/lib/kubelet/kubelet.conf',
    );
  });
});

describe('values on files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the files it is given as well as stdin, and skips one that is missing', () => {
    dir = mkdtempSync(join(tmpdir(), 'km-values-'));
    writeFileSync(join(dir, 'config.yaml'), 'staticPodPath: /etc/kubernetes/manifests\n');
    expect(values('--config=/x.yaml\n', join(dir, 'gone'), join(dir, 'config.yaml'))).toEqual([
      'staticpodpath\t/etc/kubernetes/manifests',
      '--config\t/x.yaml',
    ]);
  });

  it('with -m, counts only the manifests that run kube-apiserver and names each one', () => {
    dir = mkdtempSync(join(tmpdir(), 'km-values-'));
    const api = join(dir, 'kube-apiserver.yaml');
    writeFileSync(api, fixture('kubeadm/kube-apiserver.yaml'));
    writeFileSync(
      join(dir, 'etcd.yaml'),
      'spec:\n  containers:\n  - command:\n    - etcd\n    - --client-cert-auth=true\n',
    );
    const out = values('', '-m', join(dir, 'etcd.yaml'), api);
    expect(out[0]).toBe(`M\t${api}`);
    expect(out).toContain('--kubelet-client-key\t/etc/kubernetes/pki/apiserver-kubelet-client.key');
    expect(out.filter((l) => l.startsWith('M\t'))).toHaveLength(1);
  });
});

describe('the whole gather script', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every file byte for byte in one batch, bounds a large one, and never blocks on a FIFO', () => {
    dir = mkdtempSync(join(tmpdir(), 'km-gather-'));
    const spaced = join(dir, 'a dir', 'ca bundle.crt');
    mkdirSync(join(dir, 'a dir'));
    writeFileSync(spaced, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'empty.yaml'), '');
    writeFileSync(join(dir, 'no-newline.json'), '{"a":1}');
    writeFileSync(join(dir, 'big.txt'), 'x'.repeat(5000));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const extraFiles = [spaced, 'empty.yaml', 'no-newline.json', 'big.txt', 'fifo', 'gone', 'a dir'].map(
      (f) => (f.startsWith('/') ? f : join(dir, f)),
    );
    const out = gather({ extraFiles, maxFileBytes: 4096 });
    const facts = parseFacts(out, 4096);
    expect(facts.complete).toBe(true);
    expect(facts.changedWhileRead).toBeUndefined();
    expect(facts.files.get(spaced)?.content).toBe(
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
    expect(facts.files.get(join(dir, 'empty.yaml'))).toMatchObject({ status: 'ok', size: 0, content: '' });
    expect(facts.files.get(join(dir, 'no-newline.json'))?.content).toBe('{"a":1}');
    expect(facts.files.get(join(dir, 'big.txt'))).toMatchObject({ size: 5000, truncated: true });
    expect(facts.files.get(join(dir, 'big.txt'))?.content).toBe('x'.repeat(4096));
    expect(facts.files.get(join(dir, 'fifo'))?.status).toBe('unreadable');
    expect(facts.files.get(join(dir, 'gone'))?.status).toBe('missing');
    expect(facts.files.get(join(dir, 'a dir'))?.status).toBe('dir');
  });

  it('runs under dash on a machine without Kubernetes, finishes, and finds nothing to report', () => {
    const out = gather({ extraFiles: ['/etc/hostname'] });
    const facts = parseFacts(out);
    expect(facts.complete).toBe(true);
    expect(facts.files.get('/var/lib/kubelet/config.yaml')?.status).toBe('missing');
    expect(facts.tools['openssl']).toBe(true);
    expect(facts.dirs.get('/etc/kubernetes/manifests')).toBeNull();
  });
});

describe('parseFacts', () => {
  const files = (stats: string[], data: string) =>
    [
      'KM1 BEGIN',
      'KM FILES',
      ...stats,
      'KM DATA',
      Buffer.from(data).toString('base64'),
      'KM END',
      'KM1 DONE',
    ].join('\n');

  it('splits one batch of files by the sizes stat gave', () => {
    const facts = parseFacts(files(['3 644 0 0 /a b', '0 600 0 0 /e', '4 644 0 0 /c'], 'one\nxyz'));
    expect(facts.files.get('/a b')?.content).toBe('one');
    expect(facts.files.get('/e')?.content).toBe('');
    expect(facts.files.get('/c')).toMatchObject({ content: '\nxyz', mode: '644', uid: 0 });
    expect(facts.changedWhileRead).toBeUndefined();
  });

  it('trusts none of a batch whose bytes do not add up (a file changed while it was read)', () => {
    const facts = parseFacts(files(['3 644 0 0 /a', '4 644 0 0 /c'], 'one\nxyzw'));
    expect(facts.changedWhileRead).toEqual(['/a', '/c']);
    expect(facts.files.size).toBe(0);
  });

  it('rebuilds the kubelet unit as systemctl cat shows it: unit file, then drop-ins in order', () => {
    const unit = '[Service]\nExecStart=/usr/bin/kubelet\n';
    const dropIn = '[Service]\nEnvironment=A=1\n';
    const out = [
      'KM1 BEGIN',
      'KM UNIT kubelet',
      'LoadState=loaded',
      'FragmentPath=/lib/systemd/system/kubelet.service',
      'DropInPaths=/etc/systemd/system/kubelet.service.d/10-a.conf',
      'KM END',
      'KM FILES',
      `${unit.length} 644 0 0 /lib/systemd/system/kubelet.service`,
      `${dropIn.length} 644 0 0 /etc/systemd/system/kubelet.service.d/10-a.conf`,
      'KM DATA',
      Buffer.from(unit + dropIn).toString('base64'),
      'KM END',
      'KM1 DONE',
    ].join('\n');
    const kubelet = parseFacts(out).units.get('kubelet');
    expect(kubelet?.show['LoadState']).toBe('loaded');
    expect(kubelet?.cat).toBe(
      `# /lib/systemd/system/kubelet.service\n${unit}\n# /etc/systemd/system/kubelet.service.d/10-a.conf\n${dropIn}`,
    );
  });
});

describe('collectFacts: a file that changed while it was read', () => {
  const output = (data: string) =>
    [
      'KM1 BEGIN',
      'KM WHOAMI 0',
      'KM FILES',
      '3 644 0 0 /a',
      'KM DATA',
      Buffer.from(data).toString('base64'),
      'KM END',
      'KM1 DONE',
    ].join('\n');
  const runner = (...outputs: string[]) => {
    const calls: string[] = [];
    return {
      calls,
      run: async (command: string) => {
        calls.push(command);
        return { code: 0, stdout: outputs[calls.length - 1] ?? '', stderr: '', truncated: false };
      },
    };
  };

  it('is gathered once more, and the second reading is used', async () => {
    const r = runner(output('abcd'), output('abc'));
    const { facts } = await collectFacts(r.run);
    expect(r.calls).toHaveLength(2);
    expect(facts.changedWhileRead).toBeUndefined();
    expect(facts.files.get('/a')?.content).toBe('abc');
  });

  it('changing twice in a row is reported, not trusted', async () => {
    const r = runner(output('abcd'), output('ab'));
    const { facts } = await collectFacts(r.run);
    expect(r.calls).toHaveLength(2);
    expect(facts.changedWhileRead).toEqual(['/a']);
    expect(facts.files.has('/a')).toBe(false);
  });
});
