/** A node as kubemend will connect to it, after defaults, Ansible vars and ~/.ssh/config are applied. */
export interface NodeTarget {
  /** Inventory name, used in every message and output. */
  name: string;
  /** Address or DNS name actually dialled (after ~/.ssh/config HostName). */
  host: string;
  port: number;
  user: string;
  /** Private key file (absolute, ~ expanded). Absent: ssh-agent, then ~/.ssh/id_* keys. */
  identityFile?: string;
  become: 'none' | 'sudo';
  /** Hops to go through first, outermost first (ProxyJump a,b → [a, b]). */
  proxyJump: JumpHost[];
  /** known_hosts file used to verify this node's host key (absolute, ~ expanded). */
  knownHostsFile: string;
  /** Given in the inventory; otherwise detected on the node. */
  role?: 'control-plane' | 'worker';
  layout?: string;
  /** Playbook name or file path chosen for this node in the inventory. */
  playbook?: string;
  /** Groups the node belongs to (own format: `groups`; Ansible: every enclosing group). */
  groups: string[];
  /** Free-form per-node overrides for playbook parameters (inventory key `params`). */
  params: Record<string, unknown>;
  /** Where `params` was written ("file:line"), for messages. */
  paramsAt?: string;
  /** Where the node was defined, for messages. */
  source: { file: string; line: number };
  /** The cluster the inventory puts the node in; absent: the one its cluster CA says (fleet/clusters.ts). */
  cluster?: string;
  /** The transport the inventory or --ssh asks for; absent: chosen per node (node/ssh/transport.ts). */
  ssh?: 'builtin' | 'openssh';
  /** How the OpenSSH transport calls `ssh` for this node: only what the inventory itself says. */
  sshCommand?: SshCommandLine;
  /** Why only the system ssh client can reach this node as ~/.ssh/config says (e.g. a ProxyCommand). */
  opensshOnly?: string;
}

/**
 * The inventory's values as `ssh` command-line options: they win over ~/.ssh/config, which ssh
 * itself reads for everything else (Match, ProxyCommand, CertificateFile, ...).
 */
export interface SshCommandLine {
  /** What the user would type after `ssh`: the inventory's host, else the node name. */
  destination: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** `-J` as resolved from the inventory's proxyJump (`none`: ''). */
  proxyJump?: string;
}

export interface JumpHost {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
}

export interface InventoryProblem {
  file: string;
  line: number;
  message: string;
  fix: string;
}
