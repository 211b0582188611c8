import * as path from 'node:path';
import type { Node as YamlNode, YAMLMap } from 'yaml';
import type { Problems } from './problems.js';
import type { FieldContext, Fields, NodeSpec } from './fields.js';
import {
  checkName,
  mergeFields,
  parseBecome,
  parseGroups,
  parseHost,
  parseParams,
  parsePath,
  parsePlaybook,
  parsePort,
  parseProxyJumpField,
  parseRole,
  parseSsh,
  parseCluster,
  parseNodeAddress,
  parseText,
  parseUser,
} from './fields.js';
import { isMap, type YamlSource } from './yaml-source.js';
import { listWords, suggest } from './suggest.js';

/** kubemend's own inventory: `defaults:` and `nodes:`. */

type FieldParser = (raw: unknown, ctx: FieldContext) => Partial<Fields>;

const nodeFields: Record<string, FieldParser> = {
  host: (raw, ctx) => ({ host: parseHost(raw, ctx) }),
  port: (raw, ctx) => ({ port: parsePort(raw, ctx, false) }),
  user: (raw, ctx) => ({ user: parseUser(raw, ctx) }),
  identityFile: (raw, ctx) => ({ identityFile: parsePath(raw, ctx, '~/.ssh/id_ed25519') }),
  become: (raw, ctx) => ({ become: parseBecome(raw, ctx) }),
  proxyJump: (raw, ctx) => ({ proxyJump: parseProxyJumpField(raw, ctx) }),
  knownHostsFile: (raw, ctx) => ({ knownHostsFile: parsePath(raw, ctx, '~/.ssh/known_hosts') }),
  role: (raw, ctx) => ({ role: parseRole(raw, ctx) }),
  layout: (raw, ctx) => ({ layout: parseText(raw, ctx, 'kubeadm') }),
  playbook: (raw, ctx) => ({ playbook: parsePlaybook(raw, ctx) }),
  groups: (raw, ctx) => ({ groups: parseGroups(raw, ctx) }),
  params: (raw, ctx) => ({ params: parseParams(raw, ctx) }),
  ssh: (raw, ctx) => ({ ssh: parseSsh(raw, ctx) }),
  cluster: (raw, ctx) => ({ cluster: parseCluster(raw, ctx) }),
  nodeAddress: (raw, ctx) => ({ nodeAddress: parseNodeAddress(raw, ctx) }),
};
export const nodeFieldNames = Object.keys(nodeFields);

const topLevelKeys = ['defaults', 'nodes'];

export const exampleInventory = [
  'defaults:',
  '  user: admin',
  '  become: sudo',
  'nodes:',
  '  cp-1: { host: 10.0.0.10, role: control-plane }',
  '  w-1: { host: 10.0.0.21 }',
];

export interface ParseContext {
  problems: Problems;
  homeDir: string;
  /** Gets what the file says for every node (own format: defaults:; Ansible: all's vars). */
  defaults?: (fields: Fields) => void;
}

