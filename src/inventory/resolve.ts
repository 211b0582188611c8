import * as os from 'node:os';
import * as path from 'node:path';
import type { JumpHost, NodeTarget } from './types.js';
import type { NodeSpec, Sourced } from './fields.js';
import type { Problems } from './problems.js';
import type { SshConfig, SshHostConfig } from './ssh-config.js';
import { parseProxyCommand, parseProxyJump } from './jump.js';
import type { JumpSpec } from './jump.js';
import { resolveUserPath } from './paths.js';
import { HOST_RULE, USER_RULE, hostProblem, userProblem } from './address.js';

/**
 * Turns what the inventory says into where and how to connect. For each value the first one
 * obtained wins, as in OpenSSH: the inventory (it plays the part of ssh's command line), then
 * ~/.ssh/config, then built-in defaults.
 */

export interface ResolveContext {
  problems: Problems;
  ssh: SshConfig;
  homeDir: string;
  /** The local login name: the user when nothing else says. */
  localUser: string;
  /** --known-hosts, or ~/.ssh/known_hosts; absolute. */
  knownHostsFile: string;
  /** To tell a loop written in the inventory from one in ~/.ssh/config. */
  inventoryFile: string;
}

const defaultPort = 22;

export function resolveNodes(specs: readonly NodeSpec[], ctx: ResolveContext): NodeTarget[] {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const resolved = new Map<string, NodeTarget>();
  const reportedLoops = new Set<string>();

  /** `chain` holds the nodes and ssh aliases being resolved, to notice a hop that leads back. */
  const target = (spec: NodeSpec, chain: string[]): NodeTarget => {
    const done = resolved.get(spec.name);
    if (done) return done;
    const { fields } = spec;
    const alias = fields.host?.value ?? spec.name;
    const config = ctx.ssh.lookup(alias);
    const host = config.hostName ? expandHostName(config.hostName.value, alias) : alias;
    const user = fields.user?.value ?? config.user?.value ?? ctx.localUser;
    checkAddress(spec, { alias, host, user }, config, ctx.problems);
    const port = fields.port?.value ?? config.port?.value ?? defaultPort;
    const identityFile =
      fields.identityFile?.value ?? sshIdentityFile(config, { alias, host, user, port }, ctx);
    const node: NodeTarget = {
      name: spec.name,
      host,
      port,
      user,
      ...(identityFile === undefined ? {} : { identityFile }),
      become: fields.become?.value ?? 'none',
      proxyJump: [],
      knownHostsFile: fields.knownHostsFile?.value ?? ctx.knownHostsFile,
      ...(fields.role ? { role: fields.role.value } : {}),
      ...(fields.layout ? { layout: fields.layout.value } : {}),
      ...(fields.playbook ? { playbook: fields.playbook.value } : {}),
      groups: fields.groups?.value ?? [],
      params: fields.params?.value ?? {},
      ...(fields.params ? { paramsAt: `${fields.params.file}:${fields.params.line}` } : {}),
      source: { file: spec.file, line: spec.line },
      ...(fields.ssh ? { ssh: fields.ssh.value } : {}),
      ...(fields.cluster ? { cluster: fields.cluster.value } : {}),
      sshCommand: {
        destination: alias,
        ...(fields.user ? { user: fields.user.value } : {}),
        ...(fields.port ? { port: fields.port.value } : {}),
        ...(fields.identityFile ? { identityFile: fields.identityFile.value } : {}),
      },
    };
    const here = [...chain, `node:${spec.name}`];
    const proxy = fields.proxyJump ?? sshProxy(config, ctx, node);
    if (proxy) node.proxyJump = hops(proxy, here);
    if (fields.proxyJump && node.sshCommand)
      node.sshCommand.proxyJump = node.proxyJump.map((j) => `${j.user}@${j.host}:${j.port}`).join(',');
    resolved.set(spec.name, node);
    return node;
  };

  /** The hosts to go through, outermost first. Only the first hop's own jump settings apply, as with `ssh -J a,b`. */
  const hops = (proxy: Sourced<JumpSpec[]>, chain: string[]): JumpHost[] => {
    const result: JumpHost[] = [];
    for (const [index, hop] of proxy.value.entries()) {
      const spec = byName.get(hop.host);
      const key = spec ? `node:${spec.name}` : `ssh:${hop.host.toLowerCase()}`;
      if (chain.includes(key)) {
        loop(proxy, [...chain.slice(chain.indexOf(key)), key]);
        return result;
      }
      if (spec) {
        const via = target(spec, chain);
        if (index === 0) result.push(...via.proxyJump);
        result.push({
          host: via.host,
          port: hop.port ?? via.port,
          user: hop.user ?? via.user,
          ...withIdentity(hop.identityFile ?? via.identityFile),
        });
        continue;
      }
      const config = ctx.ssh.lookup(hop.host);
      const host = config.hostName ? expandHostName(config.hostName.value, hop.host) : hop.host;
      const user = hop.user ?? config.user?.value ?? ctx.localUser;
      const port = hop.port ?? config.port?.value ?? defaultPort;
      const of = chain.find((k) => k.startsWith('node:'))?.slice('node:'.length);
      checkSshConfigValues(
        `${of ? `node '${of}': ` : ''}jump host '${hop.host}'`,
        { host, user },
        hop.user === undefined,
        config,
        ctx.problems,
      );
      if (index === 0) {
        const own = sshProxy(config, ctx);
        if (own) result.push(...hops(own, [...chain, key]));
      }
      const identityFile =
        hop.identityFile ?? sshIdentityFile(config, { alias: hop.host, host, user, port }, ctx);
      result.push({ host, port, user, ...withIdentity(identityFile) });
    }
    return result;
  };

  const loop = (at: Sourced<unknown>, keys: string[]): void => {
    const names = keys.map((key) => key.replace(/^(node|ssh):/, ''));
    const id = [...new Set(keys)].sort().join(',');
    if (reportedLoops.has(id)) return;
    reportedLoops.add(id);
    ctx.problems.add(
      at.file,
      at.line,
      `proxyJump loop: ${names.join(' → ')}`,
      at.file !== ctx.inventoryFile
        ? `keep the jump host out of that Host block (e.g. Host * !${names[names.length - 1] ?? ''}) or give it ProxyJump none`
        : `let '${names[names.length - 1] ?? ''}' be reached without going back through this chain, e.g. proxyJump: none on the jump host`,
    );
  };

  const targets = specs.map((spec) => target(spec, []));
  for (const node of targets) checkHopsDiffer(node, byName, ctx.problems);
  return targets;
}

