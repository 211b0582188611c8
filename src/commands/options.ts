import { Option, type Command } from 'commander';
import { CONTROLS, resolveControls } from '../controls/index.js';
import type { Control } from '../controls/types.js';
import { UsageError } from '../errors.js';
import { NODE_ADDRESS_RULES, type NodeAddressRule } from '../cluster/nodes.js';

export const OUTPUT_FORMATS = ['table', 'json', 'junit', 'markdown'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
const SSH_CLIENTS = ['builtin', 'openssh'] as const;

/** Options every command shares (DESIGN.md "Common options"), wherever they stand on the line. */
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
  ssh?: (typeof SSH_CLIENTS)[number];
  journal?: string;
  /** --no-pager: long diffs in the session are printed, not paged. */
  pager: boolean;
  /** --apiserver-kubelet-cert: public certificate(s) of kube-apiservers not in the selection (fleet check). */
  apiserverKubeletCert?: string;
  /** -i was left at its default: with the cluster as a source, a missing ./inventory.yaml is fine. */
  inventoryIsDefault: boolean;
  /** --kubeconfig / --context: the cluster's API as a node source (cluster/targets.ts). */
  kubeconfig?: string;
  context?: string;
  /** --node-address: which of a Node's addresses ssh dials. */
  nodeAddress?: NodeAddressRule;
}

export const DEFAULT_INVENTORY = './inventory.yaml';
export const DEFAULT_CONCURRENCY = 20;
export const DEFAULT_CONNECT_TIMEOUT = 10;

/** `--controls`' help: every id with all of its aliases, so no alias has to be guessed. */
export const controlsHelp = (): string =>
  `${CONTROLS.map((c) => `${c.id} (${c.aliases.join(', ')})${c.optIn ? ' [opt-in]' : ''}`).join(', ')}; all: every control`;

/** A parser for a whole-number option of at least 1; its default then shows as a number in --help. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`${name} must be a whole number of at least 1, not "${value}"`);
    return n;
  };
}

/**
 * Declares the common options once, on the program: commander then takes them before or after
 * the command and with no command at all (the session). Numbers are parsed here, so their
 * defaults show as values in --help. A new common option is one more line here and in
 * commonOptions.
 */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('-i, --inventory <file>', 'inventory file (own YAML or Ansible YAML)').default(
        DEFAULT_INVENTORY,
        DEFAULT_INVENTORY,
      ),
    )
    .option(
      '-l, --limit <patterns>',
      'comma list of node names or groups; globs allowed, !pattern excludes; cluster nodes also match role=ROLE and label:KEY=VALUE',
    )
    .option(
      '--kubeconfig <file>',
      "take the nodes from this kubeconfig's cluster (merged with -i when that file is there)",
    )
    .option(
      '--context <name>',
      'take the nodes from this kubeconfig context (KUBECONFIG, else ~/.kube/config)',
    )
    .addOption(
      new Option(
        '--node-address <rule>',
        "which of a cluster node's addresses ssh dials (default: the inventory's nodeAddress / kubemend_node_address, else internal-ip)",
      ).choices([...NODE_ADDRESS_RULES]),
    )
    .option('--controls <list>', `controls to run, by id or alias: ${controlsHelp()} (default: both)`)
    .option('-p, --playbook <file>', "remediation playbook (default: the one matching each node's layout)")
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table', 'table'),
    )
    .option('--concurrency <n>', 'nodes worked on at once', positiveInt('--concurrency'), DEFAULT_CONCURRENCY)
    .option(
      '--connect-timeout <sec>',
      'SSH connect timeout per hop, in seconds',
      positiveInt('--connect-timeout'),
      DEFAULT_CONNECT_TIMEOUT,
    )
    .option(
      '--known-hosts <file>',
      'known_hosts file, unless the inventory names one (default: ~/.ssh/known_hosts)',
    )
    .option(
      '--accept-new-host-keys',
      'accept and record unknown host keys (like OpenSSH accept-new); changed keys are always refused',
    )
    .option(
      '--journal <file>',
      'append every change to this JSON-lines journal (default: ~/.local/state/kubemend/journal.jsonl)',
    )
    .addOption(
      new Option(
        '--ssh <client>',
        'SSH client for every node: builtin, or openssh (the system ssh; default: chosen per node from its ssh settings)',
      ).choices(SSH_CLIENTS),
    )
    .option(
      '--apiserver-kubelet-cert <file>',
      "the kube-apiserver's kubelet client certificate (public PEM, local file) to check kubelets' client CAs against when no control plane of their cluster is selected",
    )
    .option('--no-color', 'no colors (the NO_COLOR variable works too)')
    .option('--no-pager', 'print long diffs instead of paging them (KUBEMEND_PAGER, then PAGER, else less)')
    .option('-v, --verbose', 'show evidence and per-node progress lines');
}

