/** What the gather script saw on one node, decoded. Pure data: every decision is made elsewhere. */

export interface FileFact {
  path: string;
  status: 'ok' | 'missing' | 'unreadable' | 'dir';
  size?: number;
  /** Octal permission bits as printed by stat, e.g. "600". */
  mode?: string;
  uid?: number;
  gid?: number;
  /** Text content (only for status ok, and only for files the script prints; at most the byte bound). */
  content?: string;
  /** sha256 (hex) of the bytes as read on the node; only for status ok and not truncated. */
  sha256?: string;
  truncated?: boolean;
}

export interface ProcessFact {
  pid: number;
  comm: string;
  argv: string[];
  cwd?: string;
}

/**
 * A process named like a Kubernetes component that is not the node's (src/node/scripts/
 * proc-identity.sh): its pid, real and effective uid (null when unreadable), name and why.
 */
export interface IgnoredProcess {
  pid: number;
  ruid: number | null;
  euid: number | null;
  comm: string;
  why: 'notroot' | 'nounit' | 'notpod' | 'notstatic' | 'outranked' | 'ambiguous';
}

export interface UnitFact {
  name: string;
  /** `systemctl show` properties. */
  show: Record<string, string>;
  /**
   * The unit file and its drop-ins in the order systemd applies them, each headed by `# /path`,
   * as `systemctl cat` shows them (rebuilt from FragmentPath, DropInPaths and the files' content).
   */
  cat: string;
}

export type PairResult = 'match' | 'mismatch' | 'badcert' | 'badkey' | 'unreadable' | 'noopenssl';

export interface NodeFacts {
  /** The node's kubelet, kube-apiserver and launchers: root, in their unit, its container or a static pod. */
  processes: ProcessFact[];
  /** Processes of those names that are not the node's, for the audit's warnings. */
  ignored?: IgnoredProcess[];
  /** How many more such processes there were than `ignored` names (the script names 32 at most). */
  ignoredMore?: number;
  units: Map<string, UnitFact>;
  /** Files whose content was fetched (public material and config only). */
  files: Map<string, FileFact>;
  /** Files only stat'ed: private keys. */
  stats: Map<string, FileFact>;
  /** Directory listings (entry names, dot-files included); null when the directory is missing. */
  dirs: Map<string, string[] | null>;
  pairs: { cert: string; key: string; result: PairResult }[];
  tools: Record<string, boolean>;
  uid?: number;
  /**
   * The cluster CA of each kubeconfig the kubelet uses (--kubeconfig): only its
   * certificate-authority path or certificate-authority-data (PEM text) was read.
   */
  kubeconfigCAs?: Map<string, { files: string[]; pem: string[] }>;
  /** Relative paths found in settings: their base is known only once the settings are read. */
  relative?: string[];
  /** The script ran to its end marker (otherwise the output was cut). */
  complete: boolean;
  /**
   * Files printed together did not add up to the sizes stat gave for them: one of them changed
   * while the script read it, so none of their contents can be trusted (gather again).
   */
  changedWhileRead?: string[];
}
