import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';
import type { FileFact, NodeFacts, PairResult, ProcessFact } from '../../../src/facts/types.js';

export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
export const fixture = (rel: string) => readFileSync(FIXTURES + rel, 'utf8');

export interface FakeNode {
  /** Files on the node by absolute path; public content as the gather script would fetch it. */
  files?: Record<string, string>;
  /** Private keys (stat only). */
  keys?: string[];
  processes?: ProcessFact[];
  /** The kubelet unit as `systemctl cat` shows it: files in order. */
  kubeletUnit?: { path: string; text: string }[];
  pairs?: { cert: string; key: string; result: PairResult }[];
}

/** NodeFacts as parseFacts would return them for a node holding exactly these things. */
export function fakeFacts(node: FakeNode): NodeFacts {
  const files = new Map<string, FileFact>();
  const dirs = new Map<string, string[] | null>();
  // The gather script prints the unit's files (FragmentPath, DropInPaths) like any other file.
  const unitFiles = Object.fromEntries((node.kubeletUnit ?? []).map((f) => [f.path, f.text]));
  for (const [path, content] of Object.entries({ ...unitFiles, ...node.files })) {
    files.set(path, {
      path,
      status: 'ok',
      size: Buffer.byteLength(content),
      mode: '644',
      uid: 0,
      gid: 0,
      content,
      sha256: createHash('sha256').update(content).digest('hex'),
      truncated: false,
    });
    const dir = posix.dirname(path);
    dirs.set(dir, [...(dirs.get(dir) ?? []), posix.basename(path)]);
  }
  const stats = new Map<string, FileFact>();
  for (const path of node.keys ?? [])
    stats.set(path, { path, status: 'ok', size: 1700, mode: '600', uid: 0, gid: 0 });
  const units = new Map();
  if (node.kubeletUnit) {
    const cat = node.kubeletUnit.map((f) => `# ${f.path}\n${f.text.replace(/\n?$/, '\n')}`).join('\n');
    units.set('kubelet', { name: 'kubelet', show: { LoadState: 'loaded', ActiveState: 'active' }, cat });
  } else if (node.processes?.some((p) => p.comm === 'kubelet')) {
    // A running kubelet without unit files given: run by kubelet.service, as on most nodes.
    units.set('kubelet', { name: 'kubelet', show: { LoadState: 'loaded', ActiveState: 'active' }, cat: '' });
  } else {
    units.set('kubelet', {
      name: 'kubelet',
      show: { LoadState: 'not-found', ActiveState: 'inactive' },
      cat: '',
    });
  }
  return {
    processes: node.processes ?? [],
    units,
    files,
    stats,
    dirs,
    pairs: node.pairs ?? [],
    tools: { openssl: true, base64: true, systemctl: true },
    uid: 0,
    complete: true,
  };
}

/** An RKE2 agent as PROVENANCE describes it: --config-dir only, the rke2 defaults drop-in. */
export function rke2Agent(files: Record<string, string> = {}): FakeNode {
  return {
    processes: [
      {
        pid: 9,
        comm: 'kubelet',
        argv: ['kubelet', '--config-dir=/var/lib/rancher/rke2/agent/etc/kubelet.conf.d'],
      },
    ],
    files: {
      '/etc/rancher/rke2/config.yaml': 'write-kubeconfig-mode: "0600"\n',
      '/var/lib/rancher/rke2/agent/etc/kubelet.conf.d/00-rke2-defaults.conf': fixture(
        'rke2/00-rke2-defaults.conf',
      ),
      ...files,
    },
  };
}
