import type { NodeTarget } from './types.js';
import type { Problems } from './problems.js';
import { describe } from './yaml-source.js';
import { resolveUserPath } from './paths.js';
import { parseProxyJump } from './jump.js';
import { HOST_RULE, hostProblem, userProblem } from './address.js';
import type { JumpSpec } from './jump.js';
import { NODE_ADDRESS_RULES, type NodeAddressRule } from '../cluster/nodes.js';

/** A value and the line that set it, so later checks (loops, become method) can point at it. */
export interface Sourced<T> {
  value: T;
  file: string;
  line: number;
  /** The key as written (identityFile, ansible_ssh_private_key_file…), where a later check names it. */
  key?: string;
}

/**
 * What an inventory says about a node, before ~/.ssh/config and built-in defaults. Everything here
 * was written by the user, so it beats ~/.ssh/config.
 */
export interface Fields {
  /** The name to dial; ~/.ssh/config Host blocks are matched against it. */
  host?: Sourced<string>;
  port?: Sourced<number>;
  user?: Sourced<string>;
  /** Absolute. */
  identityFile?: Sourced<string>;
  become?: Sourced<NodeTarget['become']>;
  /** Ansible only: ansible_become_method and ansible_become_user, checked once the node is merged. */
  becomeMethod?: Sourced<string>;
  becomeUser?: Sourced<string>;
  /** An empty list means "no jump", written explicitly (`proxyJump: none`). */
  proxyJump?: Sourced<JumpSpec[]>;
  /** Absolute. */
  knownHostsFile?: Sourced<string>;
  role?: Sourced<NonNullable<NodeTarget['role']>>;
  layout?: Sourced<string>;
  playbook?: Sourced<string>;
  groups?: Sourced<string[]>;
  params?: Sourced<Record<string, unknown>>;
  /** The transport asked for (`ssh` / `kubemend_ssh`); absent: chosen per node. */
  ssh?: Sourced<'builtin' | 'openssh'>;
  /** The cluster the node belongs to (`cluster` / `kubemend_cluster`); absent: known from its CA. */
  cluster?: Sourced<string>;
  /**
   * Which of a cluster node's addresses ssh dials when the nodes come from the cluster's API
   * (`nodeAddress` in defaults:, `kubemend_node_address` in all's vars); --node-address wins.
   */
  nodeAddress?: Sourced<NodeAddressRule>;
}

/** A node as the inventory defines it. */
export interface NodeSpec {
  name: string;
  file: string;
  line: number;
  fields: Fields;
}

/**
 * `over` on top of `base`: scalar fields are replaced; groups add up; params merge key by key
 * (the more specific place wins for each key).
 */
export function mergeFields(base: Fields, over: Fields): Fields {
  const merged: Fields = { ...base, ...over };
  if (base.groups && over.groups) {
    merged.groups = { ...over.groups, value: [...new Set([...base.groups.value, ...over.groups.value])] };
  }
  if (base.params && over.params) {
    merged.params = { ...over.params, value: { ...base.params.value, ...over.params.value } };
  }
  return merged;
}

/** Where a value was read and how to talk about it in a problem. */
export interface FieldContext {
  problems: Problems;
  file: string;
  line: number;
  /** e.g. "node 'cp-1'", "defaults", "group 'web' vars". */
  where: string;
  /** The key as the user wrote it, e.g. `port` or `ansible_port`. */
  key: string;
  /** Relative paths resolve against this (the inventory file's directory). */
  baseDir: string;
  homeDir: string;
}

function problem(ctx: FieldContext, message: string, fix: string): undefined {
  ctx.problems.add(ctx.file, ctx.line, `${ctx.where}: ${message}`, fix);
  return undefined;
}

function sourced<T>(ctx: FieldContext, value: T | undefined): Sourced<T> | undefined {
  return value === undefined ? undefined : { value, file: ctx.file, line: ctx.line };
}

