import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../errors.js';
import type { NodeTarget } from './types.js';
import type { Fields, NodeSpec } from './fields.js';
import { Problems, inventoryError } from './problems.js';
import { YamlSource, isMap } from './yaml-source.js';
import { exampleInventory, readOwnFormat, type ParseContext } from './own-format.js';
import { looksLikeAnsible, readAnsible } from './ansible.js';
import { readSshConfig } from './ssh-config.js';
import { readVarsFiles } from './vars-files.js';
import { resolveNodes } from './resolve.js';
import { checkKeyFiles } from './key-files.js';
import { resolveUserPath } from './paths.js';
import { suggest } from './suggest.js';

export { selectNodes } from './limit.js';

export interface LoadOptions {
  /** Default ~/.ssh/config. */
  sshConfigPath?: string;
  /**
   * --known-hosts: replaces the default ~/.ssh/known_hosts, but not a knownHostsFile the
   * inventory sets (per node or in defaults).
   */
  knownHostsFile?: string;
  /** Default os.homedir(); used for ~ and for ~/.ssh. */
  homeDir?: string;
  /** --ssh: the transport for every node, over the inventory's `ssh` fields. */
  ssh?: 'builtin' | 'openssh';
}

/**
 * Reads an inventory (kubemend's own format or an Ansible YAML inventory), applies ~/.ssh/config
 * and defaults, and returns the nodes in inventory order. Every problem found is reported at once
 * in one UsageError, each as `file:line: message — fix`.
 */
export async function loadInventory(file: string, opts: LoadOptions = {}): Promise<NodeTarget[]> {
  return loadInventoryWith(file, opts);
}

/**
 * loadInventory, with the nodes another source defines (the cluster's API: cluster/targets.ts):
 * `merge` gets the file's nodes (none when `file` is undefined) and what the file says for every
 * node (defaults:, all's vars), and returns the nodes to resolve.
 */
export async function loadInventoryWith(
  file: string | undefined,
  opts: LoadOptions = {},
  merge: (specs: NodeSpec[], defaults: Fields) => NodeSpec[] = (specs) => specs,
): Promise<NodeTarget[]> {
  const homeDir = opts.homeDir ?? os.homedir();
  const problems = new Problems();
  const label = file ?? 'the cluster';
  let defaults: Fields = {};
  const fileSpecs =
    file === undefined
      ? []
      : await parseInventory(file, await readInventory(file), {
          problems,
          homeDir,
          defaults: (fields) => (defaults = fields),
        });
  // Keep going with the nodes that could be read, so a proxyJump loop is reported with the rest.
  if (file !== undefined && fileSpecs.length === 0) throw inventoryError(file, problems.items);
  const specs = merge(fileSpecs, defaults);

  const ssh = await readSshConfig(
    opts.sshConfigPath ?? path.join(homeDir, '.ssh', 'config'),
    homeDir,
    problems,
  );
  const knownHostsFile =
    opts.knownHostsFile === undefined
      ? path.join(homeDir, '.ssh', 'known_hosts')
      : resolveUserPath(opts.knownHostsFile, process.cwd(), homeDir);
  const nodes = resolveNodes(specs, {
    problems,
    ssh,
    homeDir,
    localUser: localUser(),
    knownHostsFile,
    inventoryFile: label,
  });
  await checkKeyFiles(specs, problems);
  if (problems.size > 0) throw inventoryError(label, problems.items);
  if (opts.ssh) for (const node of nodes) node.ssh = opts.ssh;
  return nodes;
}

async function readInventory(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${(error as Error).message})`;
    throw new UsageError(`inventory ${file} ${what}`, [
      'use -i FILE to point at your inventory, or create ./inventory.yaml, for example:',
      ...exampleInventory.map((line) => `  ${line}`),
    ]);
  }
}

/** The nodes as the file defines them. Problems are collected, not thrown. */
async function parseInventory(file: string, text: string, context: ParseContext): Promise<NodeSpec[]> {
  const { problems } = context;
  const source = YamlSource.parse(file, text, problems);
  if (!source) return [];
  const root = source.deref(source.doc.contents);
  if (root === null) {
    problems.add(
      file,
      1,
      'the inventory is empty',
      'list your nodes, e.g. `nodes: { cp-1: { host: 10.0.0.10, role: control-plane } }`',
    );
    return [];
  }
  if (!isMap(root)) {
    problems.add(
      file,
      source.lineOf(root),
      'an inventory must be a map with nodes: (kubemend format) or all: (Ansible format)',
      'start the file with `nodes:` and one indented line per node',
    );
    return [];
  }
  const keys = root.items.map((pair) => String(source.toJs(source.deref(pair.key))));
  if (keys.includes('nodes') || keys.includes('defaults')) return readOwnFormat(source, root, context);
  if (looksLikeAnsible(source, root)) return readAnsible(source, root, context, await readVarsFiles(file));
  if (keys.some((key) => suggest(key, ['nodes', 'defaults']) !== undefined))
    return readOwnFormat(source, root, context);
  problems.add(
    file,
    source.lineOf(root),
    `cannot tell the inventory format from its top-level keys (${keys.join(', ')})`,
    'use `nodes:` (kubemend format) or `all:` with hosts:/children: (Ansible format)',
  );
  return [];
}

/** The local login name, which ssh uses when nothing names a user. */
function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back as ssh's own environment would.
    return process.env['USER'] ?? process.env['LOGNAME'] ?? 'root';
  }
}
