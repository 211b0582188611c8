import { Option, type Command } from 'commander';
import { resolveControls } from '../controls/index.js';
import type { Control } from '../controls/types.js';
import { UsageError } from '../errors.js';

export type OutputFormat = 'table' | 'json' | 'junit' | 'markdown';

/** Options every node command shares (DESIGN.md "Common options"). */
export interface CommonOptions {
  inventory: string;
  limit?: string;
  controls: Control[];
  playbook?: string;
  output: OutputFormat;
  concurrency: number;
  connectTimeout: number;
  knownHosts?: string;
  acceptNewHostKeys: boolean;
  color: boolean;
  verbose: boolean;
  /** --ssh: the SSH client for every node; absent: chosen per node. */
  ssh?: 'builtin' | 'openssh';
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('-i, --inventory <file>', 'inventory file (own YAML or Ansible YAML)', './inventory.yaml')
    .option('-l, --limit <patterns>', 'comma list of node names or groups; globs allowed, !pattern excludes')
    .option(
      '--controls <list>',
      'controls to run: ids or aliases (apiserver-kubelet-client-cert, cis-k8s-1.2.5, kubelet-client-ca, cis-eks-3.2.3)',
    )
    .option('-p, --playbook <file>', "remediation playbook (default: the one matching each node's layout)")
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'junit', 'markdown'])
        .default('table'),
    )
    .option('--concurrency <n>', 'nodes worked on at once', '20')
    .option('--connect-timeout <sec>', 'SSH connect timeout per hop, in seconds', '10')
    .option(
      '--known-hosts <file>',
      'known_hosts file (default ~/.ssh/known_hosts, unless the inventory names one)',
    )
    .option(
      '--accept-new-host-keys',
      'accept and record unknown host keys (like OpenSSH accept-new); changed keys are always refused',
      false,
    )
    .addOption(
      new Option(
        '--ssh <client>',
        'SSH client for every node: builtin, or openssh (the system ssh; default: chosen per node from its ssh settings)',
      ).choices(['builtin', 'openssh']),
    )
    .option('--no-color', 'no colors (the NO_COLOR variable works too)')
    .option('-v, --verbose', 'show evidence and per-node progress lines', false);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name} must be a whole number of at least 1, not "${value}"`);
  return n;
}

export function commonOptions(raw: Record<string, unknown>): CommonOptions {
  const { controls, unknown } = resolveControls(raw['controls'] as string | undefined);
  if (unknown.length > 0)
    throw new UsageError(`unknown control${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, [
      'known: apiserver-kubelet-client-cert (cis-k8s-1.2.5, cis-k8s-1.2.4), kubelet-client-ca (cis-eks-3.2.3, cis-k8s-4.2.3)',
    ]);
  if (controls.length === 0) throw new UsageError('--controls selects no control');
  return {
    inventory: raw['inventory'] as string,
    ...(raw['limit'] ? { limit: raw['limit'] as string } : {}),
    controls,
    ...(raw['playbook'] ? { playbook: raw['playbook'] as string } : {}),
    output: raw['output'] as OutputFormat,
    concurrency: positiveInt('--concurrency', String(raw['concurrency'])),
    connectTimeout: positiveInt('--connect-timeout', String(raw['connectTimeout'])),
    ...(raw['knownHosts'] ? { knownHosts: raw['knownHosts'] as string } : {}),
    acceptNewHostKeys: Boolean(raw['acceptNewHostKeys']),
    color: raw['color'] !== false,
    verbose: Boolean(raw['verbose']),
    ...(raw['ssh'] ? { ssh: raw['ssh'] as 'builtin' | 'openssh' } : {}),
  };
}