const badNameChars = /[\s,/\\*?[\]'"]/;

/** Node and group names end up in --limit patterns, messages and paths: keep them plain. */
export function checkName(name: string, kind: 'node' | 'group', ctx: Omit<FieldContext, 'key'>): boolean {
  if (name === '' || badNameChars.test(name) || name.startsWith('!') || name.startsWith('-')) {
    ctx.problems.add(
      ctx.file,
      ctx.line,
      `${kind} name '${name}' is not usable`,
      `use letters, digits, '.', '-', '_' and ':' only (no spaces, commas, slashes, quotes or glob characters)`,
    );
    return false;
  }
  return true;
}

/** A non-empty string (a bare number such as 42 is read as its digits). */
function text(raw: unknown, ctx: FieldContext, example: string): string | undefined {
  if (typeof raw === 'number') raw = String(raw);
  if (typeof raw !== 'string' || raw.trim() === '') {
    return problem(ctx, `${ctx.key} must be text, not ${describe(raw)}`, `write e.g. ${ctx.key}: ${example}`);
  }
  return raw.trim();
}

function templated(value: string, ctx: FieldContext): boolean {
  if (!value.includes('{{') && !value.includes('{%')) return false;
  problem(
    ctx,
    `${ctx.key} is a Jinja template (${value}), which kubemend does not evaluate`,
    'write the resulting value literally',
  );
  return true;
}

export function parseHost(raw: unknown, ctx: FieldContext): Sourced<string> | undefined {
  if (typeof raw === 'number') {
    return problem(
      ctx,
      `${ctx.key} must be a host name or address, not the number ${raw}`,
      `quote it: ${ctx.key}: '${raw}'`,
    );
  }
  const value = text(raw, ctx, '10.0.0.10');
  if (value === undefined || templated(value, ctx)) return undefined;
  if (/\s/.test(value)) {
    return problem(ctx, `${ctx.key} '${value}' contains a space`, 'write a single host name or IP address');
  }
  if (/^[^@[\]]+@/.test(value)) {
    return problem(
      ctx,
      `${ctx.key} '${value}' includes a user`,
      `put the user in its own field: user: ${value.split('@')[0]}`,
    );
  }
  const bad = hostProblem(value);
  if (bad) return problem(ctx, `${ctx.key} ${bad}`, `write ${HOST_RULE}`);
  return sourced(ctx, value);
}

export function parsePort(
  raw: unknown,
  ctx: FieldContext,
  allowDigitString: boolean,
): Sourced<number> | undefined {
  let value = raw;
  if (allowDigitString && typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) value = Number(raw);
  if (typeof value === 'string' && templated(value, ctx)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    return problem(
      ctx,
      `${ctx.key} must be a number from 1 to 65535, not ${describe(raw)}`,
      `write e.g. ${ctx.key}: 22`,
    );
  }
  return sourced(ctx, value);
}

export function parseUser(raw: unknown, ctx: FieldContext): Sourced<string> | undefined {
  const value = text(raw, ctx, 'admin');
  if (value === undefined || templated(value, ctx)) return undefined;
  if (/[\s@:]/.test(value)) {
    return problem(ctx, `${ctx.key} '${value}' is not a user name`, 'write only the login name, e.g. admin');
  }
  const bad = userProblem(value);
  if (bad) return problem(ctx, `${ctx.key} ${bad}`, 'write only the login name, e.g. admin');
  return sourced(ctx, value);
}

/** identityFile, knownHostsFile: ~ expanded, relative to the inventory's directory. */
export function parsePath(raw: unknown, ctx: FieldContext, example: string): Sourced<string> | undefined {
  const value = text(raw, ctx, example);
  if (value === undefined || templated(value, ctx)) return undefined;
  // The system ssh gets paths as quoted ssh_config values: quotes, backslashes and control characters cannot be passed.
  // eslint-disable-next-line no-control-regex
  if (/["\\\x00-\x1f\x7f]/.test(value))
    return problem(
      ctx,
      `${ctx.key} ${JSON.stringify(value)} holds a quote, a backslash or a control character`,
      'rename the file, or point at it through a path without them',
    );
  return {
    value: resolveUserPath(value, ctx.baseDir, ctx.homeDir),
    file: ctx.file,
    line: ctx.line,
    key: ctx.key,
  };
}

export function parseBecome(raw: unknown, ctx: FieldContext): Sourced<'none' | 'sudo'> | undefined {
  if (raw === 'none' || raw === 'sudo') return sourced(ctx, raw);
  const hint = raw === true || raw === 'yes' || raw === 'true' ? 'sudo' : raw === false ? 'none' : 'sudo';
  return problem(
    ctx,
    `${ctx.key} must be none or sudo, not ${describe(raw)}`,
    `write ${ctx.key}: ${hint} (sudo runs commands with sudo -n, which never asks for a password)`,
  );
}

const truthy = new Set(['yes', 'true', 'on', '1', 'y']);
const falsy = new Set(['no', 'false', 'off', '0', 'n']);

/** Ansible's boolean: true, yes, "True", 1 … */
export function parseAnsibleBool(raw: unknown, ctx: FieldContext): Sourced<boolean> | undefined {
  if (typeof raw === 'boolean') return sourced(ctx, raw);
  const word =
    typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim().toLowerCase() : undefined;
  if (word !== undefined && truthy.has(word)) return sourced(ctx, true);
  if (word !== undefined && falsy.has(word)) return sourced(ctx, false);
  return problem(ctx, `${ctx.key} must be true or false, not ${describe(raw)}`, `write ${ctx.key}: true`);
}

/** `none`, an empty value, or `[user@]host[:port]` hops separated by commas. */
export function parseProxyJumpField(raw: unknown, ctx: FieldContext): Sourced<JumpSpec[]> | undefined {
  if (raw === null || raw === false) return sourced(ctx, []);
  const value = text(raw, ctx, 'bastion.example.com');
  if (value === undefined || templated(value, ctx)) return undefined;
  const parsed = parseProxyJump(value);
  if ('error' in parsed) {
    return problem(
      ctx,
      `${ctx.key} '${value}' is not valid: ${parsed.error}`,
      `write ${ctx.key}: [user@]host[:port][,…], e.g. admin@bastion:2222`,
    );
  }
  return sourced(ctx, parsed.hops);
}

const roles = ['control-plane', 'worker'] as const;

export function parseRole(raw: unknown, ctx: FieldContext): Sourced<(typeof roles)[number]> | undefined {
  const found = roles.find((role) => role === raw);
  if (found) return sourced(ctx, found);
  const word = typeof raw === 'string' ? raw.toLowerCase().replace(/[\s_]/g, '-') : '';
  const hint = ['master', 'controlplane', 'control', 'cp', 'control-plane'].includes(word)
    ? 'control-plane'
    : ['node', 'workers', 'worker', 'agent'].includes(word)
      ? 'worker'
      : undefined;
  return problem(
    ctx,
    `${ctx.key} must be control-plane or worker, not ${describe(raw)}`,
    hint
      ? `write ${ctx.key}: ${hint}`
      : `write ${ctx.key}: control-plane or ${ctx.key}: worker, or leave it out to detect it`,
  );
}

export function parseText(raw: unknown, ctx: FieldContext, example: string): Sourced<string> | undefined {
  const value = text(raw, ctx, example);
  if (value === undefined || templated(value, ctx)) return undefined;
  return sourced(ctx, value);
}

/** A playbook is a name (kubeadm) or a file; a file path is resolved against the inventory's directory. */
export function parsePlaybook(raw: unknown, ctx: FieldContext): Sourced<string> | undefined {
  const value = parseText(raw, ctx, 'kubeadm');
  if (value === undefined) return undefined;
  const isPath = value.value.includes('/') || value.value.startsWith('~') || /\.ya?ml$/i.test(value.value);
  return isPath ? { ...value, value: resolveUserPath(value.value, ctx.baseDir, ctx.homeDir) } : value;
}

export function parseGroups(raw: unknown, ctx: FieldContext): Sourced<string[]> | undefined {
  if (!Array.isArray(raw)) {
    const example = typeof raw === 'string' ? `[${raw}]` : '[prod, web]';
    return problem(
      ctx,
      `${ctx.key} must be a list of group names, not ${describe(raw)}`,
      `write ${ctx.key}: ${example}`,
    );
  }
  const groups: string[] = [];
  for (const item of raw) {
    if (typeof item !== 'string' && typeof item !== 'number') {
      return problem(
        ctx,
        `${ctx.key} must list group names, and ${describe(item)} is not one`,
        `write ${ctx.key}: [prod, web]`,
      );
    }
    if (!checkName(String(item), 'group', ctx)) return undefined;
    groups.push(String(item));
  }
  return sourced(ctx, [...new Set(groups)]);
}

export function parseSsh(raw: unknown, ctx: FieldContext): Sourced<'builtin' | 'openssh'> | undefined {
  if (raw === 'builtin' || raw === 'openssh') return sourced(ctx, raw);
  return problem(
    ctx,
    `${ctx.key} must be builtin or openssh, not ${describe(raw)}`,
    `write ${ctx.key}: openssh (the system ssh client), ${ctx.key}: builtin, or leave it out to choose per node`,
  );
}

/** --node-address's inventory default: one of the rules of cluster/nodes.ts. */
export function parseNodeAddress(raw: unknown, ctx: FieldContext): Sourced<NodeAddressRule> | undefined {
  const rule = NODE_ADDRESS_RULES.find((r) => r === raw);
  if (rule !== undefined) return sourced(ctx, rule);
  return problem(
    ctx,
    `${ctx.key} must be one of ${NODE_ADDRESS_RULES.join(', ')}, not ${describe(raw)}`,
    `write ${ctx.key}: provider-id (EKS over SSM, GCE by instance name), or leave it out for internal-ip`,
  );
}

/** A cluster name groups nodes for the fleet trust check; it beats the cluster CA kubemend reads. */
export function parseCluster(raw: unknown, ctx: FieldContext): Sourced<string> | undefined {
  const value = parseText(typeof raw === 'number' ? String(raw) : raw, ctx, 'prod-eu');
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/.test(value.value))
    return problem(
      ctx,
      `${ctx.key} must be a cluster name (letters, digits, . _ : -, at most 63), not ${describe(raw)}`,
      `write ${ctx.key}: prod-eu`,
    );
  return value;
}

export function parseParams(raw: unknown, ctx: FieldContext): Sourced<Record<string, unknown>> | undefined {
  if (raw === null) return sourced(ctx, {});
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return problem(
      ctx,
      `${ctx.key} must be a map of playbook parameters, not ${describe(raw)}`,
      `write e.g. ${ctx.key}: { restartTimeout: 120 }`,
    );
  }
  return sourced(ctx, raw as Record<string, unknown>);
}
