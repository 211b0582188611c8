// installSims: what the lab orchestration copies into a node's root directory.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installSims } from '../../lab/sims/install.mjs';
import { LabDir } from './helpers.js';

let lab: LabDir;
beforeAll(() => {
  lab = new LabDir();
});
afterAll(() => lab.cleanup());

describe('installSims', () => {
  it('writes the sims, the yaml package and executable launchers', () => {
    const root = lab.path('node-a');
    const written = installSims(root);
    for (const launcher of ['/usr/bin/kubelet', '/usr/local/bin/kubelet', '/usr/local/bin/kube-apiserver']) {
      expect(written).toContain(launcher);
      expect(fs.statSync(path.join(root, launcher)).mode & 0o777).toBe(0o755);
    }
    expect(fs.readFileSync(path.join(root, '/usr/bin/kubelet'), 'utf8')).toContain(
      'exec -a /usr/bin/kubelet /usr/bin/node /usr/local/lib/kubemend-lab/kubelet.mjs "$@"',
    );
    expect(fs.readFileSync(path.join(root, '/usr/local/bin/kube-apiserver'), 'utf8')).toContain(
      'exec -a /usr/local/bin/kube-apiserver /usr/bin/node /usr/local/lib/kubemend-lab/kube-apiserver.mjs "$@"',
    );
    const lib = path.join(root, 'usr/local/lib/kubemend-lab');
    expect(fs.readdirSync(lib)).toEqual(
      expect.arrayContaining(['kubelet.mjs', 'kube-apiserver.mjs', 'README.md', 'node_modules']),
    );
    expect(JSON.parse(fs.readFileSync(path.join(lib, 'node_modules/yaml/package.json'), 'utf8')).name).toBe(
      'yaml',
    );
  });

  it('puts kubelet launchers only where asked', () => {
    const root = lab.path('node-b');
    installSims(root, { kubeletPaths: ['/var/lib/rancher/rke2/bin/kubelet'] });
    expect(fs.existsSync(path.join(root, 'var/lib/rancher/rke2/bin/kubelet'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'usr/bin/kubelet'))).toBe(false);
  });

  it('gives a copy that runs on its own (yaml resolved from the copied node_modules)', () => {
    const root = lab.path('node-c');
    installSims(root);
    const out = execFileSync(
      process.execPath,
      [path.join(root, 'usr/local/lib/kubemend-lab/kubelet.mjs'), '--version'],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toBe('Kubernetes v1.30.0-kubemend-sim\n');
  });
});