/**
 * Commander's parsed options (`cmd.optsWithGlobals()`), read by type: each reader checks the value's
 * type once, so no call site casts, and a value of the wrong type reads as absent.
 */
export type RawOptions = Readonly<Record<string, unknown>>;

/** A non-empty string option, or undefined. */
export const textOption = (raw: RawOptions, key: string): string | undefined => {
  const v = raw[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** A string option as given, even empty, or undefined. */
export const stringOption = (raw: RawOptions, key: string): string | undefined => {
  const v = raw[key];
  return typeof v === 'string' ? v : undefined;
};

/** A number option (parsed by its argParser, e.g. positiveInt), or undefined. */
export const numberOption = (raw: RawOptions, key: string): number | undefined => {
  const v = raw[key];
  return typeof v === 'number' ? v : undefined;
};

/** A boolean flag: true only when given. A `--no-x` flag reads `raw[x] !== false` instead. */
export const flagOption = (raw: RawOptions, key: string): boolean => raw[key] === true;

/** One of the choices commander allowed, or undefined. */
export function choiceOption<T extends string>(
  raw: RawOptions,
  key: string,
  choices: readonly T[],
): T | undefined {
  const v = raw[key];
  return choices.find((c) => c === v);
}

/** `{ key: value }` when the value is there, else `{}`: optional fields stay absent, not undefined. */
export const present = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** The program's parsed options → CommonOptions; a bad --controls is a usage error. */
export function commonOptions(raw: RawOptions): CommonOptions {
  const { controls, unknown } = resolveControls(textOption(raw, 'controls'));
  if (unknown.length > 0)
    throw new UsageError(`unknown control${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, [
      `known: ${controlsHelp()}`,
    ]);
  if (controls.length === 0) throw new UsageError('--controls selects no control');
  return {
    inventory: textOption(raw, 'inventory') ?? DEFAULT_INVENTORY,
    ...present('limit', textOption(raw, 'limit')),
    controls,
    ...present('playbook', textOption(raw, 'playbook')),
    output: choiceOption(raw, 'output', OUTPUT_FORMATS) ?? 'table',
    concurrency: numberOption(raw, 'concurrency') ?? DEFAULT_CONCURRENCY,
    connectTimeout: numberOption(raw, 'connectTimeout') ?? DEFAULT_CONNECT_TIMEOUT,
    ...present('knownHosts', textOption(raw, 'knownHosts')),
    acceptNewHostKeys: flagOption(raw, 'acceptNewHostKeys'),
    color: raw['color'] !== false,
    verbose: flagOption(raw, 'verbose'),
    ...present('ssh', choiceOption(raw, 'ssh', SSH_CLIENTS)),
    ...present('journal', textOption(raw, 'journal')),
    pager: raw['pager'] !== false,
    ...present('apiserverKubeletCert', textOption(raw, 'apiserverKubeletCert')),
    inventoryIsDefault: raw['inventory'] === undefined || raw['inventory'] === DEFAULT_INVENTORY,
    ...present('kubeconfig', textOption(raw, 'kubeconfig')),
    ...present('context', textOption(raw, 'context')),
    ...present('nodeAddress', choiceOption(raw, 'nodeAddress', NODE_ADDRESS_RULES)),
  };
}
