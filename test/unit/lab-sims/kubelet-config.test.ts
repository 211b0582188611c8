// The kubelet simulator's configuration loading (node-facts §1), observed through /configz and
// through how it fails.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Certs, type Configz, LabDir, makeCerts, readConfigz, startKubelet } from './helpers.js';

const HEAD = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';

let lab: LabDir;
let certs: Certs;

beforeAll(() => {
  lab = new LabDir();
  certs = makeCerts(lab.path('pki'));
  for (const name of ['a', 'b', 'c', 'z']) fs.copyFileSync(certs.ca, lab.path('pki', `ca-${name}.crt`));
});
afterAll(() => lab.cleanup());

async function configz(args: string[]): Promise<Configz> {
  const kubelet = await startKubelet(lab, args);
  const effective = await readConfigz(kubelet.port, certs.client);
  await kubelet.proc.stop();
  return effective;
}

async function failsWith(args: string[], message: string | RegExp): Promise<void> {
  const proc = lab.run('kubelet', ['--root-dir', lab.path('root'), ...args]);
  expect(await proc.exited).toBe(1);
  expect(proc.stderr).toMatch(message);
  expect(proc.stderr).not.toMatch(/Started kubelet/);
}

describe('kubelet config file', () => {
  it('reads YAML, resolves relative paths against the file and applies v1beta1 defaults', async () => {
    fs.mkdirSync(lab.path('etc/kubelet/pki'), { recursive: true });
    fs.copyFileSync(certs.ca, lab.path('etc/kubelet/pki/ca.crt'));
    const config = lab.write(
      'etc/kubelet/config.yaml',
      `${HEAD}authentication:\n  x509:\n    clientCAFile: pki/ca.crt\nstaticPodPath: manifests\n`,
    );
    const kubelet = await startKubelet(lab, ['--config', config]);
    const effective = await readConfigz(kubelet.port, certs.client);
    expect(effective.authentication.x509.clientCAFile).toBe(lab.path('etc/kubelet/pki/ca.crt'));
    expect(effective.staticPodPath).toBe(lab.path('etc/kubelet/manifests'));
    expect(effective.authentication.anonymous.enabled).toBe(false);
    expect(effective.authentication.webhook.enabled).toBe(true);
    expect(effective.authorization.mode).toBe('Webhook');
    expect(effective.readOnlyPort).toBe(0);
    expect(kubelet.proc.stderr).toContain(
      `"Starting controller" name="client-ca-bundle::${lab.path('etc/kubelet/pki/ca.crt')}"`,
    );
    await kubelet.proc.stop();
  });

  it('reads JSON (EKS style)', async () => {
    const config = lab.write(
      'eks/config.json',
      JSON.stringify(
        {
          kind: 'KubeletConfiguration',
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          authentication: { x509: { clientCAFile: lab.path('pki/ca-a.crt') } },
        },
        null,
        4,
      ),
    );
    const effective = await configz(['--config', config]);
    expect(effective.authentication.x509.clientCAFile).toBe(lab.path('pki/ca-a.crt'));
  });

  it('lets a command-line flag beat the file and the drop-ins', async () => {
    const config = lab.write(
      'flag/config.yaml',
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-a.crt')}\n`,
    );
    lab.write(
      'flag/d/10.conf',
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-b.crt')}\n`,
    );
    const effective = await configz([
      `--config=${config}`,
      '--config-dir',
      lab.path('flag/d'),
      '--client-ca-file',
      lab.path('pki/ca-c.crt'),
    ]);
    expect(effective.authentication.x509.clientCAFile).toBe(lab.path('pki/ca-c.crt'));
  });

  it('merges --config-dir drop-ins in WalkDir order, .conf only, recursively, dot-files included', async () => {
    const config = lab.write(
      'merge/config.yaml',
      `${HEAD}authentication:\n  anonymous:\n    enabled: true\n  x509:\n    clientCAFile: ${lab.path('pki/ca-a.crt')}\nclusterDNS: [1.1.1.1, 2.2.2.2]\n`,
    );
    const d = 'merge/config.d';
    lab.write(
      `${d}/10-ca.conf`,
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-b.crt')}\n`,
    );
    lab.write(
      `${d}/20-dns.conf`,
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        clusterDNS: ['9.9.9.9'],
      }),
    );
    // WalkDir visits directory "30" (and its files) before the file "30.conf".
    lab.write(`${d}/30/nested.conf`, `${HEAD}clusterDomain: nested.local\n`);
    lab.write(`${d}/30.conf`, `${HEAD}clusterDomain: after.local\n`);
    lab.write(`${d}/.hidden.conf`, `${HEAD}maxPods: 42\n`);
    lab.write(
      `${d}/99-ca.conf.bak`,
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-z.crt')}\n`,
    );
    lab.write(
      `${d}/98-ca.yaml`,
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-z.crt')}\n`,
    );
    const effective = await configz(['--config', config, '--config-dir', lab.path(d)]);
    expect(effective.authentication.x509.clientCAFile).toBe(lab.path('pki/ca-b.crt'));
    expect(effective.authentication.anonymous.enabled).toBe(true); // maps merge key by key
    expect(effective.clusterDNS).toEqual(['9.9.9.9']); // lists are replaced
    expect(effective.clusterDomain).toBe('after.local');
    expect(effective.maxPods).toBe(42);
  });

  it('ignores a wrong-case clientCaFile after lenient decoding', async () => {
    const config = lab.write(
      'case/config.yaml',
      `${HEAD}authentication:\n  anonymous:\n    enabled: true\n  x509:\n    clientCaFile: ${certs.ca}\nauthorization:\n  mode: AlwaysAllow\n`,
    );
    const kubelet = await startKubelet(lab, ['--config', config]);
    const effective = await readConfigz(kubelet.port); // anonymous: there is no client CA any more
    expect(effective.authentication.x509).toEqual({});
    expect(kubelet.proc.stderr).toContain('Using lenient decoding as strict decoding failed');
    expect(kubelet.proc.stderr).toContain('unknown field \\"authentication.x509.clientCaFile\\"');
    await kubelet.proc.stop();
  });

  it('drop-in keys fold case, and of two spellings the later in byte order wins (node-facts §1.3)', async () => {
    const config = lab.write(
      'fold/config.yaml',
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-a.crt')}\n`,
    );
    lab.write(
      'fold/d/10.conf',
      `${HEAD}authentication:\n  x509:\n    clientCaFile: ${lab.path('pki/ca-b.crt')}\n`,
    );
    lab.write(
      'fold/d/90.conf',
      `${HEAD}authentication:\n  x509:\n    clientCAFile: ${lab.path('pki/ca-c.crt')}\n`,
    );
    const kubelet = await startKubelet(lab, ['--config', config, '--config-dir', lab.path('fold/d')]);
    const effective = await readConfigz(kubelet.port, certs.client);
    // clientCaFile (10.conf) sorts after clientCAFile (90.conf and the base): it wins.
    expect(effective.authentication.x509.clientCAFile).toBe(lab.path('pki/ca-b.crt'));
    expect(kubelet.proc.stderr).not.toContain('Using lenient decoding');
    await kubelet.proc.stop();
  });

  it("a relative path in a drop-in is opened against the kubelet's working directory", async () => {
    lab.write('rel/d/10.conf', `${HEAD}authentication:\n  x509:\n    clientCAFile: pki/ca-a.crt\n`);
    fs.mkdirSync(lab.path('rel/pki'), { recursive: true });
    const kubelet = await startKubelet(lab, ['--config-dir', lab.path('rel/d')]);
    const effective = await readConfigz(kubelet.port, certs.client);
    expect(effective.authentication.x509.clientCAFile).toBe('pki/ca-a.crt'); // the sim's cwd is the lab dir
    await kubelet.proc.stop();
  });

  it('uses the legacy flag defaults without --config (anonymous, AlwaysAllow)', async () => {
    const kubelet = await startKubelet(lab, []);
    const effective = await readConfigz(kubelet.port); // anonymous
    expect(effective.authorization.mode).toBe('AlwaysAllow');
    expect(effective.readOnlyPort).toBe(10255);
    await kubelet.proc.stop();
  });
});