/**
 * The values no inventory field checked: a node name dialled for want of a host, and HostName and
 * User from ~/.ssh/config. The inventory's own fields were checked where they were read.
 */
function checkAddress(
  spec: NodeSpec,
  resolved: { alias: string; host: string; user: string },
  config: SshHostConfig,
  problems: Problems,
): void {
  if (!spec.fields.host) {
    const bad = hostProblem(resolved.alias);
    if (bad)
      problems.add(
        spec.file,
        spec.line,
        `node '${spec.name}' has no host, so its name is dialled, and ${bad}`,
        'give the node a host: field',
      );
  }
  checkSshConfigValues(`node '${spec.name}'`, resolved, !spec.fields.user, config, problems);
}

/** HostName and User that ~/.ssh/config gave a node or a jump host (they reach ssh's ProxyJump). */
function checkSshConfigValues(
  who: string,
  resolved: { host: string; user: string },
  userFromConfig: boolean,
  config: SshHostConfig,
  problems: Problems,
): void {
  if (config.hostName) {
    const bad = hostProblem(resolved.host);
    if (bad)
      problems.add(
        config.hostName.file,
        config.hostName.line,
        `${who}: HostName ${bad}`,
        `write ${HOST_RULE}`,
      );
  }
  if (userFromConfig && config.user && resolved.user === config.user.value) {
    const bad = userProblem(resolved.user);
    if (bad)
      problems.add(
        config.user.file,
        config.user.line,
        `${who}: User ${bad}`,
        `write a login name: ${USER_RULE}`,
      );
  }
}

