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