describe('kubelet config errors exit 1 before serving', () => {
  it.each([
    [
      'a missing file',
      () => lab.path('nope.yaml'),
      /failed to load kubelet config file.*open \S*nope.yaml: no such file or directory/,
    ],
    ['an empty file', () => lab.write('bad/empty.yaml', ''), /was empty/],
    [
      'a syntax error',
      () => lab.write('bad/syntax.yaml', `${HEAD}authentication: [x\n`),
      /failed to load kubelet config file/,
    ],
    [
      'no apiVersion/kind',
      () => lab.write('bad/nokind.yaml', 'staticPodPath: /x\n'),
      /Object 'Kind' is missing/,
    ],
    [
      'clientCAFile not a string',
      () => lab.write('bad/type.yaml', `${HEAD}authentication:\n  x509:\n    clientCAFile: 42\n`),
      /cannot unmarshal number into Go struct field \S*clientCAFile of type string/,
    ],
    [
      'authentication not a map',
      () => lab.write('bad/auth.yaml', `${HEAD}authentication: yes\n`),
      /cannot unmarshal boolean/,
    ],
  ])('%s', async (_what, file, message) => {
    await failsWith(['--config', file()], message);
  });

  it('a missing --config-dir', async () => {
    await failsWith(
      ['--config-dir', lab.path('no-such-dir')],
      /failed to walk through kubelet dropin directory .*no such file or directory/,
    );
  });

  it('a drop-in without apiVersion/kind', async () => {
    lab.write('kindless.d/10.conf', 'maxPods: 3\n');
    await failsWith(
      ['--config-dir', lab.path('kindless.d')],
      /failed to load kubelet dropin file, path: \S*10.conf/,
    );
  });

  it('a missing client CA file, with the real message', async () => {
    const missing = lab.path('pki/missing-ca.crt');
    await failsWith(
      ['--client-ca-file', missing],
      `unable to load client CA file ${missing}: open ${missing}: no such file or directory`,
    );
  });

  it('a client CA file without certificates', async () => {
    const notCA = lab.write('pki/not-a-ca.crt', 'hello\n');
    await failsWith(['--client-ca-file', notCA], 'data does not contain any valid RSA or ECDSA certificates');
  });

  it('no authentication method at all', async () => {
    const config = lab.write('noauth.yaml', `${HEAD}authentication:\n  webhook:\n    enabled: false\n`);
    await failsWith(['--config', config], 'No authentication method configured');
  });
});