export function readOwnFormat(source: YamlSource, root: YAMLMap, ctx: ParseContext): NodeSpec[] {
  const { problems } = ctx;
  const file = source.file;
  let defaults: Fields = {};
  let nodesEntry: { value: YamlNode | null; line: number } | undefined;
  const entries = source.entries(root, problems, (key, first) => ({
    message: `'${key}' is written twice (first on line ${first})`,
    fix: `keep one '${key}:' section`,
  }));
  for (const entry of entries) {
    if (entry.key === 'defaults') {
      defaults = readFields(source, entry.value, entry.line, 'defaults', ctx);
    } else if (entry.key === 'nodes') {
      nodesEntry = entry;
    } else {
      const guess = suggest(entry.key, topLevelKeys);
      const ansible = ['all', 'children', 'hosts', 'vars'].includes(entry.key);
      problems.add(
        file,
        entry.keyLine,
        `unknown top-level key '${entry.key}'`,
        ansible
          ? 'an inventory is either kubemend format (defaults:, nodes:) or Ansible format (all:, children:), not both'
          : guess
            ? `did you mean '${guess}'?`
            : `the top level has only 'defaults:' and 'nodes:'`,
      );
    }
  }
  if (!nodesEntry) {
    problems.add(
      file,
      1,
      'there is no nodes: section',
      'add one, e.g. `nodes: { cp-1: { host: 10.0.0.10 } }`',
    );
    return [];
  }
  const nodesMap = nodesEntry.value;
  if (!isMap(nodesMap)) {
    const empty = nodesMap === null;
    problems.add(
      file,
      nodesEntry.line,
      empty ? 'nodes: is empty' : 'nodes: must map each node name to its settings',
      'list at least one node, e.g. `  cp-1: { host: 10.0.0.10 }` under nodes:',
    );
    return [];
  }
  if (nodesMap.items.length === 0) {
    problems.add(
      file,
      nodesEntry.line,
      'nodes: is empty',
      'list at least one node, e.g. `  cp-1: { host: 10.0.0.10 }` under nodes:',
    );
    return [];
  }
  ctx.defaults?.(defaults);
  if (defaults.host) {
    problems.add(
      file,
      defaults.host.line,
      'defaults: cannot set host (every node would dial the same machine)',
      'set host on each node, or leave it out to use the node name',
    );
  }
  const specs: NodeSpec[] = [];
  const nodes = source.entries(nodesMap, problems, (key, first) => ({
    message: `duplicate node name '${key}' (first defined on line ${first})`,
    fix: 'give each node a unique name, or merge the two entries',
  }));
  for (const node of nodes) {
    if (
      !checkName(node.key, 'node', {
        problems,
        file,
        line: node.keyLine,
        where: 'nodes',
        baseDir: '',
        homeDir: '',
      })
    ) {
      continue;
    }
    const fields = readFields(source, node.value, node.line, `node '${node.key}'`, ctx);
    if (fields.nodeAddress) {
      problems.add(
        file,
        fields.nodeAddress.line,
        `node '${node.key}': nodeAddress is a default for the cluster's nodes`,
        'set it under defaults: (or set host: on this node)',
      );
      delete fields.nodeAddress;
    }
    specs.push({ name: node.key, file, line: node.keyLine, fields: mergeFields(defaults, fields) });
  }
  return specs;
}

/** The settings of one node (or of defaults). Unknown keys and bad values become problems. */
function readFields(
  source: YamlSource,
  node: YamlNode | null,
  line: number,
  where: string,
  ctx: ParseContext,
): Fields {
  const { problems } = ctx;
  const file = source.file;
  if (node === null) return {};
  if (!isMap(node)) {
    problems.add(
      file,
      line,
      `${where} must be a map of settings, not ${describeNode(source, node)}`,
      'write e.g. `cp-1: { host: 10.0.0.10, role: control-plane }`',
    );
    return {};
  }
  let fields: Fields = {};
  const entries = source.entries(node, problems, (key, first) => ({
    message: `${where}: '${key}' is set twice (first on line ${first})`,
    fix: `keep one '${key}'`,
  }));
  for (const entry of entries) {
    const parse = nodeFields[entry.key];
    if (!parse) {
      const guess = suggest(entry.key, nodeFieldNames);
      problems.add(
        file,
        entry.keyLine,
        `${where}: unknown key '${entry.key}'`,
        guess ? `did you mean '${guess}'?` : `use one of ${listWords(nodeFieldNames)}`,
      );
      continue;
    }
    const fieldCtx: FieldContext = {
      problems,
      file,
      line: entry.line,
      where,
      key: entry.key,
      baseDir: path.dirname(path.resolve(file)),
      homeDir: ctx.homeDir,
    };
    const parsed = parse(source.toJs(entry.value), fieldCtx);
    fields = { ...fields, ...definedOnly(parsed) };
  }
  return fields;
}

function definedOnly(fields: Partial<Fields>): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Fields;
}

function describeNode(source: YamlSource, node: YamlNode): string {
  const value = source.toJs(node);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `'${value}' (a host? write { host: ${value} })` : String(value);
}
