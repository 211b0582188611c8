import { apiserverView, DEFAULT_STATIC_POD_DIR, type ApiserverView } from './apiserver.js';
import { kubeletView, type KubeletView } from './kubelet.js';
import { detectLayout, detectRole, type Layout, type Role } from './layout.js';
import type { NodeFacts } from './types.js';

/** A node's facts with the kubelet and kube-apiserver read the way they read themselves. */
export interface NodeModel {
  facts: NodeFacts;
  kubelet: KubeletView;
  apiserver: ApiserverView;
  layout: Layout | null;
  role: Role | null;
}

export function nodeModel(facts: NodeFacts, given: { layout?: string; role?: Role } = {}): NodeModel {
  const kubelet = kubeletView(facts);
  // The kubelet runs static pods only from its staticPodPath (--pod-manifest-path): a kubelet whose
  // settings are known and name none runs none (node-facts §1.5), so a kube-apiserver.yaml left in
  // the usual directory is not its apiserver's manifest (an apiserver run by systemd, say). When
  // the kubelet's settings are not known, the usual directory is the best guess.
  const known = kubelet.present && kubelet.errors.length === 0;
  const apiserver = apiserverView(
    facts,
    kubelet.staticPodPath?.value || (known ? null : DEFAULT_STATIC_POD_DIR),
  );
  return {
    facts,
    kubelet,
    apiserver,
    layout: (given.layout as Layout | undefined) ?? detectLayout(facts, kubelet, apiserver),
    role: given.role ?? detectRole(kubelet, apiserver),
  };
}

/** Absolute paths a node's settings lead to that its facts do not hold yet, by what they are. */
export interface UnreadPaths {
  configs: string[];
  configDirs: string[];
  manifestDirs: string[];
  files: string[];
}

/**
 * What to gather next: paths the kubelet's settings lead to that the gather script did not read.
 * A relative path (facts.relative) has a base only known here (the kubelet's working directory for
 * flags, the config file's directory for paths inside it; node-facts §1.1), and a quoted YAML value
 * with a space in it is more than the script's word splitting can follow. Undefined when nothing
 * is missing, as on most nodes.
 */
export function unreadPaths(facts: NodeFacts, kubelet: KubeletView): UnreadPaths | undefined {
  const absent = (p: string | undefined): p is string =>
    p !== undefined && p.startsWith('/') && !facts.files.has(p);
  const unlisted = (p: string | undefined): p is string =>
    p !== undefined && p.startsWith('/') && !facts.dirs.has(p);
  const need: UnreadPaths = {
    configs: [kubelet.config?.path].filter(absent),
    configDirs: [kubelet.configDir?.path].filter(unlisted),
    manifestDirs: [kubelet.staticPodPath?.value].filter(unlisted),
    files: [kubelet.clientCAFile?.value].filter(absent),
  };
  return Object.values(need).some((l: string[]) => l.length > 0) ? need : undefined;
}
