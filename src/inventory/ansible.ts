import * as path from 'node:path';
import type { Node as YamlNode, YAMLMap } from 'yaml';
import { Problems } from './problems.js';
import type { FieldContext, Fields, NodeSpec, Sourced } from './fields.js';
import {
  checkName,
  parseAnsibleBool,
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
import { parseProxyCommand, parseSshArgs } from './jump.js';
import { expandHostPattern, splitHostPort } from './host-range.js';
import { YamlSource, isMap, isSeq } from './yaml-source.js';
import type { VarsFile, VarsFiles } from './vars-files.js';
import { listWords, suggest } from './suggest.js';
import type { ParseContext } from './own-format.js';

/**
 * Ansible YAML inventories, read as Ansible reads them: groups nest through children:, a host
 * may sit in several groups, group vars apply from the outermost group inwards (same depth: by
 * name) and host vars win.
 */

const groupKeys = ['hosts', 'vars', 'children'];
/** Groups every host is in; they are not listed in a node's groups. */
const implicitGroups = new Set(['all', 'ungrouped']);

type VarParser = (raw: unknown, ctx: FieldContext) => Partial<Fields>;

function sshArgs(raw: unknown, ctx: FieldContext): Partial<Fields> {
  const text = parseText(raw, ctx, "'-o ProxyJump=bastion'");
  if (!text) return {};
  const args = parseSshArgs(text.value);
  if ('error' in args) {
    ctx.problems.add(
      ctx.file,
      ctx.line,
      `${ctx.where}: ${ctx.key} cannot be read: ${args.error}`,
      'fix the quoting',
    );
    return {};
  }
  const fields: Partial<Fields> = {};
  if (args.knownHostsFile !== undefined)
    fields.knownHostsFile = parsePath(args.knownHostsFile, ctx, '~/.ssh/known_hosts');
  if (args.proxy?.kind === 'jump') fields.proxyJump = parseProxyJumpField(args.proxy.value, ctx);
  if (args.proxy?.kind === 'command') {
    const command = args.proxy.value;
    if (command.trim().toLowerCase() === 'none')
      return { ...fields, proxyJump: { value: [], file: ctx.file, line: ctx.line } };
    const parsed = parseProxyCommand(command);
    if ('error' in parsed) {
      ctx.problems.add(
        ctx.file,
        ctx.line,
        `${ctx.where}: ProxyCommand '${command}' cannot be followed: ${parsed.error}`,
        'use -o ProxyJump=[user@]bastion[:port] instead',
      );
    } else {
      const hop = { ...parsed.hop };
      if (parsed.identityFile !== undefined) {
        hop.identityFile = parsePath(parsed.identityFile, ctx, '~/.ssh/id_ed25519')?.value;
      }
      fields.proxyJump = { value: [hop], file: ctx.file, line: ctx.line };
    }
  }
  return fields;
}

const vars: Record<string, VarParser> = {
  ansible_host: (raw, ctx) => ({ host: parseHost(raw, ctx) }),
  ansible_ssh_host: (raw, ctx) => ({ host: parseHost(raw, ctx) }),
  ansible_port: (raw, ctx) => ({ port: parsePort(raw, ctx, true) }),
  ansible_ssh_port: (raw, ctx) => ({ port: parsePort(raw, ctx, true) }),
  ansible_user: (raw, ctx) => ({ user: parseUser(raw, ctx) }),
  ansible_ssh_user: (raw, ctx) => ({ user: parseUser(raw, ctx) }),
  ansible_ssh_private_key_file: (raw, ctx) => ({ identityFile: parsePath(raw, ctx, '~/.ssh/id_ed25519') }),
  ansible_private_key_file: (raw, ctx) => ({ identityFile: parsePath(raw, ctx, '~/.ssh/id_ed25519') }),
  ansible_become: (raw, ctx) => {
    const become = parseAnsibleBool(raw, ctx);
    return { become: become && { ...become, value: become.value ? 'sudo' : 'none' } };
  },
  ansible_become_method: (raw, ctx) => ({ becomeMethod: parseText(raw, ctx, 'sudo') }),
  ansible_become_user: (raw, ctx) => ({ becomeUser: parseText(raw, ctx, 'root') }),
  // ssh reads the command line in order and keeps the first value: common args come first.
  ansible_ssh_extra_args: sshArgs,
  ansible_ssh_common_args: sshArgs,
  kubemend_role: (raw, ctx) => ({ role: parseRole(raw, ctx) }),
  kubemend_layout: (raw, ctx) => ({ layout: parseText(raw, ctx, 'kubeadm') }),
  kubemend_playbook: (raw, ctx) => ({ playbook: parsePlaybook(raw, ctx) }),
  kubemend_ssh: (raw, ctx) => ({ ssh: parseSsh(raw, ctx) }),
  kubemend_cluster: (raw, ctx) => ({ cluster: parseCluster(raw, ctx) }),
  kubemend_params: (raw, ctx) => ({ params: parseParams(raw, ctx) }),
  kubemend_node_address: (raw, ctx) => ({ nodeAddress: parseNodeAddress(raw, ctx) }),
};
const knownVars = Object.keys(vars);
/** Where a default for every node (kubemend_node_address) may be written. */
const ALL_VARS = new Set(["group 'all' vars", 'group_vars/all']);
const kubemendVars = knownVars.filter((name) => name.startsWith('kubemend_'));

/** Real Ansible variables that sit close to the ones above and must not be taken for typos. */
const otherAnsibleVars = new Set([
  'ansible_connection',
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_become_pass',
  'ansible_become_password',
  'ansible_become_exe',
  'ansible_become_flags',
  'ansible_sudo_pass',
  'ansible_ssh_executable',
  'ansible_ssh_pipelining',
  'ansible_sftp_extra_args',
  'ansible_scp_extra_args',
  'ansible_shell_type',
  'ansible_shell_executable',
  'ansible_python_interpreter',
  'ansible_host_key_checking',
  'ansible_ssh_host_key_checking',
  'ansible_ssh_retries',
  'ansible_ssh_timeout',
  'ansible_timeout',
  'ansible_network_os',
  'ansible_user_dir',
  'ansible_user_id',
  'ansible_hostname',
]);

/** A raw variable and where it was set. */
interface RawVar {
  value: unknown;
  file: string;
  line: number;
  keyLine: number;
  where: string;
}
type VarMap = Map<string, RawVar>;

interface Group {
  name: string;
  parents: Set<string>;
  vars: VarMap[];
  /** From group_vars/<name>; they beat every group's vars in the inventory file. */
  fileVars: VarMap[];
}

interface Host {
  name: string;
  line: number;
  groups: Set<string>;
  vars: VarMap[];
  /** From host_vars/<name>; they beat everything else. */
  fileVars: VarMap[];
}

/** Top-level `all:`, or any top-level group with hosts:, children: or vars:. */
export function looksLikeAnsible(source: YamlSource, root: YAMLMap): boolean {
  return root.items.some((pair) => {
    const key = source.toJs(pair.key as YamlNode | null);
    const value = source.deref(pair.value);
    return (
      key === 'all' ||
      (isMap(value) &&
        value.items.some((inner) => groupKeys.includes(String(source.toJs(inner.key as YamlNode)))))
    );
  });
}

export function readAnsible(
  source: YamlSource,
  root: YAMLMap,
  ctx: ParseContext,
  varsFiles: VarsFiles = { groups: new Map(), hosts: new Map() },
): NodeSpec[] {
  const { problems } = ctx;
  const file = source.file;
  const baseDir = path.dirname(path.resolve(file));
  const groups = new Map<string, Group>();
  const hosts = new Map<string, Host>();

  const groupNamed = (name: string): Group => {
    let group = groups.get(name);
    if (!group) {
      group = { name, parents: new Set(), vars: [], fileVars: [] };
      groups.set(name, group);
    }
    return group;
  };

  const fieldContext = (
    at: { file: string; line: number },
    where: string,
    key: string,
    sink = problems,
  ): FieldContext => ({
    problems: sink,
    file: at.file,
    line: at.line,
    where,
    key,
    baseDir,
    homeDir: ctx.homeDir,
  });

  /** Reads a vars map, checking each variable kubemend uses where it is written. */
  const readVars = (src: YamlSource, node: YamlNode | null, line: number, where: string): VarMap => {
    const result: VarMap = new Map();
    if (node === null) return result;
    if (!isMap(node)) {
      problems.add(
        src.file,
        line,
        `${where} must be a map of variables`,
        'write e.g. `ansible_user: admin` on its own line',
      );
      return result;
    }
    const entries = src.entries(node, problems, (key, first) => ({
      message: `${where}: '${key}' is set twice (first on line ${first})`,
      fix: `keep one '${key}'`,
    }));
    for (const entry of entries) {
      const value = src.toJs(entry.value);
      const parse = vars[entry.key];
      if (parse) {
        const at = { file: src.file, line: entry.line };
        if (entry.key === 'kubemend_node_address' && !ALL_VARS.has(where)) {
          problems.add(
            src.file,
            entry.keyLine,
            `${where}: kubemend_node_address is a default for the cluster's nodes`,
            "set it in all's vars (or group_vars/all), or set ansible_host on the host",
          );
          continue;
        }
        parse(value, fieldContext(at, where, entry.key));
        result.set(entry.key, { value, ...at, keyLine: entry.keyLine, where });
        continue;
      }
      const typo = unknownVarFix(entry.key);
      if (typo) problems.add(src.file, entry.keyLine, `${where}: unknown variable '${entry.key}'`, typo);
    }
    return result;
  };

  const readHosts = (groupName: string, node: YamlNode | null, line: number): void => {
    if (node === null) return;
    if (!isMap(node)) {
      problems.add(
        file,
        line,
        `group '${groupName}': hosts: must map host names to their variables${isSeq(node) ? ', not be a list' : ''}`,
        'write each host as `name:` on its own line under hosts:, with its variables indented below it',
      );
      return;
    }
    const entries = source.entries(node, problems, (key, first) => ({
      message: `group '${groupName}': host '${key}' is listed twice (first on line ${first})`,
      fix: 'list it once in this group',
    }));
    for (const entry of entries) {
      const { name: pattern, port } = splitHostPort(entry.key);
      const names = expandHostPattern(pattern);
      if ('error' in names) {
        problems.add(
          file,
          entry.keyLine,
          `host pattern '${entry.key}': ${names.error}`,
          'write e.g. web[01:03].example.com',
        );
        continue;
      }
      const hostVars = readVars(source, entry.value, entry.line, `host '${pattern}'`);
      if (port !== undefined && !hostVars.has('ansible_port')) {
        const portVar: RawVar = {
          value: port,
          file,
          line: entry.keyLine,
          keyLine: entry.keyLine,
          where: `host '${pattern}'`,
        };
        parsePort(port, fieldContext(portVar, portVar.where, 'port'), false);
        hostVars.set('ansible_port', portVar);
      }
      for (const name of names) {
        if (
          !checkName(name, 'node', {
            problems,
            file,
            line: entry.keyLine,
            where: 'hosts',
            baseDir,
            homeDir: ctx.homeDir,
          })
        )
          continue;
        let host = hosts.get(name);
        if (!host) {
          host = { name, line: entry.keyLine, groups: new Set(), vars: [], fileVars: [] };
          hosts.set(name, host);
        }
        host.groups.add(groupName);
        host.vars.push(hostVars);
      }
    }
  };

  const readGroup = (
    name: string,
    node: YamlNode | null,
    line: number,
    parent: string | undefined,
    stack: string[],
  ): void => {
    if (stack.includes(name)) {
      problems.add(
        file,
        line,
        `group '${name}' contains itself (${[...stack, name].join(' → ')})`,
        `remove '${name}' from the children: of '${stack[stack.length - 1] ?? name}'`,
      );
      return;
    }
    const group = groupNamed(name);
    if (parent !== undefined) group.parents.add(parent);
    if (node === null) return;
    if (!isMap(node)) {
      problems.add(
        file,
        line,
        `group '${name}' must be a map with hosts:, vars: or children:`,
        'write e.g. `hosts: { web1: }` under it',
      );
      return;
    }
    const entries = source.entries(node, problems, (key, first) => ({
      message: `group '${name}': '${key}' is written twice (first on line ${first})`,
      fix: `merge the two '${key}:' sections`,
    }));
    for (const entry of entries) {
      if (entry.key === 'hosts') {
        readHosts(name, entry.value, entry.line);
      } else if (entry.key === 'vars') {
        group.vars.push(readVars(source, entry.value, entry.line, `group '${name}' vars`));
      } else if (entry.key === 'children') {
        readChildren(name, entry.value, entry.line, [...stack, name]);
      } else {
        const guess = suggest(entry.key, groupKeys);
        problems.add(
          file,
          entry.keyLine,
          `group '${name}': unknown key '${entry.key}'`,
          guess
            ? `did you mean '${guess}'?`
            : `a group has only ${listWords(groupKeys)}; variables go under vars:`,
        );
      }
    }
  };

  const readChildren = (parent: string, node: YamlNode | null, line: number, stack: string[]): void => {
    if (node === null) return;
    if (!isMap(node)) {
      problems.add(
        file,
        line,
        `group '${parent}': children: must map group names to groups`,
        'write each child group as `name:` on its own line',
      );
      return;
    }
    const entries = source.entries(node, problems, (key, first) => ({
      message: `group '${parent}': child group '${key}' is written twice (first on line ${first})`,
      fix: 'merge the two entries',
    }));
    for (const entry of entries) {
      if (
        !checkName(entry.key, 'group', {
          problems,
          file,
          line: entry.keyLine,
          where: 'children',
          baseDir,
          homeDir: ctx.homeDir,
        })
      )
        continue;
      readGroup(entry.key, entry.value, entry.line, parent, stack);
    }
  };

  const topLevel = source.entries(root, problems, (key, first) => ({
    message: `group '${key}' is written twice at the top level (first on line ${first})`,
    fix: 'merge the two entries',
  }));
  for (const entry of topLevel) {
    if (
      !checkName(entry.key, 'group', {
        problems,
        file,
        line: entry.keyLine,
        where: 'top level',
        baseDir,
        homeDir: ctx.homeDir,
      })
    )
      continue;
    readGroup(entry.key, entry.value, entry.line, entry.key === 'all' ? undefined : 'all', []);
  }

  if (hosts.size === 0) {
    problems.add(
      file,
      1,
      'this Ansible inventory defines no hosts',
      'add hosts, e.g. `all: { hosts: { cp-1: { ansible_host: 10.0.0.10 } } }`',
    );
    return [];
  }

  const readVarsFiles = (files: VarsFile[] | undefined, where: string): VarMap[] =>
    (files ?? []).flatMap((varsFile) => {
      const src = YamlSource.parse(varsFile.file, varsFile.text, problems);
      return src ? [readVars(src, src.deref(src.doc.contents), 1, where)] : [];
    });
  for (const group of groups.values())
    group.fileVars = readVarsFiles(varsFiles.groups.get(group.name), `group_vars/${group.name}`);
  for (const host of hosts.values())
    host.fileVars = readVarsFiles(varsFiles.hosts.get(host.name), `host_vars/${host.name}`);

  /** The variables of `layers`, later ones winning, as Fields. */
  const fieldsOf = (layers: VarMap[]): Fields => {
    const merged: VarMap = new Map();
    for (const map of layers) for (const [k, v] of map) merged.set(k, v);
    // Each value was checked where it was written; here only the merged result is checked.
    const quiet = new Problems();
    const fields: Fields = {};
    for (const name of knownVars) {
      const raw = merged.get(name);
      if (!raw) continue;
      const parsed = vars[name]?.(raw.value, fieldContext(raw, raw.where, name, quiet)) ?? {};
      for (const [key, value] of Object.entries(parsed))
        if (value !== undefined) (fields as Record<string, unknown>)[key] = value;
    }
    return fields;
  };
  const all = groups.get('all');
  ctx.defaults?.(fieldsOf(all ? [...all.vars, ...all.fileVars] : []));

  const depth = groupDepths(groups);
  return [...hosts.values()].map((host) => {
    const memberOf = ancestors(host.groups, groups);
    const ordered = [...memberOf].sort(
      (a, b) => (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0),
    );
    // Ansible's order: inventory group vars, group_vars/ files, inventory host vars, host_vars/ files.
    const layers = [
      ...ordered.flatMap((group) => groups.get(group)?.vars ?? []),
      ...ordered.flatMap((group) => groups.get(group)?.fileVars ?? []),
      ...host.vars,
      ...host.fileVars,
    ];
    let fields = fieldsOf(layers);
    checkBecome(fields, problems);
    fields = {
      ...fields,
      groups: { value: ordered.filter((g) => !implicitGroups.has(g)), file, line: host.line },
    };
    return { name: host.name, file, line: host.line, fields };
  });
}

/**
 * kubemend runs remote commands as root through `sudo -n`; other become setups cannot be honoured.
 * Said once per line that sets them, however many hosts inherit it.
 */
function checkBecome(fields: Fields, problems: Problems): void {
  if (fields.become?.value !== 'sudo') return;
  const method: Sourced<string> | undefined = fields.becomeMethod;
  if (method && method.value !== 'sudo') {
    problems.add(
      method.file,
      method.line,
      `ansible_become_method '${method.value}' is not supported`,
      'kubemend only uses sudo (sudo -n, never prompting); set ansible_become_method: sudo',
    );
  }
  const user = fields.becomeUser;
  if (user && user.value !== 'root') {
    problems.add(
      user.file,
      user.line,
      `ansible_become_user '${user.value}' is not supported`,
      'kubemend needs root on the node; remove ansible_become_user or set it to root',
    );
  }
}

function unknownVarFix(name: string): string | undefined {
  if (name.startsWith('kubemend_')) {
    const guess = suggest(name, kubemendVars);
    return guess ? `did you mean '${guess}'?` : `kubemend reads only ${listWords(kubemendVars)}`;
  }
  if (name.startsWith('ansible_') && !otherAnsibleVars.has(name)) {
    const guess = suggest(name, knownVars);
    if (guess) return `did you mean '${guess}'?`;
  }
  return undefined;
}

/** A group's distance from `all`, by its longest path (as Ansible orders group vars). */
function groupDepths(groups: Map<string, Group>): Map<string, number> {
  const depths = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depths.get(name);
    if (known !== undefined) return known;
    if (name === 'all' || visiting.has(name)) return 0;
    visiting.add(name);
    const parents = [...(groups.get(name)?.parents ?? [])];
    const depth = 1 + Math.max(0, ...parents.map(depthOf));
    visiting.delete(name);
    depths.set(name, depth);
    return depth;
  };
  for (const name of groups.keys()) depthOf(name);
  depths.set('all', 0);
  return depths;
}

function ancestors(direct: Set<string>, groups: Map<string, Group>): Set<string> {
  const found = new Set<string>(['all']);
  const queue = [...direct];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (found.has(name)) continue;
    found.add(name);
    queue.push(...(groups.get(name)?.parents ?? []));
  }
  return found;
}
