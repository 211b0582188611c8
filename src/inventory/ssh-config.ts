import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Problems } from './problems.js';
import type { Sourced } from './fields.js';
import type { ProxySetting } from './jump.js';
import { globToRegExp, hasGlob } from './glob.js';

/**
 * The part of ~/.ssh/config kubemend follows: HostName, User, Port, IdentityFile and
 * ProxyJump/ProxyCommand from `Host` blocks, with `Include`. `Match` blocks are skipped.
 */

/** What ~/.ssh/config says for one host alias. Each value is the first one obtained, as in OpenSSH. */
export interface SshHostConfig {
  /** Raw, may hold %h and %%. */
  hostName?: Sourced<string>;
  user?: Sourced<string>;
  port?: Sourced<number>;
  /** Raw, may hold ~ and %-tokens. */
  identityFile?: Sourced<string>;
  /** ProxyJump and ProxyCommand compete: whichever comes first wins. */
  proxy?: Sourced<ProxySetting>;
}

type Item =
  | { kind: 'host'; patterns: string[] }
  | { kind: 'match' }
  | { kind: 'option'; key: keyof SshHostConfig; value: Sourced<string | number | ProxySetting> }
  | { kind: 'include'; files: ConfigFile[] };

interface ConfigFile {
  path: string;
  items: Item[];
}

/** OpenSSH gives up on Include chains deeper than this. */
const maxIncludeDepth = 16;

export class SshConfig {
  constructor(private readonly root: ConfigFile | undefined) {}

  static empty(): SshConfig {
    return new SshConfig(undefined);
  }

  lookup(alias: string): SshHostConfig {
    const found: SshHostConfig = {};
    const host = alias.toLowerCase();
    // An Include inside a Host block only counts when that block matches; the block's state
    // comes back after the included file, whatever Host lines it had (OpenSSH readconf.c).
    const visit = (file: ConfigFile, startActive: boolean, neverMatch: boolean): void => {
      let active = startActive;
      for (const item of file.items) {
        if (item.kind === 'host') active = !neverMatch && hostMatches(host, item.patterns);
        else if (item.kind === 'match') active = false;
        else if (item.kind === 'include')
          for (const sub of item.files) visit(sub, active, neverMatch || !active);
        else if (active && found[item.key] === undefined)
          (found as Record<string, unknown>)[item.key] = item.value;
      }
    };
    if (this.root) visit(this.root, true, false);
    return found;
  }
}

function hostMatches(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const regexp = globToRegExp(negated ? pattern.slice(1) : pattern, {
      classes: false,
      caseInsensitive: true,
    });
    if (!regexp.test(host)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Reads the user's ssh config; a missing file is an empty config, as for ssh. */
export async function readSshConfig(file: string, homeDir: string, problems: Problems): Promise<SshConfig> {
  const root = await readConfigFile(file, homeDir, problems, 0);
  return new SshConfig(root);
}

async function readConfigFile(
  file: string,
  homeDir: string,
  problems: Problems,
  depth: number,
): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const items: Item[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const match = /^\s*([^\s=#]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(raw);
    if (!match) continue; // blank or comment
    const keyword = (match[1] ?? '').toLowerCase();
    const args = splitArgs(match[2] ?? '');
    const at = <T>(value: T): Sourced<T> => ({ value, file, line });
    const needsArgument = (): boolean => {
      if (args.length > 0) return true;
      problems.add(file, line, `${match[1]} has no value`, 'give it a value or remove the line');
      return false;
    };
    switch (keyword) {
      case 'host':
        if (needsArgument()) items.push({ kind: 'host', patterns: args });
        break;
      case 'match':
        items.push({ kind: 'match' });
        break;
      case 'hostname':
      case 'user':
      case 'identityfile':
        if (needsArgument()) {
          const key = keyword === 'hostname' ? 'hostName' : keyword === 'user' ? 'user' : 'identityFile';
          items.push({ kind: 'option', key, value: at(args[0] ?? '') });
        }
        break;
      case 'port': {
        if (!needsArgument()) break;
        const port = /^\d+$/.test(args[0] ?? '') ? Number(args[0]) : NaN;
        if (port >= 1 && port <= 65535) items.push({ kind: 'option', key: 'port', value: at(port) });
        else
          problems.add(
            file,
            line,
            `Port '${args[0]}' is not a number from 1 to 65535`,
            'fix the Port line, e.g. Port 22',
          );
        break;
      }
      case 'proxyjump':
      case 'proxycommand':
        if (needsArgument()) {
          // ProxyCommand is a command line: keep the rest of the line as written.
          const value = keyword === 'proxyjump' ? (args[0] ?? '') : (match[2] ?? '').trim();
          items.push({
            kind: 'option',
            key: 'proxy',
            value: at({ kind: keyword === 'proxyjump' ? 'jump' : 'command', value }),
          });
        }
        break;
      case 'include': {
        if (!needsArgument()) break;
        if (depth >= maxIncludeDepth) {
          problems.add(
            file,
            line,
            `Include is nested more than ${maxIncludeDepth} deep`,
            'check for a file that includes itself',
          );
          break;
        }
        const files: ConfigFile[] = [];
        for (const pattern of args) {
          for (const included of await expandInclude(pattern, homeDir)) {
            const sub = await readConfigFile(included, homeDir, problems, depth + 1);
            if (sub) files.push(sub);
          }
        }
        items.push({ kind: 'include', files });
        break;
      }
      default:
        break; // other keywords do not change where or as whom kubemend connects
    }
  }
  return { path: file, items };
}

/** ssh_config's word splitting: whitespace separates, quotes group, `#` starts a comment. */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const word = match[1] ?? match[2] ?? match[3] ?? '';
    if (match[3]?.startsWith('#')) break;
    args.push(word);
  }
  return args;
}

/** Include paths: ~ is home, relative paths are under ~/.ssh, and globs expand in sorted order. */
async function expandInclude(pattern: string, homeDir: string): Promise<string[]> {
  const absolute =
    pattern === '~' || pattern.startsWith('~/')
      ? path.join(homeDir, pattern.slice(1))
      : path.resolve(path.join(homeDir, '.ssh'), pattern);
  if (!hasGlob(absolute)) return [absolute];
  const { root } = path.parse(absolute);
  let candidates = [root];
  for (const segment of absolute.slice(root.length).split(path.sep).filter(Boolean)) {
    if (!hasGlob(segment)) {
      candidates = candidates.map((dir) => path.join(dir, segment));
      continue;
    }
    const regexp = globToRegExp(segment, { classes: true, caseInsensitive: false });
    const next: string[] = [];
    for (const dir of candidates) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort())
        if (regexp.test(name) && !name.startsWith('.')) next.push(path.join(dir, name));
    }
    candidates = next;
  }
  return candidates;
}
