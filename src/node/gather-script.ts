/**
 * The one remote command that gathers every fact an audit or plan needs from a node: the script
 * is src/node/scripts/gather.sh; this file says what it is asked and documents what it prints.
 *
 * POSIX sh + coreutils + awk only. It writes nothing (no temp files: everything is piped), never
 * reads its own stdin (the script travels as an argument), bounds every file it prints, and keeps
 * going past missing files and permission errors. Private keys are only stat'ed and, when openssl
 * exists, compared with their certificate on the node: their bytes never leave it.
 *
 * It runs on busy control planes, on many nodes at once, so it is built around its cost: every
 * program it starts costs a fork and an exec (about 2 ms each on a small node), so lists are
 * walked with shell builtins, settings are found by one awk per step that reads the files itself,
 * and the files to print are collected and printed at the end by one `stat`, one `cat` and one
 * `base64`. The kubelet unit's files come from `systemctl show` (FragmentPath, DropInPaths) and
 * are printed like any other file, instead of a second, slower `systemctl cat`.
 *
 * Output is line-framed; a path is always the last field, raw (a path with a newline in it is not
 * supported); free-form text is base64 (see src/node/gather-parse.ts):
 *   KM1 BEGIN
 *   KM PROC <pid> <comm> <cwd>   then the base64 of /proc/<pid>/cmdline and `KM END`: only the
 *                   node's own processes, as src/node/scripts/lib/proc-identity.sh defines them
 *   KM IGNORED <pid> <ruid> <euid> <comm> notroot|nounit|notpod|notstatic|outranked|ambiguous   a process of such a name that
 *                   is not the node's (named in the audit's warnings, never read); at most 32
 *   KM IGNORED-MORE <n>   how many more such processes there were
 *   KM UNIT kubelet   then the `systemctl show` lines (Key=value) and `KM END`
 *   KM FILE missing|unreadable|dir <path>
 *   KM FILES   then `<size> <mode> <uid> <gid> <path>` a line for each readable file, `KM DATA`,
 *              the base64 of the files no larger than the bound, one after the other in that
 *              order, and `KM END`
 *   KM BIG <path>   then the base64 of the file's first <bound> bytes and `KM END`
 *   KM STAT ok|unreadable <size> <mode> <uid> <gid> <path> | KM STAT missing <path>
 *   KM LIST ok <dir>   then one entry name a line and `KM END` | KM LIST missing <dir>
 *   KM PAIR match|mismatch|badcert|badkey|unreadable|noopenssl <cert>\t<key>
 *   KM KUBECONFIG <path>   then its certificate-authority(-data) lines, nothing else, and `KM END`
 *   KM TOOL <name> yes|no
 *   KM WHOAMI <uid>
 *   KM REL <path>   a relative path in a setting: its base (the process's working directory, the
 *                   config file's directory) is known only to the controller, which asks again
 *                   with the absolute path (extraConfigs, extraConfigDirs, extraManifestDirs)
 *   KM1 DONE
 */

import { INFLIGHT_FILE, scriptCommand, scriptText } from './remote.js';

export interface GatherOptions {
  /** Public files (certificates, CA bundles) to fetch besides the ones the node's settings point at. */
  extraFiles?: readonly string[];
  /** Private keys to stat (never read) besides the ones the node's settings point at. */
  extraKeys?: readonly string[];
  /** cert/key pairs to compare on the node besides the apiserver's own. */
  extraPairs?: readonly (readonly [cert: string, key: string])[];
  /** Kubelet config files, read and followed like the one --config names (absolute paths). */
  extraConfigs?: readonly string[];
  /** Kubelet --config-dir directories, listed and read like the one the flag names. */
  extraConfigDirs?: readonly string[];
  /** Static pod directories, searched for the kube-apiserver manifest like the default one. */
  extraManifestDirs?: readonly string[];
  /** Upper bound for each file printed, in bytes. */
  maxFileBytes?: number;
}

/** Kubelet config files that common layouts use, read even when no process or unit points at them. */
export const WELL_KNOWN_KUBELET_FILES = [
  '/var/lib/kubelet/config.yaml',
  '/etc/kubernetes/kubelet/kubelet-config.json',
  '/etc/kubernetes/kubelet/config.json',
  '/etc/kubernetes/kubelet-config.yaml',
  '/var/lib/kubelet/kubelet.conf',
  '/var/lib/kubelet/kubeadm-flags.env',
  '/etc/default/kubelet',
  '/etc/sysconfig/kubelet',
  '/etc/eks/kubelet/environment',
  '/etc/kubernetes/kubelet.env',
] as const;

/** Small public files that help identify a layout. */
export const LAYOUT_FILES = ['/etc/os-release', '/etc/eks/release'] as const;

/**
 * Files whose mere existence identifies a layout. Only stat'ed: some are large binaries, and
 * kubeconfigs such as admin.conf can embed private keys.
 */
export const LAYOUT_MARKERS = [
  '/etc/eks/bootstrap.sh',
  '/usr/bin/nodeadm',
  '/etc/rancher/k3s/config.yaml',
  '/etc/rancher/rke2/config.yaml',
  '/usr/local/bin/k3s',
  '/usr/local/bin/rke2',
  '/var/snap/microk8s/current/args/kubelet',
  '/usr/local/bin/k0s',
  '/etc/machine-config-daemon/currentconfig',
  '/etc/kubernetes/azure.json',
  '/home/kubernetes/bin/kubelet',
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/pki/ca.key',
  '/etc/kubernetes/ssl/ca.key',
] as const;

/** The gather script's arguments: the bound, then every path as a tagged argument (see gather.sh). */
export function gatherArgs(opts: GatherOptions = {}): string[] {
  const tag = (t: string, paths: readonly string[] | undefined) => (paths ?? []).map((p) => `${t}:${p}`);
  return [
    String(opts.maxFileBytes ?? 262_144),
    ...tag('w', [...WELL_KNOWN_KUBELET_FILES, ...LAYOUT_FILES, INFLIGHT_FILE]),
    ...tag('s', LAYOUT_MARKERS),
    ...tag('c', opts.extraConfigs),
    ...tag('d', opts.extraConfigDirs),
    ...tag('m', opts.extraManifestDirs),
    ...tag('f', opts.extraFiles),
    ...tag('k', opts.extraKeys),
    ...(opts.extraPairs ?? []).flatMap(([c, k]) => [`p:${c}`, `q:${k}`]),
  ];
}

/** The command line that gathers a node's facts. */
export const gatherCommand = (opts: GatherOptions = {}): string => scriptCommand('gather', gatherArgs(opts));

/**
 * sh function `values [-m] [FILE…]` of gather.sh: prints "key<TAB>value" for the settings kubemend
 * follows, found in the text on stdin and in each FILE. Exported for tests.
 */
export const VALUES_FUNCTION = /^values\(\) \{[\s\S]*?^\}$/m.exec(scriptText('gather'))?.[0] ?? '';