/** A node listed as its own jump host is a loop too, even when reached by address. */
function checkHopsDiffer(node: NodeTarget, byName: Map<string, NodeSpec>, problems: Problems): void {
  const spec = byName.get(node.name);
  const proxy = spec?.fields.proxyJump;
  if (!spec || !proxy) return;
  if (node.proxyJump.some((hop) => hop.host === node.host && hop.port === node.port)) {
    problems.add(
      proxy.file,
      proxy.line,
      `node '${node.name}': proxyJump goes through ${node.host}:${node.port}, which is the node itself`,
      'remove the node from its own proxyJump',
    );
  }
}

function withIdentity(identityFile: string | undefined): { identityFile?: string } {
  return identityFile === undefined ? {} : { identityFile };
}

/**
 * ProxyJump or ProxyCommand from ~/.ssh/config, as hops for the built-in client; a ProxyCommand
 * only in its `ssh -W %h:%p` form. Any other ProxyCommand marks the node for the system ssh client.
 */
function sshProxy(
  config: SshHostConfig,
  ctx: ResolveContext,
  node?: NodeTarget,
): Sourced<JumpSpec[]> | undefined {
  const proxy = config.proxy;
  if (!proxy) return undefined;
  const { file, line } = proxy;
  if (proxy.value.kind === 'jump') {
    const parsed = parseProxyJump(proxy.value.value);
    if ('error' in parsed) {
      ctx.problems.add(
        file,
        line,
        `ProxyJump '${proxy.value.value}' is not valid: ${parsed.error}`,
        'write ProxyJump [user@]host[:port][,…]',
      );
      return undefined;
    }
    return { value: parsed.hops, file, line };
  }
  if (proxy.value.value.trim().toLowerCase() === 'none') return { value: [], file, line };
  const parsed = parseProxyCommand(proxy.value.value);
  if ('error' in parsed && node) {
    node.opensshOnly = `ProxyCommand ${proxy.value.value} (${file}:${line})`;
    return { value: [], file, line };
  }
  if ('error' in parsed) {
    ctx.problems.add(
      file,
      line,
      `ProxyCommand '${proxy.value.value}' cannot be followed: ${parsed.error}`,
      'use ProxyJump [user@]bastion[:port] in that Host block, or set proxyJump for the node in the inventory',
    );
    return undefined;
  }
  const hop = { ...parsed.hop };
  if (parsed.identityFile !== undefined)
    hop.identityFile = resolveUserPath(parsed.identityFile, ctx.homeDir, ctx.homeDir);
  return { value: [hop], file, line };
}

/** HostName understands %h (the name given) and %%. */
function expandHostName(value: string, alias: string): string {
  return value.replace(/%([h%])/g, (_, token: string) => (token === 'h' ? alias : '%'));
}

interface TokenValues {
  alias: string;
  host: string;
  user: string;
  port: number;
}

/** IdentityFile from ~/.ssh/config: ~ and the %-tokens OpenSSH expands there; relative paths are under home. */
function sshIdentityFile(
  config: SshHostConfig,
  values: TokenValues,
  ctx: ResolveContext,
): string | undefined {
  const raw = config.identityFile?.value;
  if (raw === undefined || raw.toLowerCase() === 'none') return undefined;
  const tokens: Record<string, string> = {
    '%': '%',
    d: ctx.homeDir,
    h: values.host,
    n: values.alias,
    p: String(values.port),
    r: values.user,
    u: ctx.localUser,
    l: os.hostname().split('.')[0] ?? '',
    L: os.hostname(),
  };
  const expanded = raw.replace(/%(.)/g, (whole, token: string) => tokens[token] ?? whole);
  return path.normalize(resolveUserPath(expanded, ctx.homeDir, ctx.homeDir));
}
