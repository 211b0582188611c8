import type { IgnoredProcess, NodeFacts } from './types.js';

/**
 * Which processes are the node's kubelet and kube-apiserver is decided on the node, once, by
 * src/node/scripts/lib/proc-identity.sh (root; a kubelet in the unit that runs it, or in the
 * container that unit runs; a kube-apiserver in a static pod of the kubelet, or in a unit when
 * there is none; two of the same rank are an ambiguity). The others of those names only appear
 * here, so that the audit names them: a process a local user started under a component's name
 * may be an attempt to steer kubemend, and never changes a result.
 */
const uidText = (p: IgnoredProcess): string => {
  const show = (u: number | null) => (u === null ? 'unknown' : String(u));
  return p.ruid === p.euid ? `uid ${show(p.ruid)}` : `uid ${show(p.ruid)}, euid ${show(p.euid)}`;
};

const WHY: Record<IgnoredProcess['why'], string> = {
  notroot: 'it does not run as root',
  nounit:
    "it is not in the cgroup of kubelet.service or of a known launcher's unit, nor in a container kubelet.service runs",
  notpod: 'a root kube-apiserver runs in a static pod of the kubelet',
  notstatic: "it runs in a pod that is not one of the kubelet's static pods (any user's pod may run as root)",
  outranked: 'a root kubelet runs in the cgroup of kubelet.service or of its launcher',
  ambiguous: 'more than one process could be it, so none is taken',
};

export function ignoredProcessWarning(p: IgnoredProcess): string {
  const role = p.comm === 'kube-apiserver' ? 'kube-apiserver' : 'kubelet';
  return `ignored process ${p.pid} named ${p.comm} (${uidText(p)}): not the node's ${role}, ${WHY[p.why]}`;
}

/** The warnings for the processes that are not the node's kube-apiserver, or not its kubelet. */
export function ignoredProcessWarnings(facts: NodeFacts, of: 'kube-apiserver' | 'kubelet'): string[] {
  const named = (facts.ignored ?? [])
    .filter((p) => (p.comm === 'kube-apiserver') === (of === 'kube-apiserver'))
    .map(ignoredProcessWarning);
  const more = facts.ignoredMore ?? 0;
  return more > 0
    ? [
        ...named,
        `${more} more processes named kubelet, kube-apiserver or a launcher were ignored as not the node's (only the first 32 are named)`,
      ]
    : named;
}

/**
 * When more than one process could be the node's kube-apiserver (or kubelet), none is taken: the
 * node's error naming every candidate, so that nothing is judged or changed by /proc order.
 */
export function ambiguityError(facts: NodeFacts, of: 'kube-apiserver' | 'kubelet'): string | undefined {
  const all = (facts.ignored ?? []).filter(
    (p) => p.why === 'ambiguous' && (p.comm === 'kube-apiserver') === (of === 'kube-apiserver'),
  );
  if (all.length === 0) return undefined;
  const named = all.map((p) => `${p.pid} named ${p.comm} (${uidText(p)})`).join(', ');
  return `more than one root process could be the node's ${of}, so kubemend judges none of them: ${named}; see the warnings for where each runs, stop the one that is not the node's`;
}
