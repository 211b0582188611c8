import { DEFAULT_CONTROLS } from '../controls/index.js';
import type { CommandLine } from '../report/apply-render.js';
import { shellWord } from '../node/ssh/shell.js';
import { DEFAULT_CONNECT_TIMEOUT, DEFAULT_INVENTORY, type CommonOptions } from './options.js';

/** Commands that judge nodes again, and so need the playbook and controls of this run too. */
const PLANNING = new Set(['audit', 'plan', 'apply']);

/**
 * The commands kubemend prints for the user to run (the undo, "later: …" fixes) carry the options
 * this run needed to find and reach its nodes, so that a command copied from the screen works as
 * printed from the same directory. Paths stay as the user gave them; every word is shell-quoted.
 * An empty command is the interactive session. Connection options of new common options (--ssh)
 * belong in `connect`.
 */
export function commandLine(opts: CommonOptions): CommandLine {
  const connect: string[] = [];
  if (opts.inventory !== DEFAULT_INVENTORY) connect.push('-i', opts.inventory);
  // The nodes from the cluster: the undo must find the node where this run found it.
  if (opts.kubeconfig) connect.push('--kubeconfig', opts.kubeconfig);
  if (opts.context) connect.push('--context', opts.context);
  if (opts.nodeAddress) connect.push('--node-address', opts.nodeAddress);
  if (opts.knownHosts) connect.push('--known-hosts', opts.knownHosts);
  if (opts.connectTimeout !== DEFAULT_CONNECT_TIMEOUT)
    connect.push('--connect-timeout', String(opts.connectTimeout));
  if (opts.journal) connect.push('--journal', opts.journal);
  const judge: string[] = [];
  if (opts.playbook) judge.push('-p', opts.playbook);
  if (opts.apiserverKubeletCert) judge.push('--apiserver-kubelet-cert', opts.apiserverKubeletCert);
  if (
    opts.controls.length !== DEFAULT_CONTROLS.length ||
    opts.controls.some((c) => !DEFAULT_CONTROLS.includes(c))
  )
    judge.push('--controls', opts.controls.map((c) => c.id).join(','));
  return (command, ...args) =>
    [
      'kubemend',
      ...(command ? [command] : []),
      ...connect,
      // A command that names its own --controls (a finding left for later) keeps to that one.
      ...(PLANNING.has(command) && !args.includes('--controls') ? judge : []),
      ...args,
    ]
      .map(shellWord)
      .join(' ');
}
