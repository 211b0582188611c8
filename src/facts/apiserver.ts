import { posix } from 'node:path';
import { parseFlags, type Flag } from './flags.js';
import { nodeYamlDocuments, nodeYamlValue } from './node-yaml.js';
import { memoByText } from './text-memo.js';
import type { NodeFacts, ProcessFact } from './types.js';

export const DEFAULT_STATIC_POD_DIR = '/etc/kubernetes/manifests';

export interface ManifestView {
  path: string;
  /** The pod's namespace/name: files defining the same pod shadow each other, others all run. */
  pod?: string;
  /** hostPath volumes the apiserver container mounts: host directory and where the container sees it. */
  mounts?: { hostPath: string; mountPath: string }[];
  /** Where the flags live in the container: `command` or `args`. */
  flags: Flag[];
  error?: string;
}

export interface ApiserverView {
  process?: ProcessFact;
  processFlags: Flag[];
  /** The manifest the kubelet uses for the kube-apiserver pod (the last-sorting file that defines it). */
  manifest?: ManifestView;
  /** Other files in the static pod directory that also define the kube-apiserver pod. */
  shadowed: string[];
  staticPodDir: string;
}

const isApiserverBinary = (word: string) => posix.basename(word) === 'kube-apiserver';

/** kube-apiserver argv from a container: its command and args, past any wrapper (go-runner, hyperkube, sh -c). */
function containerArgv(container: Record<string, unknown>): string[] | undefined {
  const words = [
    ...((container['command'] as unknown[] | undefined) ?? []),
    ...((container['args'] as unknown[] | undefined) ?? []),
  ].map(String);
  const shell = words.findIndex((w) => w === '-c');
  const flat =
    shell > 0 && /(^|\/)(ba)?sh$/.test(words[0] ?? '')
      ? (words[shell + 1] ?? '').split(/\s+/).filter(Boolean)
      : words;
  // The binary as the command, with its flags after it: not a word that merely names it (a
  // watchdog's `pgrep -x kube-apiserver`).
  const bin = flat.findIndex(
    (w, i) => isApiserverBinary(w) && flat.slice(i + 1).some((x) => x.startsWith('--')),
  );
  if (bin >= 0) return flat.slice(bin);
  // hyperkube: `/hyperkube apiserver …` (kubespray v2.8).
  const hk = flat.findIndex((w) => posix.basename(w) === 'hyperkube');
  if (hk >= 0 && ['apiserver', 'kube-apiserver'].includes(flat[hk + 1] ?? '')) return flat.slice(hk + 1);
  if (container['name'] === 'kube-apiserver')
    return ['kube-apiserver', ...flat.filter((w) => w.startsWith('-'))];
  return undefined;
}

/** Parses a static pod file; returns the kube-apiserver flags, or undefined when it is some other pod. */
export const manifestFlags: (path: string, text: string) => ManifestView | undefined =
  memoByText(readManifest);

function readManifest(path: string, text: string): ManifestView | undefined {
  const docs = nodeYamlDocuments(path, text);
  if (!docs.ok) return { path, flags: [], error: docs.error };
  for (const doc of docs.value) {
    if (doc.errors.length > 0)
      return { path, flags: [], error: `${path} does not parse: ${doc.errors[0]?.message ?? ''}` };
    const value = nodeYamlValue(path, doc);
    if (!value.ok) return { path, flags: [], error: value.error };
    const pod = value.value as Record<string, unknown> | null;
    const containers = (pod?.['spec'] as Record<string, unknown> | undefined)?.['containers'];
    if (!Array.isArray(containers)) continue;
    const meta = (pod?.['metadata'] as Record<string, unknown> | undefined) ?? {};
    const name = typeof meta['name'] === 'string' ? meta['name'] : undefined;
    const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
    const spec = (pod?.['spec'] as Record<string, unknown> | undefined) ?? {};
    for (const c of containers as Record<string, unknown>[]) {
      const argv = containerArgv(c);
      if (argv)
        return {
          path,
          ...(name ? { pod: `${namespace}/${name}` } : {}),
          mounts: hostPathMounts(spec, c),
          flags: parseFlags(argv),
        };
    }
  }
  return undefined;
}

/** The container's volumeMounts that come from hostPath volumes of the pod. */
function hostPathMounts(
  spec: Record<string, unknown>,
  container: Record<string, unknown>,
): { hostPath: string; mountPath: string }[] {
  const volumes = new Map<string, string>();
  for (const v of Array.isArray(spec['volumes']) ? (spec['volumes'] as Record<string, unknown>[]) : []) {
    const host = (v?.['hostPath'] as Record<string, unknown> | undefined)?.['path'];
    if (typeof v?.['name'] === 'string' && typeof host === 'string') volumes.set(v['name'], host);
  }
  const mounts = Array.isArray(container['volumeMounts'])
    ? (container['volumeMounts'] as Record<string, unknown>[])
    : [];
  return mounts.flatMap((m) => {
    const host = typeof m?.['name'] === 'string' ? volumes.get(m['name']) : undefined;
    return host && typeof m['mountPath'] === 'string' ? [{ hostPath: host, mountPath: m['mountPath'] }] : [];
  });
}

/** The node's kube-apiserver: the one such process proc-identity.sh names; of two, neither. */
function findApiserverProcess(facts: NodeFacts): ProcessFact | undefined {
  const all = facts.processes.filter(
    (p) =>
      p.comm === 'kube-apiserver' ||
      isApiserverBinary(p.argv[0] ?? '') ||
      (posix.basename(p.argv[0] ?? '') === 'hyperkube' &&
        ['apiserver', 'kube-apiserver'].includes(p.argv[1] ?? '')),
  );
  return all.length === 1 ? all[0] : undefined;
}

/** `staticPodDir` null: the kubelet runs no static pods, so no file is the apiserver's manifest. */
export function apiserverView(
  facts: NodeFacts,
  staticPodDir: string | null = DEFAULT_STATIC_POD_DIR,
): ApiserverView {
  const process = findApiserverProcess(facts);
  const dir = staticPodDir?.replace(/\/+$/, '') ?? '';
  // staticPodPath may name one manifest file instead of a directory (the kubelet runs it as is).
  const single = dir !== '' && facts.files.get(dir)?.status === 'ok';
  const candidates = [...facts.files.values()]
    .filter((f) =>
      single
        ? f.path === dir
        : dir !== '' &&
          f.status === 'ok' &&
          posix.dirname(f.path) === dir &&
          !posix.basename(f.path).startsWith('.'),
    )
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => manifestFlags(f.path, f.content ?? ''))
    .filter((m): m is ManifestView => m !== undefined);
  // The kubelet keeps one pod per name; on a relist the file that sorts last wins (node-facts §2).
  // Files defining a pod of another name are other pods, and run as well: they shadow nothing.
  const manifest = candidates.at(-1);
  const shadowed = candidates
    .slice(0, -1)
    .filter((m) => m.pod === undefined || manifest?.pod === undefined || m.pod === manifest.pod)
    .map((m) => m.path);
  return {
    ...(process ? { process } : {}),
    processFlags: process ? parseFlags(process.argv) : [],
    ...(manifest ? { manifest } : {}),
    shadowed,
    staticPodDir: dir,
  };
}
